"""Inbound callbacks: a customer rings the campaign's caller id back
("10分後に折り返します" — and then they call us first).

The call is matched to a campaign by the number dialled (`To` = a campaign's
`caller_id`) and to a lead of that campaign by the caller's number (`From`,
through the phone book). It goes to the first of these who is free:

1. the owner of the lead's open promise;
2. the agent who last spoke with the customer (the latest answered call's agent);
3. any agent of the campaign, the one waiting longest first.

Free means: an active agent of the campaign, `available`, with an endpoint to
ring, and holding no claim on another lead. An agent holding a claim is at work
on that lead (reading it, dialling it, talking): the incoming call does not take
it away from them, it goes to the next one in the order above.

The chosen agent receives the lead: an `incoming_call` event with the lead id, the
lead claimed for them (as `next` would: it is theirs alone until they are done
or the claim expires), and the open promise kept. With nobody free the caller
hears the campaign's message and the callback is booked "as soon as possible"
(the next bookable slot) for the promise's owner, or for anyone, so it is not
lost. A caller matching no lead is recorded and offered to any free agent (an
event with the phone, no lead), or kept for a manager
(`GET /api/campaigns/{id}/incoming?unmatched=true`).

Every incoming call is a row (`inbound_call`), not a `Call`: a call row is an
attempt of ours, counted against the caps and retried by policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.events import publish
from dialer.agents.models import Agent, AgentCampaign, AgentState, Claim, Role
from dialer.agents.order import ClaimReason
from dialer.calls.models import AnsweredBy, Call, InboundCall, InboundRoute
from dialer.campaign.models import Campaign, CampaignStatus
from dialer.db import Work
from dialer.errors import Invalid, NotFound
from dialer.leads import history, lifecycle
from dialer.leads.models import Lead, LeadStatus, Phone
from dialer.leads.phonebook import lead_of_caller
from dialer.leads.phones import PhoneError, normalize_phone
from dialer.promises.booking import book_asap, keep_on_callback, open_promise

# What the caller hears when nobody can take the call: not the campaign's abandon
# message (that one says who called them and why), but a thank-you and a promise
# to ring back, read in the campaign's voice (`voice`/`language` on the answer).
BUSY_MESSAGE_JA = (
    "お電話ありがとうございます。{name}です。"
    "ただいま担当者がお電話に出られません。"
    "折り返しご連絡いたします。失礼いたします。"
)
# A number that is no campaign's caller id (a misconfigured Twilio number).
NO_CAMPAIGN_MESSAGE_JA = "お電話ありがとうございます。恐れ入りますが、おかけ直しください。"
MESSAGE_LANGUAGE = "ja-JP"

_CLAIMABLE = frozenset({LeadStatus.new, LeadStatus.scheduled})


class UnknownCallerId(NotFound):
    """The number dialled is no campaign's caller id."""

    code = "unknown_caller_id"


@dataclass(frozen=True, slots=True)
class Answer:
    """What an incoming call was given: the row, and where to bridge it (None:
    nobody free, the caller hears `message`)."""

    inbound: InboundCall
    endpoint: str | None
    caller_id: str | None
    message: str
    voice: str | None = None  # the campaign's TTS voice and language, when known
    language: str | None = None


def busy_message(campaign: Campaign) -> str:
    return BUSY_MESSAGE_JA.format(name=campaign.name)


def _number(value: str, *, region: str) -> str | None:
    try:
        return normalize_phone(value, region=region)
    except PhoneError:
        return None  # "anonymous", a withheld or foreign-looking number


def _campaigns_called(session: Session, *, to: str) -> list[Campaign]:
    """Campaigns with this caller id, active ones first (several campaigns may
    share one number)."""
    found = list(
        session.scalars(
            select(Campaign).where(col(Campaign.caller_id) == to).order_by(col(Campaign.id))
        )
    )
    return sorted(found, key=lambda c: c.status != CampaignStatus.active)


def _campaigns_of_caller(session: Session, *, number: str) -> list[Campaign]:
    ids = select(col(Phone.campaign_id)).where(col(Phone.number) == number).distinct()
    return list(
        session.scalars(
            select(Campaign).where(col(Campaign.id).in_(ids)).order_by(col(Campaign.id))
        )
    )


def _answer(session: Session, *, inbound: InboundCall) -> Answer:
    campaign = session.get(Campaign, inbound.campaign_id)
    assert campaign is not None
    agent = session.get(Agent, inbound.agent_id) if inbound.agent_id is not None else None
    return Answer(
        inbound=inbound,
        endpoint=agent.endpoint if agent is not None else None,
        caller_id=campaign.caller_id,
        message=busy_message(campaign),
        voice=campaign.tts_voice,
        language=campaign.tts_language,
    )


