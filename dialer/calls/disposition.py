"""Recording what happened on a call: a call's progress reports, the agent's
disposition, and the system's own for calls nobody took.

The disposition is a flow over the pure outcome table (`outcomes.py`): each
step below applies one column of the outcome's row. Lead changes are named
transitions of `dialer.leads.lifecycle`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from dialer.agents.events import publish
from dialer.agents.models import Agent
from dialer.agents.queue import claim_of, release, release_claim
from dialer.agents.service import begin_wrapup
from dialer.auth import actor_of
from dialer.calls import connect, disposition_sql
from dialer.calls.disposition_sql import (
    CALL_DISPOSITIONED,
    DISPOSED_CALL_COLUMNS,
    OPEN_PROMISE_ID,
)
from dialer.calls.hour_stats import answer_stats
from dialer.calls.models import FINAL_CALL_STATUSES, Call, CallStatus, Outcome
from dialer.calls.outcomes import Effects, LeadEffect, effects_of
from dialer.calls.placing import check_call_access
from dialer.calls.retry import RetryDecision, RetryKind, decide_next
from dialer.calls.status import StatusChange, status_change
from dialer.campaign.hours import CallingHours
from dialer.campaign.message import abandon_text
from dialer.campaign.models import Campaign, RetryTiming
from dialer.campaign.schemas import RetryPolicy
from dialer.campaign.service import (
    calling_hours_from,
    calling_hours_of,
    retry_policy_from,
    retry_policy_of,
)
from dialer.conversions import service as conversions
from dialer.db import RawSql, after_commit, keep_held_in_step, raw_of
from dialer.dnc import service as dnc
from dialer.errors import AlreadyDispositioned, Conflict, Invalid, NotFound
from dialer.leads import history, lifecycle
from dialer.leads.dialrules import active_numbers, day_attempts_on
from dialer.leads.models import Lead, LeadStatus, Phone
from dialer.leads.phonebook import phone_facts
from dialer.promises import booking as promises
from dialer.promises.schemas import PromiseIn
from dialer.telephony.base import Telephony
from dialer.telephony.faults import Fault, FaultAction

_Row = TypeVar("_Row")

# Closed while the agent was on the call: the outcome is recorded, and applied
# only where its row says so (a refusal).
_CLOSED_BY_OTHERS = frozenset({LeadStatus.converted, LeadStatus.dnc, LeadStatus.refused})


# --- progress reports ---------------------------------------------------------------


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
    _record_progress(
        session, call_id=call.id, lead_id=call.lead_id, campaign_id=call.campaign_id,
        agent_id=call.agent_id, provider=call.provider, change=change, at=at,
    )  # fmt: skip
    if change.system_kind is not None:
        _system_disposition(session, call=call, kind=change.system_kind, at=at)
    elif call.answered_at is not None and call.connected_at is None:
        # Answered: its agent takes it, or (unreserved) the longest-waiting one.
        connect.on_answered(session, call=call, at=at)
    return True


def _record_progress(
    session: Session,
    *,
    call_id: int,
    lead_id: int,
    campaign_id: int,
    agent_id: int | None,
    provider: str,
    change: StatusChange,
    at: datetime,
) -> None:
    """A report's record: the call's status in the lead's history, and on its
    agent's screen. The ORM path and the hand-written ones write the same."""
    history.record(
        session, lead_id=lead_id, kind="call_status", actor=f"provider:{provider}", at=at,
        call_id=call_id, status=change.status, answered_by=change.answered_by,
    )  # fmt: skip
    _announce(
        session, agent_id=agent_id, campaign_id=campaign_id, call_id=call_id, lead_id=lead_id,
        status=change.status, answered_by=change.answered_by, at=at,
    )  # fmt: skip


