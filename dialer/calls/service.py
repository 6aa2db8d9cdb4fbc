"""Placing calls, following their status, and recording what happened.

Dial-time rules are checked here again, whatever the queue said when it handed
the lead out: the do-not-call list may have grown and the calling hours may have
closed while the agent read the script."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.events import publish
from dialer.agents.models import Agent, Role
from dialer.agents.queue import claim_of, has_live_call, release
from dialer.auth import actor_of
from dialer.calls.models import (
    CALL_STATUS_RANK,
    FINAL_CALL_STATUSES,
    AnsweredBy,
    Call,
    CallStatus,
    Outcome,
)
from dialer.calls.retry import RetryKind, decide_next
from dialer.campaign.models import Campaign, CampaignStatus
from dialer.campaign.service import calling_hours_of, retry_policy_of
from dialer.conversions import service as conversions
from dialer.db import after_commit
from dialer.dnc import service as dnc
from dialer.errors import (
    AlreadyDispositioned,
    CallLive,
    Conflict,
    Forbidden,
    Invalid,
    NotClaimed,
    NotFound,
    OnDoNotCallList,
    OutsideCallingHours,
)
from dialer.leads import history
from dialer.leads.models import Lead, LeadStatus, NextAttemptReason, Phone
from dialer.leads.phones import PhoneError, normalize_phone
from dialer.promises import service as promises
from dialer.promises.schemas import PromiseIn
from dialer.telephony.base import Telephony

# Unanswered final statuses, and what the retry policy calls them.
_UNANSWERED_KIND: dict[str, RetryKind] = {
    CallStatus.busy: RetryKind.busy,
    CallStatus.no_answer: RetryKind.no_answer,
    CallStatus.failed: RetryKind.failed,
    CallStatus.canceled: RetryKind.no_answer,
}

_AGENT_RETRY_OUTCOMES: dict[str, RetryKind] = {
    Outcome.no_answer: RetryKind.no_answer,
    Outcome.busy: RetryKind.busy,
    Outcome.machine: RetryKind.machine,
    Outcome.not_interested: RetryKind.not_interested,
}


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


def _choose_phone(
    session: Session, *, lead: Lead, campaign: Campaign, requested: str | None
) -> str:
    phones = [
        p
        for p in session.scalars(
            select(Phone)
            .where(col(Phone.lead_id) == lead.id)
            .order_by(col(Phone.position), col(Phone.id))
        )
        if not p.retired
    ]
    numbers = [p.number for p in phones]
    on_list = dnc.listed(session, phones=numbers)
    if requested is not None:
        try:
            number = normalize_phone(requested, region=campaign.default_region)
        except PhoneError as exc:
            raise Invalid(str(exc), code="invalid_phone", field="phone") from exc
        if number not in numbers:
            raise Invalid(
                f"{number} is not an active phone of lead {lead.id}",
                code="unknown_phone",
                field="phone",
            )
        if number in on_list:
            raise OnDoNotCallList(f"{number} is on the do-not-call list")
        return number
    callable_numbers = [n for n in numbers if n not in on_list]
    if not numbers:
        raise Conflict(f"lead {lead.id} has no active phone", code="no_phone")
    if not callable_numbers:
        raise OnDoNotCallList(f"every phone of lead {lead.id} is on the do-not-call list")
    return callable_numbers[0]


def place_call(
    session: Session,
    *,
    principal: Agent,
    lead_id: int,
    phone: str | None,
    now: datetime,
    telephony: Telephony,
    lock_rows: bool,
    dial: Callable[[int], None],
) -> Call:
    """`dial` asks the provider to place the attempt, once it is committed."""
    query = select(Lead).where(col(Lead.id) == lead_id)
    if lock_rows:
        # Two dial clicks at once must not both pass the "no live call" check.
        query = query.with_for_update()
    lead = session.scalar(query)
    if lead is None:
        raise NotFound(f"lead {lead_id} does not exist", code="lead_not_found")
    claim = claim_of(session, lead_id=lead_id)
    if claim is None or claim.agent_id != principal.id:
        raise NotClaimed(f"agent {principal.id} holds no claim on lead {lead_id}")
    if has_live_call(session, lead_id=lead_id):
        raise CallLive(f"a call to lead {lead_id} is already live")
    campaign = session.get(Campaign, lead.campaign_id)
    assert campaign is not None
    if campaign.status != CampaignStatus.active:
        raise Conflict(f"campaign {campaign.id} is paused", code="campaign_paused")
    number = _choose_phone(session, lead=lead, campaign=campaign, requested=phone)
    hours = calling_hours_of(campaign, timezone=lead.timezone)
    if not hours.is_open(at=now):
        opening = hours.next_opening(at=now)
        raise OutsideCallingHours(
            f"outside calling hours in {lead.timezone}",
            next_opening=opening.isoformat() if opening else None,
        )
    call = Call(
        lead_id=lead_id,
        campaign_id=lead.campaign_id,
        agent_id=principal.id,
        to=number,
        from_=campaign.caller_id,
        status=CallStatus.queued,
        provider=telephony.name,
        for_promise=claim.reason == "promise",
        created_at=now,
    )
    session.add(call)
    _count_attempt(lead=lead, call=call, hours_date=hours.local_date(now).isoformat(), now=now)
    session.flush()
    assert call.id is not None
    history.record(
        session,
        lead_id=lead_id,
        kind="call_placed",
        actor=f"agent:{principal.id}",
        at=now,
        call_id=call.id,
        to=number,
        attempt=lead.attempts,
    )
    promises.keep_on_call(session, lead=lead, call=call, now=now)
    telephony.place_call(session, call=call, campaign=campaign, now=now)
    session.flush()
    # Committed first, then sent: a crash between the two leaves a row the
    # reconciliation settles, never an unrecorded call.
    call_id = call.id
    after_commit(session, lambda: dial(call_id), name="dial")
    return call


def _count_attempt(*, lead: Lead, call: Call, hours_date: str, now: datetime) -> None:
    """An attempt counts when it is placed. Promise calls are customer-requested:
    they count in `attempts` but not against the caps."""
    lead.attempts += 1
    lead.last_attempt_at = now
    lead.updated_at = now
    if call.for_promise:
        return
    lead.unsolicited_attempts += 1
    if lead.day_attempts_date != hours_date:
        lead.day_attempts_date = hours_date
        lead.day_attempts = 0
    lead.day_attempts += 1


@dataclass(frozen=True, slots=True)
class StatusChange:
    """What one progress report does to a call: its new fields, and whether the
    system must now record the attempt as unanswered (`system_kind`)."""

    status: str
    answered_by: str | None
    answered_at: datetime | None
    ended_at: datetime | None
    duration: int | None
    system_kind: RetryKind | None


def status_change(
    *,
    status_now: str,
    answered_by_now: str | None,
    answered_at_now: datetime | None,
    duration_now: int | None,
    dispositioned: bool,
    status: str,
    answered_by: str | None,
    at: datetime,
    duration: int | None,
) -> StatusChange | None:
    """Pure: a status only ever moves forward, so a repeated or late report is
    None (changes nothing). A call ending unanswered, or answered by a machine,
    is the system's to disposition."""
    if (
        status_now in FINAL_CALL_STATUSES
        or CALL_STATUS_RANK[status] <= CALL_STATUS_RANK[status_now]
    ):
        return None
    new_answered_by = answered_by if answered_by is not None else answered_by_now
    answered_at = answered_at_now
    if status == CallStatus.in_progress and answered_at is None:
        answered_at = at
    ended_at, new_duration, kind = None, duration_now, None
    if status in FINAL_CALL_STATUSES:
        ended_at = at
        if duration is not None:
            new_duration = duration
        elif answered_at is not None:
            new_duration = int((at - answered_at).total_seconds())
        else:
            new_duration = 0
        if not dispositioned:
            if new_answered_by == AnsweredBy.machine:
                kind = RetryKind.machine
            elif status in _UNANSWERED_KIND:
                kind = _UNANSWERED_KIND[status]
    return StatusChange(status, new_answered_by, answered_at, ended_at, new_duration, kind)