def _is_free(session: Session, *, agent_id: int, campaign_id: int, lead_id: int | None) -> bool:
    """Locked first (PostgreSQL: two incoming calls at once can't both take one
    agent; SQLite's writers are serialized), then checked on a fresh read."""
    agent = session.scalar(select(Agent).where(col(Agent.id) == agent_id).with_for_update())
    if agent is None or agent.role != Role.agent or not agent.active:
        return False
    if agent.state != AgentState.available or not agent.endpoint:
        return False
    assigned = session.scalar(
        select(col(AgentCampaign.agent_id)).where(
            col(AgentCampaign.agent_id) == agent_id, col(AgentCampaign.campaign_id) == campaign_id
        )
    )
    if assigned is None:
        return False
    held = session.scalar(select(col(Claim.lead_id)).where(col(Claim.agent_id) == agent_id))
    return held is None or held == lead_id


def _last_agent(session: Session, *, lead_id: int) -> int | None:
    """The agent of the latest call a person answered."""
    return session.scalar(
        select(col(Call.agent_id))
        .where(
            col(Call.lead_id) == lead_id,
            col(Call.agent_id).is_not(None),
            col(Call.answered_at).is_not(None),
            # A person, or nobody told us (no detection): not a voicemail.
            or_(col(Call.answered_by).is_(None), col(Call.answered_by) != AnsweredBy.machine),
        )
        .order_by(col(Call.answered_at).desc(), col(Call.id).desc())
        .limit(1)
    )


def _free_agent_ids(session: Session, *, campaign_id: int) -> list[int]:
    """The campaign's agents who may be free, the one available longest first."""
    return list(
        session.scalars(
            select(col(Agent.id))
            .join(AgentCampaign, col(AgentCampaign.agent_id) == col(Agent.id))
            .outerjoin(Claim, col(Claim.agent_id) == col(Agent.id))
            .where(
                col(AgentCampaign.campaign_id) == campaign_id,
                col(Agent.role) == Role.agent,
                col(Agent.active).is_(True),
                col(Agent.state) == AgentState.available,
                col(Agent.endpoint).is_not(None),
            )
            .order_by(col(Claim.id).is_not(None), col(Agent.state_changed_at), col(Agent.id))
            .limit(50)
        )
    )


def _route(
    session: Session, *, campaign_id: int, lead: Lead | None, owner_id: int | None
) -> tuple[InboundRoute, int | None]:
    lead_id = lead.id if lead is not None else None
    ordered: list[tuple[InboundRoute, int | None]] = []
    if lead_id is not None:
        ordered.append((InboundRoute.promise_owner, owner_id))
        ordered.append((InboundRoute.last_agent, _last_agent(session, lead_id=lead_id)))
    ordered += [
        (InboundRoute.any_agent, a) for a in _free_agent_ids(session, campaign_id=campaign_id)
    ]
    tried: set[int] = set()
    for route, agent_id in ordered:
        if agent_id is None or agent_id in tried:
            continue
        tried.add(agent_id)
        if _is_free(session, agent_id=agent_id, campaign_id=campaign_id, lead_id=lead_id):
            return route, agent_id
    return InboundRoute.nobody, None


def _claim_for(
    work: Work, *, lead: Lead, agent_id: int, has_promise: bool, now: datetime, ttl: timedelta
) -> bool:
    """The lead claimed for the agent taking the call, as `next` claims it. A lead
    they already hold stays theirs; one held by another agent, or closed, is
    shown without a claim."""
    session = work.session
    assert lead.id is not None
    holder = session.scalar(select(col(Claim.agent_id)).where(col(Claim.lead_id) == lead.id))
    if holder is not None:
        return holder == agent_id
    if lead.status not in _CLAIMABLE:
        return False
    reason = (
        ClaimReason.promise
        if has_promise
        else ClaimReason.retry
        if lead.status == LeadStatus.scheduled
        else ClaimReason.new
    )
    work.flush()
    taken = lifecycle.claim(
        work.raw,
        lead_id=lead.id,
        campaign_id=lead.campaign_id,
        seen_status=lead.status,
        agent_id=agent_id,
        reason=reason,
        now=now,
        expires_at=now + ttl,
    )
    # The claim was written in SQL: the ORM's copy of the lead is stale.
    session.refresh(lead)
    return taken