def record_ringing(session: Session, *, call: Call, change: StatusChange, at: datetime) -> None:
    """`apply_status_update` for a report that leaves the call ringing (nothing
    to disposition, nobody to connect) when its caller wrote the call's row in
    hand-written SQL (the simulated provider's dial: its sid, its script and
    its status in one UPDATE): the session's row kept in step, and the record."""
    assert change.system_kind is None and change.answered_at is None and call.id is not None
    set_committed_value(call, "status", change.status)
    set_committed_value(call, "answered_by", change.answered_by)
    _record_progress(
        session, call_id=call.id, lead_id=call.lead_id, campaign_id=call.campaign_id,
        agent_id=call.agent_id, provider=call.provider, change=change, at=at,
    )  # fmt: skip


def _announce_status(session: Session, *, call: Call, at: datetime) -> None:
    """The agent's screen follows its call through the event stream."""
    assert call.id is not None
    _announce(
        session, agent_id=call.agent_id, campaign_id=call.campaign_id, call_id=call.id,
        lead_id=call.lead_id, status=call.status, answered_by=call.answered_by, at=at,
    )  # fmt: skip


def _announce(
    session: Session,
    *,
    agent_id: int | None,
    campaign_id: int,
    call_id: int,
    lead_id: int,
    status: str,
    answered_by: str | None,
    at: datetime,
) -> None:
    if agent_id is not None:
        publish(
            session,
            kind="call_status",
            at=at,
            agent_id=agent_id,
            campaign_id=campaign_id,
            call_id=call_id,
            lead_id=lead_id,
            status=status,
            answered_by=answered_by,
        )


def _system_disposition(session: Session, *, call: Call, kind: RetryKind, at: datetime) -> None:
    # The campaign held here: the session keeps rows by weak reference only,
    # and the retry policy below reads it from the session.
    lead, _campaign = _lead_with_campaign(session, lead_id=call.lead_id)
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


def _get_unflushed(session: Session, entity: type[_Row], key: int) -> _Row | None:
    """`session.get` without its autoflush: a row read by its key does not
    depend on the call's pending changes, and flushing them here writes the
    call twice (its status now, its disposition a moment later) where one
    UPDATE at the next flush does."""
    with session.no_autoflush:
        return session.get(entity, key)


# Built once: not rebuilt at every unanswered call.
_LEAD_WITH_CAMPAIGN = (
    select(Lead, Campaign)
    .join(Campaign, col(Campaign.id) == col(Lead.campaign_id))
    .where(col(Lead.id) == bindparam("lead_id"))
)


def _lead_with_campaign(session: Session, *, lead_id: int) -> tuple[Lead | None, Campaign | None]:
    """The lead, and its campaign into the session with it in the same read (the
    retry policy's next step reads the campaign): one statement, not two, when
    the lead is not in the session yet. Without autoflush, as `_get_unflushed`."""
    with session.no_autoflush:
        known = session.identity_map.get(session.identity_key(Lead, lead_id))
        if isinstance(known, Lead):
            return known, session.get(Campaign, known.campaign_id)
        row = session.execute(_LEAD_WITH_CAMPAIGN, {"lead_id": lead_id}).first()
    return (row[0], row[1]) if row is not None else (None, None)


def abandon(session: Session, *, call: Call, at: datetime, why: str) -> None:
    """The customer answered and nobody could take them: they hear the campaign's
    abandon message (its text is in the history: the seller's identity the law
    asks for) and the call ends. Recorded as such (it counts against the abandon
    rate), the lead is not dialled unreserved again for the policy's
    `no_recall_hours`, and it is retried like a call nobody answered."""
    if call.disposition is not None:
        return
    lead, campaign = _lead_with_campaign(session, lead_id=call.lead_id)
    assert lead is not None and campaign is not None and call.id is not None
    effects = effects_of(Outcome.abandoned)
    assert effects.retry_kind is not None
    call.disposition = Outcome.abandoned.value
    call.dispositioned_at = at
    call.dispositioned_by = "system"
    call.connect_by_at = None
    history.record(
        session, lead_id=call.lead_id, kind="call_abandoned", actor="system", at=at,
        call_id=call.id, why=why, reserved=call.agent_reserved,
        message=abandon_message_of(campaign),
    )  # fmt: skip
    lifecycle.mark_abandoned(lead=lead, at=at)
    _after_unanswered(session, lead=lead, call=call, kind=effects.retry_kind, at=at, actor="system")
    release(session, lead=lead, actor="system", now=at, why=f"call {call.id} abandoned: {why}")


