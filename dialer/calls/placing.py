"""Placing a call: the attempt, checked at dial time and counted.

Dial-time rules are checked here again, whatever the queue said when it handed
the lead out: the do-not-call list may have grown and the calling hours may have
closed while the agent read the script."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, make_transient_to_detached

from dialer.agents.models import Agent, Role
from dialer.agents.order import ClaimReason
from dialer.calls.abandon import AbandonStanding
from dialer.calls.models import FINAL_CALL_STATUSES, Call, CallStatus
from dialer.calls.placing_sql import (
    CALL_COLUMNS,
    CLAIM_AND_LIVE_CALL,
    INSERT_CALL,
    LEAD_FOR_DIAL,
)
from dialer.calls.standing import standing_now
from dialer.campaign.hours import local_text
from dialer.campaign.models import Campaign, CampaignStatus
from dialer.campaign.schemas import RetryPolicy
from dialer.campaign.service import (
    abandon_policy_of,
    calling_hours_of,
    retry_policy_of,
    zone_of,
)
from dialer.db import RawSql, after_commit, raw_in
from dialer.errors import (
    CallLive,
    Conflict,
    Forbidden,
    Invalid,
    NotClaimed,
    NotFound,
    OnDoNotCallList,
    OutsideCallingHours,
)
from dialer.leads import history, lifecycle
from dialer.leads.dialrules import (
    Uncallable,
    active_numbers,
    attempts_used_up,
    callable_numbers,
    day_attempts_on,
    over_daily_cap,
    why_uncallable,
)
from dialer.leads.models import Lead
from dialer.leads.phonebook import phone_facts_raw
from dialer.leads.phones import PhoneError, normalize_phone
from dialer.promises.booking import keep_on_call
from dialer.telephony import blocks
from dialer.telephony.base import Telephony


def get_call(session: Session, *, call_id: int) -> Call:
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound(f"call {call_id} does not exist", code="call_not_found")
    return call


def is_live(session: Session, *, call_id: int) -> bool:
    call = session.get(Call, call_id)
    return call is not None and call.status not in FINAL_CALL_STATUSES


def check_call_access(principal: Agent, call: Call) -> None:
    if principal.role != Role.manager and call.agent_id != principal.id:
        raise Forbidden("this call belongs to another agent", code="not_your_resource")


@dataclass(frozen=True, slots=True)
class _DialLead:
    """What the dial checks of the lead, read raw (`placing_sql.LEAD_FOR_DIAL`)."""

    id: int
    campaign_id: int
    timezone: str
    attempts: lifecycle.Attempts
    abandoned_at: datetime | None
    promise_id: int | None


@dataclass(frozen=True, slots=True)
class _HeldClaim:
    agent_id: int | None
    reason: str
    live_call: bool


def _lead_for_dial(raw: RawSql, *, lead_id: int) -> _DialLead | None:
    rows = raw.rows(LEAD_FOR_DIAL, (lead_id,))
    if not rows:
        return None
    (id_, campaign_id, timezone, attempts, unsolicited, day, day_date, abandoned_at, promise_id) = (
        rows[0]
    )
    return _DialLead(
        id=id_,
        campaign_id=campaign_id,
        timezone=timezone,
        attempts=lifecycle.Attempts(
            attempts=attempts,
            unsolicited_attempts=unsolicited,
            day_attempts=day,
            day_attempts_date=day_date,
        ),
        abandoned_at=None if abandoned_at is None else raw.read_instant(abandoned_at),
        promise_id=promise_id,
    )


def _claim_and_live_call(raw: RawSql, *, lead_id: int) -> _HeldClaim | None:
    """The lead's claim and whether a call to it is live; None: no claim. One
    statement, after the lead's locking read (`placing_sql`)."""
    rows = raw.rows(CLAIM_AND_LIVE_CALL, (lead_id,))
    if not rows:
        return None
    agent_id, reason, live = rows[0]
    return _HeldClaim(agent_id=agent_id, reason=reason, live_call=bool(live))