def apply_status_update(
    session: Session,
    *,
    call: Call,
    status: str,
    answered_by: str | None,
    at: datetime,
    duration: int | None = None,
) -> bool:
    """Move a call forward. Repeated and late reports change nothing; returns
    whether anything changed. An unanswered end is dispositioned at once."""
    change = status_change(
        status_now=call.status,
        answered_by_now=call.answered_by,
        answered_at_now=call.answered_at,
        duration_now=call.duration,
        dispositioned=call.disposition is not None,
        status=status,
        answered_by=answered_by,
        at=at,
        duration=duration,
    )
    if change is None:
        return False
    call.status = change.status
    call.answered_by = change.answered_by
    call.answered_at = change.answered_at
    if change.ended_at is not None:
        call.ended_at = change.ended_at
        call.duration = change.duration
    assert call.id is not None
    history.record(
        session,
        lead_id=call.lead_id,
        kind="call_status",
        actor=f"provider:{call.provider}",
        at=at,
        call_id=call.id,
        status=status,
        answered_by=call.answered_by,
    )
    _announce_status(session, call=call, at=at)
    if change.system_kind is not None:
        _system_disposition(session, call=call, kind=change.system_kind, at=at)
    return True


def _announce_status(session: Session, *, call: Call, at: datetime) -> None:
    """The agent's screen follows its call through the event stream."""
    if call.agent_id is not None:
        publish(
            session,
            kind="call_status",
            at=at,
            agent_id=call.agent_id,
            campaign_id=call.campaign_id,
            call_id=call.id,
            lead_id=call.lead_id,
            status=call.status,
            answered_by=call.answered_by,
        )