def abandon_message_of(campaign: Campaign) -> str:
    """The text a customer no agent can take hears (the TwiML of it:
    dialer.telephony.webhooks.message_for)."""
    return abandon_text(
        message=campaign.abandon_message,
        seller_name=campaign.seller_name,
        campaign_name=campaign.name,
        call_reason=campaign.call_reason,
        callback_number=campaign.callback_number,
        caller_id=campaign.caller_id,
        language=campaign.tts_language,
    )


def not_placed(session: Session, *, call: Call, fault: Fault, reason: str, at: datetime) -> None:
    """The provider refused to create the call for a reason of its error table
    (dialer.telephony.faults) that is not the attempt's failure: nobody was
    called, so the attempt is refunded and the lead goes back to the queue as it
    was before the claim; a number the provider calls invalid is retired first,
    as an agent's `wrong_number` does (go on at once on another phone, or close
    as invalid). The call itself ends `failed`, dispositioned by the system, with
    the provider's answer in `provider_error`."""
    if call.disposition is not None or call.status in FINAL_CALL_STATUSES:
        return
    lead = session.get(Lead, call.lead_id)
    campaign = session.get(Campaign, call.campaign_id)
    assert lead is not None and campaign is not None and lead.id is not None
    call.provider_error = reason[:500]
    call.status = CallStatus.failed
    call.ended_at = at
    call.duration = 0
    call.disposition = Outcome.failed.value
    call.dispositioned_at = at
    call.dispositioned_by = "system"
    history.record(
        session, lead_id=lead.id, kind="call_not_placed", actor=f"provider:{call.provider}",
        at=at, call_id=call.id, code=fault.code, provider_code=fault.provider_code,
        action=fault.action.value, detail=reason[:500],
    )  # fmt: skip
    _announce_status(session, call=call, at=at)
    hours = calling_hours_of(campaign, timezone=lead.timezone)
    lifecycle.refund_attempt(
        session, lead=lead, for_promise=call.for_promise,
        local_date=hours.local_date(call.created_at).isoformat(), actor="system", at=at,
        call_id=call.id, code=fault.code,
    )  # fmt: skip
    why = f"call {call.id} not placed: {fault.code}"
    if lead.status == LeadStatus.claimed:
        if fault.action == FaultAction.retire_phone:
            _retire_phone(
                session, lead=lead, number=call.to, actor="system", now=at, reason=fault.code
            )
        # A promise's call (kept when it was placed) reached nobody: its owner
        # tries again, as after a call nobody answered. Any other lead goes back
        # to where it was before the claim.
        elif not promises.follow_up(session, lead=lead, call=call, at=at, actor="system"):
            claim = claim_of(session, lead_id=lead.id)
            lifecycle.expire_claim(
                session,
                lead=lead,
                prev_status=claim.prev_status if claim is not None else LeadStatus.scheduled,
                actor="system",
                at=at,
                reason=why,
            )
    release(session, lead=lead, actor="system", now=at, why=why)


def _after_unanswered(
    session: Session, *, lead: Lead, call: Call, kind: RetryKind, at: datetime, actor: str
) -> None:
    """The customer was not reached. A kept promise is followed up by its agent; a
    promise not yet due stands as booked; otherwise the retry policy decides. A
    lead closed by another channel meanwhile (a web sign-up while it rang) stays
    closed: nobody calls a customer who signed up."""
    if lead.status in _CLOSED_BY_OTHERS:
        return
    if promises.follow_up(session, lead=lead, call=call, at=at, actor=actor):
        lifecycle.note_outcome(lead=lead, outcome=kind.value)
        return
    if lead.promise_id is not None:
        lifecycle.note_outcome(lead=lead, outcome=kind.value)
        lifecycle.wait_for_promise(session, lead=lead, actor=actor, at=at)
        return
    _schedule_retry(session, lead=lead, kind=kind, at=at, actor=actor)


