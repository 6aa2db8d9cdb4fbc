"""Twilio's webhooks: call progress, async answering-machine detection, the
voice URL that bridges an answered call to its agent (holding the customer for
the AMD verdict first), the `<Dial action>` that says how the agent's leg
ended, and the FallbackUrl asked when the voice URL fails.

Every request is checked against `X-Twilio-Signature` before anything is read
(403, nothing changed, otherwise). Callbacks come repeated and out of order:
`SequenceNumber` and the status rank (`apply_status_update`) make a repeat or a
late one change nothing. The `call` query parameter is our attempt id, put in
the URLs before the create was sent, so even a call whose create answer was lost
is found and adopted by its first callback."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents import service as agents
from dialer.agents.events_sql import INSERT_AGENT_EVENT
from dialer.agents.models import Agent, AgentState, Claim
from dialer.calls import inbound
from dialer.calls.connect import connect_to_free, on_answered
from dialer.calls.disposition import (
    abandon,
    abandon_message_of,
    apply_status_update,
    end_unanswered_raw,
    ending_call,
)
from dialer.calls.disposition_sql import ENDING_OF_LEAD
from dialer.calls.models import FINAL_CALL_STATUSES, AnsweredBy, Call, CallStatus, Outcome
from dialer.calls.status import reported_answered_by, status_change
from dialer.campaign.models import Campaign
from dialer.campaign.service import abandon_policy_of
from dialer.db import Work, after_commit, is_postgres
from dialer.errors import NotFound
from dialer.leads import history
from dialer.leads.history_sql import INSERT_EVENT, event_row
from dialer.telephony.base import NowIn, Telephony
from dialer.telephony.dialing import adopt
from dialer.telephony.status_sql import (
    SELECT_CALL,
    STATUS_WRITES,
    UPDATE_CALL,
    UPDATE_SEQUENCE,
)
from dialer.telephony.twilio import (
    answered_by_of,
    bridge_twiml,
    hangup_twiml,
    hold_twiml,
    message_twiml,
    status_of,
)

log = logging.getLogger("dialer.webhooks")

APOLOGY_JA = (
    "お電話ありがとうございます。ただいま担当者が対応できません。"
    "改めてご連絡いたします。失礼いたします。"
)
DEFAULT_VOICE = "Polly.Mizuki"


def _answered_by(
    params: Mapping[str, str], *, status: CallStatus, detecting: bool
) -> AnsweredBy | None:
    """The callback's AnsweredBy, by the rule reconciliation shares
    (`dialer.calls.status.reported_answered_by`)."""
    return reported_answered_by(
        answered_by_of(params.get("AnsweredBy")), status=status, detecting=detecting
    )


def find_call(session: Session, *, call_param: str | None, call_sid: str | None) -> Call:
    """By our attempt id when the URL carries it (checked against the CallSid once
    one is bound), else by CallSid. Unknown → 404, and the caller logs it."""
    call: Call | None = None
    query = None
    if call_param and call_param.isdigit() and len(call_param) < 19:
        query = select(Call).where(col(Call.id) == int(call_param))
    elif call_sid:
        query = select(Call).where(col(Call.provider_sid) == call_sid)
    if query is not None:
        # A row lock on PostgreSQL; SQLite's write transactions are serialized.
        call = session.scalar(query.with_for_update())
        if call is not None and call_sid and call.provider_sid not in (None, call_sid):
            call = None
    if call is None:
        raise NotFound(
            f"unknown call (call={call_param!r}, CallSid={call_sid!r})", code="unknown_call"
        )
    return call


def on_status(session: Session, *, call: Call, params: Mapping[str, str], now_in: NowIn) -> bool:
    """Apply one status callback; returns whether anything changed."""
    sid = params.get("CallSid")
    if sid and call.provider_sid is None:
        adopt(session, call=call, sid=sid, now_in=now_in, how="status callback")
    sequence = _int(params.get("SequenceNumber"))
    if sequence is not None and call.provider_seq is not None and sequence <= call.provider_seq:
        return False
    if sequence is not None:
        call.provider_seq = sequence
    status = status_of(params.get("CallStatus"))
    if status is None:
        log.warning("call %s: unknown CallStatus %r ignored", call.id, params.get("CallStatus"))
        return False
    duration = _int(params.get("CallDuration")) or _int(params.get("Duration"))
    campaign = session.get(Campaign, call.campaign_id)
    changed = apply_status_update(
        session,
        call=call,
        status=status,
        answered_by=_answered_by(
            params, status=status, detecting=bool(campaign and campaign.machine_detection)
        ),
        at=now_in(session),
        duration=duration,
    )
    if changed and call.provider_error and call.provider_error.startswith("unknown"):
        call.provider_error = None
    return changed


def on_status_fast(
    work: Work, *, call_param: str | None, params: Mapping[str, str], now: datetime
) -> bool | None:
    """The common status callback in hand-written SQL (a call already bound to its
    CallSid moving forward with nothing else to do): four statements, no ORM.
    Every callback of every call comes through here, so this is the webhook's
    throughput. A call ending unanswered is dispositioned, retried and
    released in hand-written SQL too (`end_unanswered_raw`, the simulated
    provider's as well). Returns whether it changed the call, or None when the
    report needs the full path (`on_status`): an attempt adopting its CallSid,
    an unanswered end of a lead with a promise, a lookup by CallSid."""
    if not (call_param and call_param.isdigit() and len(call_param) < 19):
        return None
    raw = work.raw
    found = raw.rows(SELECT_CALL, (int(call_param),))
    if not found:
        return None
    (call_id, lead_id, campaign_id, agent_id, status_now, answered_by_now, answered_at_now,
     duration_now, provider, sid, seq_now, provider_error, disposition,
     detecting) = found[0]  # fmt: skip
    if sid is None or sid != params.get("CallSid") or provider_error is not None:
        return None
    sequence = _int(params.get("SequenceNumber"))
    if sequence is not None and seq_now is not None and sequence <= seq_now:
        return False
    status = status_of(params.get("CallStatus"))
    if status is None:
        return None
    change = status_change(
        status_now=status_now,
        answered_by_now=answered_by_now,
        answered_at_now=raw.read_instant(answered_at_now) if answered_at_now else None,
        duration_now=duration_now,
        dispositioned=disposition is not None,
        status=status,
        answered_by=_answered_by(params, status=status, detecting=bool(detecting)),
        at=now,
        duration=_int(params.get("CallDuration")) or _int(params.get("Duration")),
    )
    new_seq = sequence if sequence is not None else seq_now
    if change is not None and change.system_kind is not None:
        # Ended unanswered: disposition, retry and release by the one raw
        # path of both providers' reports (or the full path: a lead with a promise).
        facts = raw.rows(ENDING_OF_LEAD, (lead_id,))
        if not facts:
            return None
        ending = ending_call(
            call_id=call_id, lead_id=lead_id, campaign_id=campaign_id, agent_id=agent_id,
            provider=provider, facts=facts[0],
        )  # fmt: skip
        if not end_unanswered_raw(work.session, raw, call=ending, change=change, at=now):
            return None
        if new_seq != seq_now:
            raw.run(UPDATE_SEQUENCE, (new_seq, call_id))
        return True
    if change is None:
        if new_seq != seq_now:
            raw.run(UPDATE_SEQUENCE, (new_seq, call_id))
        return False
    at = raw.instant(now)
    detail = {"call_id": call_id, "status": change.status, "answered_by": change.answered_by}
    call_values = (
        change.status,
        change.answered_by,
        raw.instant(change.answered_at) if change.answered_at else None,
        raw.instant(change.ended_at) if change.ended_at else None,
        change.duration,
        new_seq,
        call_id,
    )
    event_values = event_row(
        raw,
        lead_id=lead_id,
        at=now,
        kind="call_status",
        actor=f"provider:{provider}",
        detail=detail,
    )
    agent_payload = raw.json({**detail, "lead_id": lead_id})
    agent_values = (agent_id, campaign_id, "call_status", at, agent_payload)
    if is_postgres(raw):
        # One round trip for the three writes: the server's CPU is shared with
        # the web workers, and every callback pays for each trip.
        raw.run(STATUS_WRITES, STATUS_WRITES.params(call_values, event_values, agent_values))
        return True
    raw.run(UPDATE_CALL, call_values)
    raw.run(INSERT_EVENT, event_values)
    if agent_id is not None:
        raw.run(INSERT_AGENT_EVENT, agent_values)
    return True


def on_amd(
    session: Session,
    *,
    call: Call,
    params: Mapping[str, str],
    now_in: NowIn,
    telephony: Telephony,
) -> bool:
    """Async answering-machine detection: record who answered. A machine is hung
    up on once this is committed (an agent must not talk to a voicemail); the
    completed callback then ends it as `machine` and the retry policy decides.
    Returns whether it was a machine."""
    answered_by = answered_by_of(params.get("AnsweredBy"))
    if answered_by is None or call.answered_by == answered_by:
        return False
    call.answered_by = answered_by
    assert call.id is not None
    history.record(
        session,
        lead_id=call.lead_id,
        kind="answered_by",
        actor=f"provider:{call.provider}",
        at=now_in(session),
        call_id=call.id,
        answered_by=answered_by,
        raw=params.get("AnsweredBy"),
    )
    machine = answered_by == AnsweredBy.machine
    sid = call.provider_sid
    if machine and sid:
        after_commit(session, lambda: telephony.hang_up(sid, answered=True), name="hang_up")
    return machine


# The customer waits in silence at most this long for the AMD verdict, asking
# again every HOLD_STEP_SECONDS; Twilio's verdict is due before (AMD_VERDICT_SECONDS).
AMD_HOLD_SECONDS = 10
HOLD_STEP_SECONDS = 2
# DialCallStatus: how the bridge to the agent's endpoint ended.
DIAL_STATUSES = frozenset({"completed", "answered", "busy", "no-answer", "failed", "canceled"})
AGENT_TOOK = frozenset({"completed", "answered"})


def message_for(campaign: Campaign) -> str:
    """The campaign's abandon message as TwiML: read once, then hang up."""
    text = abandon_message_of(campaign)
    return message_twiml(message=text, voice=campaign.tts_voice, language=campaign.tts_language)


def last_resort_message() -> str:
    """When not even the campaign can be read (the database is down)."""
    return message_twiml(message=APOLOGY_JA, voice=DEFAULT_VOICE, language="ja-JP")


def voice_twiml(
    session: Session, *, call: Call, now_in: NowIn, agent_ring_timeout: int, held: int
) -> str:
    """The customer answered. With answering-machine detection on, they are held
    in silence until its verdict: a machine is hung up on, only a person is
    bridged, and no verdict within AMD_HOLD_SECONDS is not bridged either. The
    bridge rings the agent's endpoint for `agent_ring_timeout` seconds and
    reports how it ended to the dial webhook. With no agent free, the customer
    hears the campaign's message and the call is recorded as abandoned (retried
    by policy). `held` is how long this customer has been held already."""
    campaign = session.get(Campaign, call.campaign_id)
    assert campaign is not None
    at = now_in(session)
    if campaign.machine_detection and call.answered_by == AnsweredBy.machine:
        # Hung up at Twilio by the AMD webhook too; the final status records it.
        return hangup_twiml()
    if not call.agent_reserved:
        return _unreserved_twiml(
            session, call=call, campaign=campaign, at=at,
            agent_ring_timeout=agent_ring_timeout, held=held,
        )  # fmt: skip
    if call.connected_at is None:
        call.connected_at = call.answered_at or at
    agent = session.get(Agent, call.agent_id) if call.agent_id is not None else None
    # The agent must still be on this lead: a call dispositioned (or a claim gone)
    # before the customer picked up is not theirs to bridge any more.
    holding = (
        session.scalar(select(col(Claim.agent_id)).where(col(Claim.lead_id) == call.lead_id))
        == call.agent_id
        and call.disposition is None
    )
    if not (
        holding and agent is not None and agent.endpoint and agent.state == AgentState.available
    ):
        why = "no agent free" if agent is None or agent.endpoint else "the agent has no endpoint"
        abandon(session, call=call, at=at, why=why)
        return message_for(campaign)
    assert call.id is not None
    if campaign.machine_detection and call.answered_by != AnsweredBy.human:
        if call.answered_by is None and held < AMD_HOLD_SECONDS:
            return hold_twiml(
                seconds=HOLD_STEP_SECONDS,
                redirect=f"voice?call={call.id}&held={held + HOLD_STEP_SECONDS}",
            )
        why = (
            f"no answering-machine verdict in {AMD_HOLD_SECONDS} s"
            if call.answered_by is None
            else "answering-machine detection could not tell who answered"
        )
        abandon(session, call=call, at=at, why=why)
        return message_for(campaign)
    return bridge_twiml(
        endpoint=agent.endpoint,
        caller_id=campaign.caller_id,
        timeout=agent_ring_timeout,
        action=f"dial?call={call.id}",
    )


# An unreserved call waiting for an agent asks again this often (seconds).
CONNECT_STEP_SECONDS = 1


def _unreserved_twiml(
    session: Session,
    *,
    call: Call,
    campaign: Campaign,
    at: datetime,
    agent_ring_timeout: int,
    held: int,
) -> str:
    """A predictive call was answered. It goes to the agent it was connected to
    (dialer.calls.connect: the longest-waiting one, whose softphone answers on
    its own), or the customer is held in silence, asking again every
    CONNECT_STEP_SECONDS for an agent who has freed up, until the policy's
    `connect_seconds`; then the campaign's message, and the call is abandoned.
    It does not wait for an answering-machine verdict: the customer must hear
    someone within `connect_seconds`."""
    assert call.id is not None
    if call.disposition == Outcome.abandoned:
        # Abandoned already (the due job got there first): the message.
        return message_for(campaign)
    if call.disposition is not None or call.status in FINAL_CALL_STATUSES:
        return hangup_twiml()
    if call.answered_at is None:
        # The voice URL is the first word of the answer: it is applied as the
        # in-progress callback would be (which connects the call if it can).
        apply_status_update(
            session, call=call, status=CallStatus.in_progress, answered_by=call.answered_by,
            at=at,
        )  # fmt: skip
    if call.connected_at is None:
        if call.connect_by_at is None:
            on_answered(session, call=call, at=at)
        else:
            connect_to_free(session, call=call, at=at)
    agent = session.get(Agent, call.agent_id) if call.agent_id is not None else None
    if call.connected_at is not None and agent is not None and agent.endpoint:
        return bridge_twiml(
            endpoint=agent.endpoint,
            caller_id=campaign.caller_id,
            timeout=agent_ring_timeout,
            action=f"dial?call={call.id}",
        )
    seconds = abandon_policy_of(campaign).connect_seconds
    if call.connected_at is None and held < seconds:
        return hold_twiml(
            seconds=CONNECT_STEP_SECONDS,
            redirect=f"voice?call={call.id}&held={held + CONNECT_STEP_SECONDS}",
        )
    why = (
        f"no agent free within {seconds} s"
        if call.connected_at is None
        else "the agent has no endpoint"
    )
    abandon(session, call=call, at=at, why=why)
    return message_for(campaign)


def on_dial(session: Session, *, call: Call, params: Mapping[str, str], now_in: NowIn) -> str:
    """The bridge to the agent ended (`<Dial action>`): record its DialCallStatus.
    The agent talked: the customer's call ends. The agent's endpoint did not pick
    up while the customer was still on the line: the agent is set
    `not_answering` (no more leads until they are back), the customer hears the
    campaign's message, and the call is recorded as abandoned, not a contact.
    Repeated requests record nothing twice."""
    raw = (params.get("DialCallStatus") or "").strip().lower()
    status = raw if raw in DIAL_STATUSES else "failed"
    at = now_in(session)
    first = call.agent_leg_status is None
    if first:
        call.agent_leg_status = status
        assert call.id is not None
        history.record(
            session, lead_id=call.lead_id, kind="agent_leg", actor=f"provider:{call.provider}",
            at=at, call_id=call.id, status=status, raw=raw[:32],
            duration=_int(params.get("DialCallDuration")),
        )  # fmt: skip
    if (call.agent_leg_status or status) in AGENT_TOOK:
        return hangup_twiml()
    campaign = session.get(Campaign, call.campaign_id)
    assert campaign is not None and call.id is not None
    # A customer who hung up while the agent's phone rang ends the bridge too
    # (Twilio reports the parent call's CallStatus): that is not the agent's fault.
    customer_left = status_of(params.get("CallStatus")) in FINAL_CALL_STATUSES
    agent = session.get(Agent, call.agent_id) if call.agent_id is not None else None
    if first and agent is not None and call.disposition is None and not customer_left:
        agents.mark_not_answering(
            session, agent=agent, campaign_id=call.campaign_id, call_id=call.id,
            why=f"did not answer the bridge ({status})", at=at,
        )  # fmt: skip
    abandon(session, call=call, at=at, why=f"the agent's endpoint did not answer ({status})")
    return message_for(campaign)


def fallback_twiml(
    session: Session, *, call: Call, params: Mapping[str, str], now_in: NowIn
) -> str:
    """Twilio's FallbackUrl: the voice webhook failed (an error, a timeout, bad
    TwiML). The customer hears the campaign's message in its language, not
    Twilio's English "application error", and the call is recorded abandoned."""
    campaign = session.get(Campaign, call.campaign_id)
    assert campaign is not None
    code = (params.get("ErrorCode") or "").strip()[:16]
    abandon(session, call=call, at=now_in(session),
            why=f"the voice webhook failed (Twilio error {code or 'unknown'})")  # fmt: skip
    return message_for(campaign)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def incoming_twiml(
    work: Work,
    *,
    params: Mapping[str, str],
    provider: str,
    now_in: NowIn,
    region: str,
    claim_ttl: timedelta,
    ring_timeout: int,
) -> str:
    """A customer rings a campaign's caller id (`dialer.calls.inbound` routes it):
    bridged to the agent it went to, with the campaign's caller id, or the
    campaign's message when nobody is free. A number that is no campaign's is
    answered politely and recorded nowhere (it has no campaign to belong to)."""
    try:
        answer = inbound.receive(
            work,
            from_=params.get("From") or "",
            to=params.get("To") or "",
            provider=provider,
            sid=params.get("CallSid") or None,
            now=now_in(work.session),
            region=region,
            claim_ttl=claim_ttl,
        )
    except inbound.UnknownCallerId:
        log.warning("incoming call to %r: no campaign has this caller id", params.get("To"))
        return message_twiml(
            message=inbound.NO_CAMPAIGN_MESSAGE_JA,
            voice=DEFAULT_VOICE,
            language=inbound.MESSAGE_LANGUAGE,
        )
    if answer.endpoint is not None:
        return bridge_twiml(
            endpoint=answer.endpoint, caller_id=answer.caller_id, timeout=ring_timeout, action=None
        )
    return message_twiml(
        message=answer.message,
        voice=answer.voice or DEFAULT_VOICE,
        language=answer.language or inbound.MESSAGE_LANGUAGE,
    )