def _system_disposition(session: Session, *, call: Call, kind: RetryKind, at: datetime) -> None:
    lead = session.get(Lead, call.lead_id)
    assert lead is not None
    call.disposition = kind.value
    call.dispositioned_at = at
    call.dispositioned_by = "system"
    history.record(
        session,
        lead_id=call.lead_id,
        kind="disposition",
        actor="system",
        at=at,
        call_id=call.id,
        outcome=kind.value,
    )
    _after_unanswered(session, lead=lead, call=call, kind=kind, at=at, actor="system")
    release(session, lead=lead, actor="system", now=at, why=f"call {call.id} ended: {kind.value}")


def _after_unanswered(
    session: Session, *, lead: Lead, call: Call, kind: RetryKind, at: datetime, actor: str
) -> None:
    """The customer was not reached. A kept promise is followed up by its agent; a
    promise not yet due stands as booked; otherwise the retry policy decides."""
    if promises.follow_up(session, lead=lead, call=call, at=at, actor=actor):
        lead.last_outcome = kind.value
        return
    if lead.promise_id is not None:
        lead.last_outcome = kind.value
        history.set_status(session, lead=lead, status=LeadStatus.scheduled, actor=actor, at=at)
        return
    _schedule_retry(session, lead=lead, kind=kind, at=at, actor=actor)


def abandon(session: Session, *, call: Call, at: datetime, why: str) -> None:
    """The customer answered and nobody could take them: said sorry and hung up.
    Recorded as such (managers watch the abandon rate) and retried like a call
    nobody answered."""
    if call.disposition is not None:
        return
    lead = session.get(Lead, call.lead_id)
    assert lead is not None and call.id is not None
    call.disposition = Outcome.abandoned.value
    call.dispositioned_at = at
    call.dispositioned_by = "system"
    history.record(
        session, lead_id=call.lead_id, kind="call_abandoned", actor="system", at=at,
        call_id=call.id, why=why,
    )  # fmt: skip
    _after_unanswered(
        session, lead=lead, call=call, kind=RetryKind.no_answer, at=at, actor="system"
    )
    release(session, lead=lead, actor="system", now=at, why=f"call {call.id} abandoned: {why}")


def _schedule_retry(
    session: Session, *, lead: Lead, kind: RetryKind, at: datetime, actor: str
) -> None:
    campaign = session.get(Campaign, lead.campaign_id)
    assert campaign is not None and lead.id is not None
    counts = dict(lead.failure_counts or {})
    counts[kind.value] = counts.get(kind.value, 0) + 1
    lead.failure_counts = counts
    lead.last_outcome = kind.value
    hours = calling_hours_of(campaign, timezone=lead.timezone)
    today = hours.local_date(at).isoformat()
    decision = decide_next(
        kind=kind,
        policy=retry_policy_of(campaign),
        failures_of_kind=counts[kind.value],
        unsolicited_attempts=lead.unsolicited_attempts,
        day_attempts=lead.day_attempts if lead.day_attempts_date == today else 0,
        final_at=at,
        hours=hours,
    )
    if decision.exhausted:
        lead.next_attempt_at = None
        lead.next_attempt_reason = None
        history.set_status(
            session,
            lead=lead,
            status=LeadStatus.exhausted,
            actor=actor,
            at=at,
            reason=decision.detail,
        )
        return
    lead.next_attempt_at = decision.next_attempt_at
    lead.next_attempt_reason = decision.reason
    history.record(
        session,
        lead_id=lead.id,
        kind="retry_scheduled",
        actor=actor,
        at=at,
        next_attempt_at=decision.next_attempt_at.isoformat() if decision.next_attempt_at else None,
        rule=decision.reason,
        detail=decision.detail,
    )
    history.set_status(session, lead=lead, status=LeadStatus.scheduled, actor=actor, at=at)