def _schedule_retry(
    session: Session, *, lead: Lead, kind: RetryKind, at: datetime, actor: str
) -> None:
    campaign = _get_unflushed(session, Campaign, lead.campaign_id)
    assert campaign is not None and campaign.id is not None and lead.id is not None
    failures = lifecycle.count_failure(lead=lead, kind=kind.value)
    decision = _retry_decision(
        session,
        rules=RetryRules(
            campaign_id=campaign.id,
            policy=retry_policy_of(campaign),
            hours=calling_hours_of(campaign, timezone=lead.timezone),
            timing=RetryTiming(campaign.retry_timing),
        ),
        lead_id=lead.id,
        unsolicited_attempts=lead.unsolicited_attempts,
        day_attempts=lead.day_attempts,
        day_attempts_date=lead.day_attempts_date,
        kind=kind,
        failures=failures,
        at=at,
    )
    if decision.exhausted or decision.next_attempt_at is None or decision.reason is None:
        lifecycle.exhaust(session, lead=lead, actor=actor, at=at, reason=decision.detail)
        return
    lifecycle.schedule_retry(
        session,
        lead=lead,
        next_attempt_at=decision.next_attempt_at,
        reason=decision.reason,
        actor=actor,
        at=at,
        detail=decision.detail,
    )


@dataclass(frozen=True, slots=True)
class RetryRules:
    """What the retry policy decides with, of one campaign, in the lead's zone."""

    campaign_id: int
    policy: RetryPolicy
    hours: CallingHours
    timing: RetryTiming


def _retry_decision(
    session: Session,
    *,
    rules: RetryRules,
    lead_id: int,
    unsolicited_attempts: int,
    day_attempts: int,
    day_attempts_date: str | None,
    kind: RetryKind,
    failures: int,
    at: datetime,
) -> RetryDecision:
    """The next attempt of a lead not reached (`failures` of `kind` now), for
    the ORM path and the raw one alike."""
    hours = rules.hours
    # Best hour: the campaign's answers per local hour (cached), and a seed that
    # names the lead and the attempt, so the draw is the same if it is redone.
    stats = (
        answer_stats(session, campaign_id=rules.campaign_id, now=at)
        if rules.timing == RetryTiming.best_hour
        else None
    )
    return decide_next(
        kind=kind,
        policy=rules.policy,
        failures_of_kind=failures,
        unsolicited_attempts=unsolicited_attempts,
        day_attempts=day_attempts_on(
            day_attempts=day_attempts,
            day_attempts_date=day_attempts_date,
            local_date=hours.local_date(at).isoformat(),
        ),
        final_at=at,
        hours=hours,
        timing=rules.timing,
        hour_stats=stats,
        seed=f"{lead_id}:{unsolicited_attempts}:{failures}",
    )


@dataclass(frozen=True, slots=True)
class EndingCall:
    """A call whose report ends it unanswered, as read raw in the transaction
    (after the session's flush): the call, its lead, its campaign's retry rules."""

    call_id: int
    campaign_id: int
    agent_id: int | None
    provider: str
    lead: lifecycle.Unanswered
    promise_id: int | None
    unsolicited_attempts: int
    day_attempts: int
    day_attempts_date: str | None
    rules: RetryRules