def _choose_phone(raw: RawSql, *, lead_id: int, campaign: Campaign, requested: str | None) -> str:
    # Hand-written (dialer.leads.phonebook holds it to the ORM read by a test).
    facts = phone_facts_raw(raw, lead_id=lead_id)
    if requested is not None:
        try:
            number = normalize_phone(requested, region=campaign.default_region)
        except PhoneError as exc:
            raise Invalid(str(exc), code="invalid_phone", field="phone") from exc
        if number not in active_numbers(facts):
            raise Invalid(
                f"{number} is not an active phone of lead {lead_id}",
                code="unknown_phone",
                field="phone",
            )
        if number not in callable_numbers(facts):
            raise OnDoNotCallList(f"{number} is on the do-not-call list")
        return number
    why = why_uncallable(facts)
    if why == Uncallable.no_phone:
        raise Conflict(f"lead {lead_id} has no active phone", code="no_phone")
    if why == Uncallable.dnc:
        raise OnDoNotCallList(f"every phone of lead {lead_id} is on the do-not-call list")
    return callable_numbers(facts)[0]


def _no_recall_clear(*, abandoned_at: datetime | None, hours: int, now: datetime) -> bool:
    """Whether the lead's last abandoned call is `no_recall_hours` behind (or none)."""
    return abandoned_at is None or abandoned_at <= now - timedelta(hours=hours)


def _check_dialer_call(
    *,
    lead: _DialLead,
    campaign: Campaign,
    policy: RetryPolicy,
    local_date: str,
    no_recall_clear: bool,
) -> None:
    """What the dialer's claim checked, checked again at the dial: an agent is
    told by the console, the dialer is not (a lead abandoned, a cap reached)."""
    if not no_recall_clear:
        assert lead.abandoned_at is not None
        raise Conflict(
            f"lead {lead.id} was abandoned at {local_text(lead.abandoned_at, zone_of(campaign))};"
            " no unreserved call within the abandon policy's no_recall_hours",
            code="no_recall",
        )
    attempts = lead.attempts
    if attempts_used_up(
        unsolicited_attempts=attempts.unsolicited_attempts, max_attempts=policy.max_attempts
    ) or over_daily_cap(
        day_attempts=attempts.day_attempts,
        day_attempts_date=attempts.day_attempts_date,
        local_date=local_date,
        cap=policy.max_attempts_per_day,
    ):
        raise Conflict(f"lead {lead.id} has reached its attempt caps", code="attempt_cap")


# Every column's default, as the model gives it (an attempt's row is built
# without the model's constructor, below).
_CALL_DEFAULTS: dict[str, Any] = {
    name: field.get_default(call_default_factory=True) for name, field in Call.model_fields.items()
}


def _attached_call(session: Session, raw: RawSql, **values: Any) -> Call:
    """The attempt's row written raw and attached to the session as that
    persistent row, built the way the ORM builds a row it loads (its instance,
    its values, no change history). Through the ORM the INSERT was a flush of
    its own on every call, and the model's constructor sets each of its 27
    columns through the instrumentation (~0.1 ms a call). What the provider
    then changes on the row is the ORM's to write, as for any loaded row."""
    row = {**_CALL_DEFAULTS, **values}
    ((call_id,),) = raw.rows(
        INSERT_CALL,
        tuple(
            raw.instant(row[c]) if c == "created_at" else row[c.strip('"')] for c in CALL_COLUMNS
        ),
    )
    call: Call = Call._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    call.__dict__.update(row, id=call_id)
    make_transient_to_detached(call)
    session.add(call)
    return call