@dataclass(frozen=True, slots=True)
class DispositionInput:
    outcome: Outcome
    note: str | None
    contract_number: str | None
    promise: PromiseIn | None


def dispose(
    session: Session,
    *,
    principal: Agent,
    call_id: int,
    data: DispositionInput,
    now: datetime,
    telephony: Telephony,
    lock_rows: bool = False,
) -> Call:
    # Once per call, also for two clicks at once and a provider report racing the
    # agent: the second waits for the first and then sees its disposition.
    query = select(Call).where(col(Call.id) == call_id)
    found = session.scalar(query.with_for_update() if lock_rows else query)
    if found is None:
        raise NotFound(f"call {call_id} does not exist", code="call_not_found")
    call = found
    check_call_access(principal, call)
    if call.disposition is not None:
        raise AlreadyDispositioned(
            f"call {call_id} was already dispositioned as {call.disposition}"
        )
    lead = session.get(Lead, call.lead_id)
    campaign = session.get(Campaign, call.campaign_id)
    assert lead is not None and campaign is not None and lead.id is not None
    outcome = data.outcome
    if data.promise is not None and outcome != Outcome.callback:
        raise Invalid("promise goes with the callback outcome only", field="promise")
    if outcome == Outcome.failed:
        raise Invalid("'failed' is recorded by the system, not by agents", field="outcome")
    contract_number = conversions.check_contract_number(campaign, data.contract_number)
    actor = actor_of(principal)
    if call.status not in FINAL_CALL_STATUSES and call.provider_sid:
        # Still ringing or talking at the provider: hung up once the outcome is
        # committed (the agent has moved on).
        sid, answered = call.provider_sid, call.answered_at is not None
        after_commit(session, lambda: telephony.hang_up(sid, answered=answered), name="hang_up")
    _end_call(session, call=call, now=now)
    call.disposition = outcome.value
    call.dispositioned_at = now
    call.dispositioned_by = actor
    call.note = data.note
    history.record(
        session,
        lead_id=lead.id,
        kind="disposition",
        actor=actor,
        at=now,
        call_id=call.id,
        outcome=outcome.value,
        note=data.note,
        contract_number=contract_number,
    )
    if lead.status in _CLOSED_BY_OTHERS and outcome not in (Outcome.refused, Outcome.dnc):
        # The customer signed up by another channel while on this call: the call is
        # on record, the lead stays converted (and is counted once).
        release(session, lead=lead, actor=actor, now=now, why=f"call {call.id}: lead closed")
        session.flush()
        return call
    if outcome == Outcome.callback:
        _book_callback(
            session,
            principal=principal,
            call=call,
            lead=lead,
            data=data,
            now=now,
            lock_rows=lock_rows,
            actor=actor,
        )
        release(session, lead=lead, actor=actor, now=now, why=f"call {call.id}: callback")
        session.flush()
        return call
    _settle_promise(session, lead=lead, call=call, outcome=outcome, actor=actor, now=now)
    if outcome == Outcome.converted:
        conversions.record_phone_conversion(
            session, call=call, lead=lead, contract_number=contract_number, now=now
        )
        if contract_number and not lead.contract_number:
            lead.contract_number = contract_number
        history.set_status(session, lead=lead, status=LeadStatus.converted, actor=actor, at=now)
    elif outcome == Outcome.will_self_apply:
        lead.next_attempt_at = None
        lead.next_attempt_reason = None
        history.set_status(
            session, lead=lead, status=LeadStatus.awaiting_external, actor=actor, at=now
        )
    elif outcome in (Outcome.refused, Outcome.dnc):
        # The law forbids soliciting again after a refusal: every phone of the
        # household goes on the list, for every campaign.
        for number in _active_numbers(session, lead_id=lead.id):
            dnc.add(
                session,
                phone=number,
                reason=outcome.value,
                source=f"call:{call.id}",
                actor=actor,
                now=now,
            )
        lead.next_attempt_at = None
        status = LeadStatus.refused if outcome == Outcome.refused else LeadStatus.dnc
        history.set_status(session, lead=lead, status=status, actor=actor, at=now)
    elif outcome == Outcome.wrong_number:
        _retire_phone(session, lead=lead, number=call.to, actor=actor, now=now)
    elif outcome in _UNREACHED_OUTCOMES:
        _after_unanswered(
            session,
            lead=lead,
            call=call,
            kind=_AGENT_RETRY_OUTCOMES[outcome],
            at=now,
            actor=actor,
        )
    else:
        _schedule_retry(
            session, lead=lead, kind=_AGENT_RETRY_OUTCOMES[outcome], at=now, actor=actor
        )
    release(session, lead=lead, actor=actor, now=now, why=f"call {call.id}: {outcome.value}")
    session.flush()
    return call