def ending_call(
    *,
    call_id: int,
    lead_id: int,
    campaign_id: int,
    agent_id: int | None,
    provider: str,
    facts: Sequence[Any],
) -> EndingCall:
    """The call as `end_unanswered_raw` decides on it, from its own fields and
    its lead's and campaign's read raw (`facts`: disposition_sql.ENDING_FIELDS)."""
    (status, lead_zone, promise_id, failure_counts, unsolicited, day_attempts,
     day_attempts_date, retry_policy, calling_hours, campaign_zone, region, skip_holidays,
     retry_timing) = facts  # fmt: skip
    return EndingCall(
        call_id=call_id,
        campaign_id=campaign_id,
        agent_id=agent_id,
        provider=provider,
        lead=lifecycle.Unanswered(
            lead_id=lead_id,
            status=status,
            # JSON text on SQLite, decoded already on PostgreSQL.
            failure_counts=(
                json.loads(failure_counts) if isinstance(failure_counts, str) else failure_counts
            ),
        ),
        promise_id=promise_id,
        unsolicited_attempts=unsolicited,
        day_attempts=day_attempts,
        day_attempts_date=day_attempts_date,
        rules=RetryRules(
            campaign_id=campaign_id,
            policy=retry_policy_from(retry_policy),
            hours=calling_hours_from(
                calling_hours,
                timezone=lead_zone or campaign_zone,
                holiday_region=region if skip_holidays else None,
            ),
            timing=RetryTiming(retry_timing),
        ),
    )


def end_unanswered_raw(
    session: Session,
    raw: RawSql,
    *,
    call: EndingCall,
    change: StatusChange,
    at: datetime,
    script_spent: bool = False,
) -> bool:
    """`apply_status_update` for a report that ends a call unanswered
    (`change.system_kind`), in hand-written SQL: the call's end and its system
    disposition in one UPDATE, the same events in the same order, the retry (or
    the lead exhausted) by `lifecycle.unanswered_raw`, the claim released. Most
    calls of a floor end so. False, with nothing written, when the lead has a
    promise (its follow-up, or its wait, is the ORM path's). `script_spent`:
    the simulated provider's report, whose scripted instant goes with it. A
    call row the session holds is kept in step."""
    kind = change.system_kind
    assert kind is not None
    if call.promise_id is not None:
        return False
    lead_id = call.lead.lead_id
    done = raw.instant(at)
    raw.run(
        disposition_sql.END_UNANSWERED,
        (
            change.status,
            change.answered_by,
            raw.instant(change.answered_at) if change.answered_at is not None else None,
            raw.instant(change.ended_at) if change.ended_at is not None else None,
            change.duration,
            kind.value,
            done,
            "system",
            script_spent,
            call.call_id,
        ),
    )
    written: list[tuple[str, object]] = [
        ("status", change.status),
        ("answered_by", change.answered_by),
        ("answered_at", change.answered_at),
        ("ended_at", change.ended_at),
        ("duration", change.duration),
        ("disposition", kind.value),
        ("dispositioned_at", at),
        ("dispositioned_by", "system"),
    ]
    if script_spent:
        written.append(("sim_final_at", None))
    keep_held_in_step(session, Call, call.call_id, written)
    _record_progress(
        session, call_id=call.call_id, lead_id=lead_id, campaign_id=call.campaign_id,
        agent_id=call.agent_id, provider=call.provider, change=change, at=at,
    )  # fmt: skip
    history.record(
        session, lead_id=lead_id, kind="disposition", actor="system", at=at,
        call_id=call.call_id, outcome=kind.value,
    )  # fmt: skip
    # `_after_unanswered`: a lead closed by another channel meanwhile stays closed.
    if call.lead.status not in _CLOSED_BY_OTHERS:
        failures = lifecycle.failed_once(call.lead.failure_counts, kind=kind.value)[kind.value]
        decision = _retry_decision(
            session, rules=call.rules, lead_id=lead_id,
            unsolicited_attempts=call.unsolicited_attempts, day_attempts=call.day_attempts,
            day_attempts_date=call.day_attempts_date, kind=kind, failures=failures, at=at,
        )  # fmt: skip
        exhausted = decision.exhausted or decision.next_attempt_at is None
        lifecycle.unanswered_raw(
            session, raw, lead=call.lead, kind=kind.value,
            next_attempt_at=None if exhausted else decision.next_attempt_at,
            reason=None if exhausted else decision.reason,
            actor="system", at=at, detail=decision.detail,
        )  # fmt: skip
    release_claim(
        session, lead_id=lead_id, actor="system", now=at,
        why=f"call {call.call_id} ended: {kind.value}",
    )  # fmt: skip
    return True