def receive(
    work: Work,
    *,
    from_: str,
    to: str | None,
    provider: str,
    sid: str | None,
    now: datetime,
    region: str,
    claim_ttl: timedelta,
) -> Answer:
    """Record and route one incoming call. A repeated webhook (same `sid`) gets
    the answer the first one got, and changes nothing. `to` None (simulation):
    the campaign of the lead the caller is."""
    session = work.session
    if sid is not None:
        seen = session.scalar(select(InboundCall).where(col(InboundCall.provider_sid) == sid))
        if seen is not None:
            return _answer(session, inbound=seen)
    caller = _number(from_, region=region)
    if to is not None:
        to_number = _number(to, region=region)
        campaigns = _campaigns_called(session, to=to_number) if to_number else []
        if not campaigns:
            raise UnknownCallerId(f"{to} is no campaign's caller_id", field="to")
    else:
        campaigns = _campaigns_of_caller(session, number=caller) if caller else []
        if not campaigns:
            raise Invalid(
                f"{from_} is no lead's phone: give `to`, the caller id dialled",
                code="unknown_caller",
                field="to",
            )
    lead = (
        lead_of_caller(session, number=caller, campaign_ids=[c.id for c in campaigns if c.id])
        if caller
        else None
    )
    campaign = next((c for c in campaigns if lead is not None and c.id == lead.campaign_id), None)
    campaign = campaign or campaigns[0]
    assert campaign.id is not None
    if lead is not None:
        # The caller's number in the campaign's region (a national `From` from a test
        # or a carrier) is the lead's own E.164 number.
        caller = _number(from_, region=campaign.default_region) or caller
    promise = open_promise(session, lead_id=lead.id) if lead is not None and lead.id else None
    owner_id = promise.agent_id if promise is not None else None
    route, agent_id = _route(session, campaign_id=campaign.id, lead=lead, owner_id=owner_id)
    inbound = InboundCall(
        campaign_id=campaign.id,
        lead_id=lead.id if lead is not None else None,
        from_=(caller or from_)[:32],
        # The caller id dialled, as the campaign holds it (E.164).
        to=(campaign.caller_id or to or "")[:32],
        provider=provider,
        provider_sid=sid,
        routed_to=route,
        agent_id=agent_id,
        created_at=now,
    )
    session.add(inbound)
    session.flush()
    assert inbound.id is not None
    actor = f"provider:{provider}"
    if lead is not None and lead.id is not None:
        history.record(
            session,
            lead_id=lead.id,
            kind="incoming_call",
            actor=actor,
            at=now,
            inbound_call_id=inbound.id,
            phone=inbound.from_,
            routed_to=route,
            agent_id=agent_id,
        )
    if agent_id is not None:
        if lead is not None:
            inbound.claimed = _claim_for(
                work, lead=lead, agent_id=agent_id, has_promise=promise is not None, now=now,
                ttl=claim_ttl,
            )  # fmt: skip
            if inbound.claimed and promise is not None:
                kept = keep_on_callback(
                    session, lead=lead, agent_id=agent_id, now=now, inbound_id=inbound.id
                )
                inbound.promise_id = kept.id if kept is not None else None
        publish(
            session,
            kind="incoming_call",
            at=now,
            agent_id=agent_id,
            campaign_id=campaign.id,
            inbound_call_id=inbound.id,
            lead_id=inbound.lead_id,
            lead_name=lead.name if lead is not None else None,
            company=lead.company if lead is not None else None,
            phone=inbound.from_,
            routed_to=route,
            claimed=inbound.claimed,
            promise_id=inbound.promise_id,
        )
    elif lead is not None:
        booked = book_asap(
            session,
            lead=lead,
            owner_id=owner_id,
            now=now,
            actor=actor,
            note=f"the customer rang back (inbound call {inbound.id}); nobody was free",
        )
        inbound.promise_id = booked.id if booked is not None else None
        # The owner (or the whole campaign, for anyone) learns of the missed call.
        publish(
            session,
            kind="incoming_call_missed",
            at=now,
            agent_id=booked.agent_id if booked is not None else None,
            campaign_id=campaign.id,
            inbound_call_id=inbound.id,
            lead_id=lead.id,
            lead_name=lead.name,
            company=lead.company,
            phone=inbound.from_,
            promise_id=inbound.promise_id,
            due_at=booked.due_at.isoformat() if booked is not None else None,
        )
    session.flush()
    return _answer(session, inbound=inbound)