# Closed while the agent was on the call: the outcome is recorded, not applied.
_CLOSED_BY_OTHERS = frozenset({LeadStatus.converted, LeadStatus.dnc, LeadStatus.refused})

# The agent says the customer was not reached: like an unanswered call.
_UNREACHED_OUTCOMES = frozenset({Outcome.no_answer, Outcome.busy, Outcome.machine})


def _book_callback(
    session: Session,
    *,
    principal: Agent,
    call: Call,
    lead: Lead,
    data: DispositionInput,
    now: datetime,
    lock_rows: bool,
    actor: str,
) -> None:
    """Book (or confirm) the promise in the disposition's transaction: a refused
    booking refuses the disposition with it."""
    assert lead.id is not None
    if data.promise is not None:
        promise = promises.book(
            session,
            principal=principal,
            lead_id=lead.id,
            request=data.promise.request(),
            now=now,
            lock_rows=lock_rows,
            during_call=call,
        )
    else:
        promise = promises.confirm_for_call(session, lead=lead, call=call)
    lead.last_outcome = Outcome.callback.value
    history.set_status(
        session,
        lead=lead,
        status=LeadStatus.scheduled,
        actor=actor,
        at=now,
        reason="callback",
        promise_id=promise.id,
    )


def _settle_promise(
    session: Session, *, lead: Lead, call: Call, outcome: Outcome, actor: str, now: datetime
) -> None:
    """Any answer but `callback` settles the lead's promise: one still open is
    cancelled (the conversation superseded it), and a promise being called leaves
    the promise tiers. Not reaching the customer settles nothing: see
    `_after_unanswered`."""
    assert lead.id is not None
    if outcome in _UNREACHED_OUTCOMES:
        return
    pending = promises.open_promise(session, lead_id=lead.id)
    if pending is not None:
        promises.cancel_open(
            session,
            promise=pending,
            actor=actor,
            now=now,
            reason=f"call {call.id} dispositioned {outcome.value}",
        )
    promises.clear_lead_promise(lead)


def _end_call(session: Session, *, call: Call, now: datetime) -> None:
    """A disposition ends the call: completed if answered, canceled if still ringing."""
    call.sim_final_at = None
    if call.status in FINAL_CALL_STATUSES:
        return
    final = CallStatus.completed if call.answered_at is not None else CallStatus.canceled
    call.status = final
    call.ended_at = now
    call.duration = int((now - call.answered_at).total_seconds()) if call.answered_at else 0
    history.record(
        session,
        lead_id=call.lead_id,
        kind="call_status",
        actor="system",
        at=now,
        call_id=call.id,
        status=final,
        answered_by=call.answered_by,
    )
    _announce_status(session, call=call, at=now)


def _active_numbers(session: Session, *, lead_id: int) -> list[str]:
    return [
        p.number
        for p in session.scalars(select(Phone).where(col(Phone.lead_id) == lead_id))
        if not p.retired
    ]


def _retire_phone(session: Session, *, lead: Lead, number: str, actor: str, now: datetime) -> None:
    assert lead.id is not None
    phone = session.scalar(
        select(Phone).where(col(Phone.lead_id) == lead.id, col(Phone.number) == number)
    )
    if phone is not None and not phone.retired:
        phone.retired = True
        phone.retired_reason = "wrong_number"
        history.record(
            session, lead_id=lead.id, kind="phone_retired", actor=actor, at=now, phone=number
        )
    remaining = _active_numbers(session, lead_id=lead.id)
    if remaining:
        # The household is still reachable on its other phones: go on at once.
        lead.next_attempt_at = now
        lead.next_attempt_reason = NextAttemptReason.retry_delay
        history.set_status(
            session,
            lead=lead,
            status=LeadStatus.scheduled,
            actor=actor,
            at=now,
            reason="wrong_number",
        )
    else:
        lead.next_attempt_at = None
        history.set_status(
            session,
            lead=lead,
            status=LeadStatus.invalid,
            actor=actor,
            at=now,
            reason="no phone left",
        )


def call_out(call: Call) -> dict[str, Any]:
    return {
        "id": call.id,
        "lead_id": call.lead_id,
        "agent_id": call.agent_id,
        "campaign_id": call.campaign_id,
        "to": call.to,
        "status": call.status,
        "answered_by": call.answered_by,
        "provider_sid": call.provider_sid,
        "created_at": call.created_at,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
        "duration": call.duration,
        "disposition": call.disposition,
        "note": call.note,
    }