# --- the agent's disposition --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DispositionInput:
    outcome: Outcome
    note: str | None
    contract_number: str | None
    promise: PromiseIn | None


# Once per call, also for two clicks at once and a provider report racing the
# agent: the second waits for the first and then sees what it wrote (a row lock
# on PostgreSQL; SQLite's write transactions are serialized). Built once.
_CALL_FOR_UPDATE = select(Call).where(col(Call.id) == bindparam("call_id")).with_for_update()


def dispose(
    session: Session,
    *,
    principal: Agent,
    call_id: int,
    data: DispositionInput,
    now: datetime,
    telephony: Telephony,
) -> Call:
    call = session.scalar(_CALL_FOR_UPDATE, {"call_id": call_id})
    if call is None:
        raise NotFound(f"call {call_id} does not exist", code="call_not_found")
    check_call_access(principal, call)
    if call.disposition is not None:
        raise AlreadyDispositioned(
            f"call {call_id} was already dispositioned as {call.disposition}"
        )
    # The lead and its campaign (the call's: a lead never changes campaign) in
    # one read, not two.
    lead, campaign = _lead_with_campaign(session, lead_id=call.lead_id)
    assert lead is not None and campaign is not None and lead.id is not None
    outcome = data.outcome
    effects = effects_of(outcome)
    if data.promise is not None and effects.lead != LeadEffect.book_promise:
        raise Invalid("promise goes with the callback outcome only", field="promise")
    if not effects.agent_may_record:
        raise Invalid(
            f"'{outcome.value}' is recorded by the system, not by agents", field="outcome"
        )
    contract_number = conversions.check_contract_number(campaign, data.contract_number)
    actor = actor_of(principal)
    if call.status not in FINAL_CALL_STATUSES and call.provider_sid:
        # Still ringing or talking at the provider: hung up once the outcome is
        # committed (the agent has moved on).
        sid, answered = call.provider_sid, call.answered_at is not None
        after_commit(session, lambda: telephony.hang_up(sid, answered=answered), name="hang_up")
    _end_call(session, call=call, now=now)
    if effects.answered_by is not None:
        # The agent heard who answered: a person, or a voicemail AMD took for one.
        call.answered_by = effects.answered_by
    call.disposition = outcome.value
    call.dispositioned_at = now
    call.dispositioned_by = actor
    # The agent's own call: it wraps up before the next lead (a manager
    # recording the outcome for it does not hold it up). Begun once the claim
    # is released: the agent's row is then unchanged when the release frees it,
    # so that write goes by hand-written SQL, not the ORM's (queue._freed).
    own_call = principal.id == call.agent_id
    call.note = data.note
    _write_disposed_call(session, call=call)
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
        answered_by=call.answered_by,
    )
    if lead.status in _CLOSED_BY_OTHERS and not effects.applies_to_closed_lead:
        # The customer signed up by another channel while on this call: the call is
        # on record, the lead stays converted (and is counted once).
        release(session, lead=lead, actor=actor, now=now, why=f"call {call.id}: lead closed")
        if own_call:
            begin_wrapup(session, agent=principal, wrapup_seconds=campaign.wrapup_seconds, now=now)
        session.flush()
        return call
    _apply(
        session,
        principal=principal,
        call=call,
        lead=lead,
        data=data,
        effects=effects,
        contract_number=contract_number,
        actor=actor,
        now=now,
    )
    release(session, lead=lead, actor=actor, now=now, why=f"call {call.id}: {outcome.value}")
    if own_call:
        begin_wrapup(session, agent=principal, wrapup_seconds=campaign.wrapup_seconds, now=now)
    session.flush()
    return call