def place_call(
    session: Session,
    *,
    principal: Agent | None,
    lead_id: int,
    phone: str | None,
    now: datetime,
    telephony: Telephony,
    dial: Callable[[int], None],
    standing: AbandonStanding | None = None,
) -> Call:
    """`dial` asks the provider to place the attempt, once it is committed.
    `principal` None: the predictive dialer places an unreserved call on its own
    claim (no agent yet; dialer.calls.connect gives it one when answered), held
    to the attempt caps and the no-recall rule as well. `standing`: the
    campaign's abandon standing when the caller has it (the dialer's round
    reads it once); read here otherwise (dialer.calls.standing). Every
    attempt's `call_placed` records what it passed (`checks`)."""
    # Hand-written: every call placed pays for this path. What the session
    # holds is flushed first (raw SQL does not autoflush: a lead marked
    # abandoned or counted through the ORM in this transaction is seen).
    raw = raw_in(session)
    lead = _lead_for_dial(raw, lead_id=lead_id)
    if lead is None:
        raise NotFound(f"lead {lead_id} does not exist", code="lead_not_found")
    claim = _claim_and_live_call(raw, lead_id=lead_id)
    holder = principal.id if principal is not None else None
    if claim is None or claim.agent_id != holder:
        who = f"agent {holder}" if holder is not None else "the dialer"
        raise NotClaimed(f"{who} holds no claim on lead {lead_id}")
    if claim.live_call:
        raise CallLive(f"a call to lead {lead_id} is already live")
    campaign = session.get(Campaign, lead.campaign_id)
    assert campaign is not None
    if campaign.status != CampaignStatus.active:
        raise Conflict(f"campaign {campaign.id} is paused", code="campaign_paused")
    assert campaign.id is not None
    blocks.check_not_blocked(session, campaign_id=campaign.id, zone=zone_of(campaign))
    number = _choose_phone(raw, lead_id=lead_id, campaign=campaign, requested=phone)
    hours = calling_hours_of(campaign, timezone=lead.timezone)
    if not hours.is_open(at=now):
        opening = hours.next_opening(at=now)
        # The lead's local hours, named in its zone; the instant in the campaign's.
        when = f"; they open at {local_text(opening, hours.tz)}" if opening else ""
        raise OutsideCallingHours(
            f"{local_text(now, hours.tz)} is outside calling hours{when}",
            next_opening=opening.astimezone(zone_of(campaign)).isoformat() if opening else None,
        )
    for_promise = claim.reason == ClaimReason.promise
    local_date = hours.local_date(now).isoformat()
    policy = retry_policy_of(campaign)
    abandon_policy = abandon_policy_of(campaign)
    no_recall_clear = _no_recall_clear(
        abandoned_at=lead.abandoned_at, hours=abandon_policy.no_recall_hours, now=now
    )
    if principal is None:
        _check_dialer_call(
            lead=lead,
            campaign=campaign,
            policy=policy,
            local_date=local_date,
            no_recall_clear=no_recall_clear,
        )
    if standing is None:
        standing = standing_now(session, campaign=campaign, now=now)
    call = _attached_call(
        session,
        raw,
        lead_id=lead_id,
        campaign_id=lead.campaign_id,
        agent_id=holder,
        to=number,
        from_=campaign.caller_id,
        status=CallStatus.queued,
        provider=telephony.name,
        for_promise=for_promise,
        created_at=now,
        agent_reserved=principal is not None,
    )
    call_id = call.id
    assert call_id is not None
    attempts = lifecycle.count_attempt_raw(
        session,
        raw,
        lead_id=lead_id,
        before=lead.attempts,
        for_promise=for_promise,
        local_date=local_date,
        now=now,
    )
    checks = {
        "dial_mode": campaign.dial_mode,
        # _choose_phone refused a listed number above: what is dialled is clear.
        "dnc": "clear",
        "local_time": now.astimezone(hours.tz).isoformat(),
        "timezone": lead.timezone,
        "hours_open": True,
        "claim": {"agent_id": claim.agent_id, "reason": claim.reason},
        "attempts": {
            "unsolicited": attempts.unsolicited_attempts,
            "max_attempts": policy.max_attempts,
            "today": day_attempts_on(
                day_attempts=attempts.day_attempts,
                day_attempts_date=attempts.day_attempts_date,
                local_date=local_date,
            ),
            "max_per_day": policy.max_attempts_per_day,
        },
        "abandon": {
            "abandoned": standing.abandoned,
            "answered": standing.answered,
            "rate": standing.rate,
            "max_rate": standing.max_rate,
            "window_days": standing.window_days,
        },
        "no_recall": {
            "abandoned_at": lead.abandoned_at.isoformat() if lead.abandoned_at else None,
            "no_recall_hours": abandon_policy.no_recall_hours,
            # An agent reserved for the call (its own claim, a promise) may call
            # an abandoned lead again; only the dialer's own call is held off.
            "clear": no_recall_clear or principal is not None,
        },
    }
    history.record(
        session,
        lead_id=lead_id,
        kind="call_placed",
        actor=f"agent:{principal.id}" if principal is not None else "dialer",
        at=now,
        call_id=call_id,
        to=number,
        attempt=attempts.attempts,
        reserved=call.agent_reserved,
        checks=checks,
    )
    if lead.promise_id is not None:
        # Only a lead with a promise has one to keep (the lead's row, loaded
        # after the raw count: it reads what was written).
        held = session.get(Lead, lead_id)
        assert held is not None
        keep_on_call(session, lead=held, call=call, now=now)
    telephony.place_call(session, call=call, campaign=campaign, now=now)
    session.flush()
    # Committed first, then sent: a crash between the two leaves a row the
    # reconciliation settles, never an unrecorded call.
    after_commit(session, lambda: dial(call_id), name="dial")
    return call