def _apply(
    session: Session,
    *,
    principal: Agent,
    call: Call,
    lead: Lead,
    data: DispositionInput,
    effects: Effects,
    contract_number: str | None,
    actor: str,
    now: datetime,
) -> None:
    """The outcome's row, column by column."""
    assert lead.id is not None
    if effects.settles_promise:
        _settle_promise(session, lead=lead, call=call, outcome=data.outcome, actor=actor, now=now)
    if effects.records_conversion:
        conversions.record_phone_conversion(
            session, call=call, lead=lead, contract_number=contract_number, now=now
        )
        if contract_number and not lead.contract_number:
            lead.contract_number = contract_number
    if effects.adds_dnc:
        for number in active_numbers(phone_facts(session, lead_id=lead.id)):
            dnc.add(
                session,
                phone=number,
                reason=data.outcome.value,
                source=f"call:{call.id}",
                actor=actor,
                now=now,
            )
    match effects.lead:
        case LeadEffect.book_promise:
            _book_callback(session, principal=principal, call=call, lead=lead, data=data, now=now,
                           actor=actor)  # fmt: skip
        case LeadEffect.convert:
            lifecycle.close(session, lead=lead, status=LeadStatus.converted, actor=actor, at=now)
        case LeadEffect.await_external:
            lifecycle.await_external(session, lead=lead, actor=actor, at=now)
        case LeadEffect.close_refused:
            lifecycle.close(session, lead=lead, status=LeadStatus.refused, actor=actor, at=now)
        case LeadEffect.close_dnc:
            lifecycle.close(session, lead=lead, status=LeadStatus.dnc, actor=actor, at=now)
        case LeadEffect.retire_phone:
            _retire_phone(session, lead=lead, number=call.to, actor=actor, now=now)
        case LeadEffect.unreached:
            assert effects.retry_kind is not None
            _after_unanswered(
                session, lead=lead, call=call, kind=effects.retry_kind, at=now, actor=actor
            )
        case LeadEffect.retry:
            assert effects.retry_kind is not None
            _schedule_retry(session, lead=lead, kind=effects.retry_kind, at=now, actor=actor)


def _book_callback(
    session: Session,
    *,
    principal: Agent,
    call: Call,
    lead: Lead,
    data: DispositionInput,
    now: datetime,
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
            during_call=call,
        )
    else:
        promise = promises.confirm_for_call(session, lead=lead, call=call)
    lifecycle.note_outcome(lead=lead, outcome=Outcome.callback.value)
    lifecycle.wait_for_promise(session, lead=lead, actor=actor, at=now, reason="callback",
                               promise_id=promise.id)  # fmt: skip


def _settle_promise(
    session: Session, *, lead: Lead, call: Call, outcome: Outcome, actor: str, now: datetime
) -> None:
    """One promise still open is cancelled (the conversation superseded it), and a
    promise being called leaves the promise tiers."""
    assert lead.id is not None
    # Without a flush: the call's pending changes do not bear on the lead's
    # promises, and flushing them here writes them apart from the lead's (one
    # flush at the claim's release writes both). Most leads have no open
    # promise: asked by hand first, the promise loaded only when there is one.
    raw = raw_of(session)
    if raw is not None and not raw.rows(OPEN_PROMISE_ID, (lead.id,)):
        pending = None
    else:
        with session.no_autoflush:
            pending = promises.open_promise(session, lead_id=lead.id)
    if pending is not None:
        promises.cancel_open(
            session,
            promise=pending,
            actor=actor,
            now=now,
            reason=f"call {call.id} dispositioned {outcome.value}",
        )
    lifecycle.release_promise(lead=lead)


# Instants among them, bound as the ORM stores them.
_DISPOSED_CALL_INSTANTS = frozenset({"ended_at", "sim_final_at", "dispositioned_at"})


def _write_disposed_call(session: Session, *, call: Call) -> None:
    """The call as the disposition left it, written at once by hand (every
    disposition: the ORM's flush of the row is most of its cost), and the
    loaded row told it holds these values now (`set_committed_value`: not left
    dirty, so no later flush writes them again). The call's row was read with
    its lock in this transaction; nothing pending of it bears on the statement
    but these columns, which are its values. A session of no unit of work
    leaves them to its flush."""
    raw = raw_of(session)
    if raw is None:
        return
    assert call.id is not None
    values = [getattr(call, column) for column in DISPOSED_CALL_COLUMNS]
    bound = [
        None
        if value is None
        else raw.instant(value)
        if column in _DISPOSED_CALL_INSTANTS
        else value
        if isinstance(value, int)
        else str(value)
        for column, value in zip(DISPOSED_CALL_COLUMNS, values, strict=True)
    ]
    raw.run(CALL_DISPOSITIONED, (*bound, call.id))
    for column, value in zip(DISPOSED_CALL_COLUMNS, values, strict=True):
        set_committed_value(call, column, value)


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


def _retire_phone(
    session: Session,
    *,
    lead: Lead,
    number: str,
    actor: str,
    now: datetime,
    reason: str = Outcome.wrong_number.value,
) -> None:
    assert lead.id is not None
    phone = session.scalar(
        select(Phone).where(col(Phone.lead_id) == lead.id, col(Phone.number) == number)
    )
    if phone is not None and not phone.retired:
        phone.retired = True
        phone.retired_reason = reason
        history.record(
            session, lead_id=lead.id, kind="phone_retired", actor=actor, at=now, phone=number,
            reason=reason,
        )  # fmt: skip
    if active_numbers(phone_facts(session, lead_id=lead.id)):
        # The household is still reachable on its other phones: go on at once.
        lifecycle.retry_now(session, lead=lead, actor=actor, at=now, reason=reason)
    else:
        lifecycle.close(
            session, lead=lead, status=LeadStatus.invalid, actor=actor, at=now,
            reason="no phone left",
        )  # fmt: skip


# --- the agent hangs up ---------------------------------------------------------------


class CallNotLive(Conflict):
    code = "call_not_live"


def request_hangup(
    session: Session, *, principal: Agent, call_id: int, now: datetime, telephony: Telephony
) -> Call:
    """The call's agent (or a manager) ends a live call from the console. The
    provider is asked once the request is committed, and its report ends the
    call as usual (`call_status`; an unanswered one is dispositioned by the
    system); the disposition stays the agent's. The simulated provider has no
    network to wait for: its report is the hang-up's, in this transaction."""
    call = session.scalar(_CALL_FOR_UPDATE, {"call_id": call_id})
    if call is None:
        raise NotFound(f"call {call_id} does not exist", code="call_not_found")
    check_call_access(principal, call)
    if call.status in FINAL_CALL_STATUSES or call.disposition is not None:
        raise CallNotLive(f"call {call_id} is not live (it is {call.status})", call_id=call_id)
    if call.provider_sid is None:
        # The create has not been answered yet: there is nothing to hang up at the
        # provider, and the attempt settles on its own (dialer.telephony.dialing).
        raise Conflict(
            f"call {call_id} is still being placed; hang up once it rings",
            code="call_not_placed",
            call_id=call_id,
        )
    assert call.id is not None
    answered = call.answered_at is not None
    history.record(
        session,
        lead_id=call.lead_id,
        kind="hangup_requested",
        actor=actor_of(principal),
        at=now,
        call_id=call.id,
        status=call.status,
    )
    if telephony.name == "simulated":
        call.sim_outcome = None
        call.sim_final_at = None
        ended = CallStatus.completed if answered else CallStatus.canceled
        apply_status_update(session, call=call, status=ended, answered_by=call.answered_by, at=now)
    else:
        sid = call.provider_sid
        after_commit(session, lambda: telephony.hang_up(sid, answered=answered), name="hang_up")
    session.flush()
    return call
