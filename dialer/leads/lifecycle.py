"""The lead lifecycle: the only code that writes a lead's status or its
scheduling columns (`next_attempt_at`, `next_attempt_reason`, `promise_id`,
`reserved_agent_id`, `reserved_until`, the attempt counters, `abandoned_at`), through the ORM
or in hand-written SQL (`lifecycle_sql.py`). Every other module asks for a
named transition; each one checks the status it starts from and writes its
event in the lead's history.

State table (`TRANSITIONS` is this table as data; a test walks every cell):

    transition         from                               to
    stage              (a row of an import)               importing
    activate           importing                          new
    discard            importing                          (deleted with its import)
    claim              new, scheduled                     claimed
    expire_claim       claimed                            status before the claim, or
                                                          scheduled if a promise was booked
    schedule_retry     claimed, scheduled, new            scheduled (the retry's time)
    defer              new, scheduled                     scheduled (the rule's end)
    wait_for_promise   claimed, scheduled                 scheduled (the promise's time)
    retry_now          claimed                            scheduled (now: another phone)
    hold_for_promise   new, scheduled, claimed,           scheduled (a claimed lead stays
                       awaiting_external, exhausted       claimed until released)
    follow_up_promise  claimed, scheduled                 scheduled (the owner, a delay)
    keep_promise       claimed                            (columns only)
    release_promise    any                                (columns only)
    lapse_reservation  any                                (columns only)
    hand_over_promise  any                                (columns only)
    reopen             scheduled                          new, or scheduled now
    await_external     claimed                            awaiting_external
    close_converted    any but importing                  converted
    close_refused      claimed, converted, refused, dnc   refused
    close_dnc          claimed, converted, refused, dnc,  dnc
                       new, scheduled, awaiting_external,
                       exhausted
    close_invalid      claimed, new, scheduled            invalid
    exhaust            claimed, scheduled, new            exhausted

A transition asked from any other status is a bug in its caller and raises
`IllegalTransition`; none is silently ignored. Moving to the status a lead
already has writes no `status_changed` event (nothing changed)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from dialer.db import RawSql, is_postgres, keep_held_in_step
from dialer.leads import history, lifecycle_sql
from dialer.leads.history_sql import INSERT_EVENT, event_row
from dialer.leads.models import Lead, LeadStatus, NextAttemptReason

S = LeadStatus


class Transition(StrEnum):
    stage = "stage"
    activate = "activate"
    discard = "discard"
    claim = "claim"
    expire_claim = "expire_claim"
    schedule_retry = "schedule_retry"
    defer = "defer"
    wait_for_promise = "wait_for_promise"
    retry_now = "retry_now"
    hold_for_promise = "hold_for_promise"
    follow_up_promise = "follow_up_promise"
    keep_promise = "keep_promise"
    release_promise = "release_promise"
    lapse_reservation = "lapse_reservation"
    hand_over_promise = "hand_over_promise"
    reopen = "reopen"
    await_external = "await_external"
    close_converted = "close_converted"
    close_refused = "close_refused"
    close_dnc = "close_dnc"
    close_invalid = "close_invalid"
    exhaust = "exhaust"


_ALL: frozenset[str] = frozenset(S)
_ANY_BUT_STAGED: frozenset[str] = _ALL - {S.importing}


@dataclass(frozen=True, slots=True)
class Rule:
    allowed_from: frozenset[str]
    # None: the status does not change (a transition of the scheduling columns).
    to: str | None


TRANSITIONS: dict[Transition, Rule] = {
    Transition.stage: Rule(frozenset(), S.importing),
    Transition.activate: Rule(frozenset({S.importing}), S.new),
    Transition.discard: Rule(frozenset({S.importing}), None),
    Transition.claim: Rule(frozenset({S.new, S.scheduled}), S.claimed),
    # To the status the claim recorded (new or scheduled), or scheduled.
    Transition.expire_claim: Rule(frozenset({S.claimed}), None),
    Transition.schedule_retry: Rule(frozenset({S.claimed, S.scheduled, S.new}), S.scheduled),
    Transition.defer: Rule(frozenset({S.new, S.scheduled}), S.scheduled),
    Transition.wait_for_promise: Rule(frozenset({S.claimed, S.scheduled}), S.scheduled),
    Transition.retry_now: Rule(frozenset({S.claimed}), S.scheduled),
    # A lead held by a claim stays claimed: it becomes scheduled when released.
    Transition.hold_for_promise: Rule(
        frozenset({S.new, S.scheduled, S.claimed, S.awaiting_external, S.exhausted}), S.scheduled
    ),
    Transition.follow_up_promise: Rule(frozenset({S.claimed, S.scheduled}), S.scheduled),
    Transition.keep_promise: Rule(frozenset({S.claimed}), None),
    Transition.release_promise: Rule(_ALL, None),
    Transition.lapse_reservation: Rule(_ALL, None),
    Transition.hand_over_promise: Rule(_ALL, None),
    # To new (never attempted) or stays scheduled, callable now.
    Transition.reopen: Rule(frozenset({S.scheduled}), None),
    Transition.await_external: Rule(frozenset({S.claimed}), S.awaiting_external),
    Transition.close_converted: Rule(_ANY_BUT_STAGED, S.converted),
    # An agent's refusal stands even when the lead was closed meanwhile (by a
    # web sign-up during the call): the law forbids calling again.
    Transition.close_refused: Rule(
        frozenset({S.claimed, S.converted, S.refused, S.dnc}), S.refused
    ),
    Transition.close_dnc: Rule(
        frozenset(
            {S.claimed, S.converted, S.refused, S.dnc, S.new, S.scheduled}
            | {S.awaiting_external, S.exhausted}
        ),
        S.dnc,
    ),
    Transition.close_invalid: Rule(frozenset({S.claimed, S.new, S.scheduled}), S.invalid),
    Transition.exhaust: Rule(frozenset({S.claimed, S.scheduled, S.new}), S.exhausted),
}


class IllegalTransition(RuntimeError):
    """A transition asked from a status the state table does not allow: a bug."""


def check(transition: Transition, *, status: str) -> Rule:
    rule = TRANSITIONS[transition]
    if status not in rule.allowed_from:
        raise IllegalTransition(f"{transition.value} is not allowed from status {status!r}")
    return rule


def _set_status(
    session: Session, *, lead: Lead, status: str, actor: str, at: datetime, **detail: Any
) -> None:
    """Change a lead's status and say so in its history, in one step."""
    if lead.status == status:
        return
    assert lead.id is not None
    _status_changed(
        session, lead_id=lead.id, old=lead.status, new=status, actor=actor, at=at, **detail
    )
    lead.status = status
    lead.updated_at = at


def _status_changed(
    session: Session, *, lead_id: int, old: str, new: str, actor: str, at: datetime, **detail: Any
) -> None:
    """The event of a status change (the ORM's transitions and the raw ones)."""
    history.record(
        session, lead_id=lead_id, kind="status_changed", actor=actor, at=at, old=old, new=new,
        **detail,
    )  # fmt: skip


def _move(
    session: Session, *, lead: Lead, to: str | None, actor: str, at: datetime, **detail: Any
) -> None:
    """The last step of a transition `check` allowed: the status, with its event."""
    lead.updated_at = at
    if to is not None:
        _set_status(session, lead=lead, status=to, actor=actor, at=at, **detail)


def _clear_schedule(lead: Lead) -> None:
    lead.next_attempt_at = None
    lead.next_attempt_reason = None


# --- attempts ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attempts:
    """A lead's attempt counters."""

    attempts: int
    unsolicited_attempts: int
    day_attempts: int
    day_attempts_date: str | None


def counted(before: Attempts, *, for_promise: bool, local_date: str) -> Attempts:
    """The counters once an attempt is placed (the rule `count_attempt` and
    `count_attempt_raw` both apply). Promise calls are customer-requested: they
    count in `attempts` but not against the caps."""
    if for_promise:
        return Attempts(
            attempts=before.attempts + 1,
            unsolicited_attempts=before.unsolicited_attempts,
            day_attempts=before.day_attempts,
            day_attempts_date=before.day_attempts_date,
        )
    same_day = before.day_attempts_date == local_date
    return Attempts(
        attempts=before.attempts + 1,
        unsolicited_attempts=before.unsolicited_attempts + 1,
        day_attempts=(before.day_attempts if same_day else 0) + 1,
        day_attempts_date=local_date,
    )


def count_attempt(*, lead: Lead, for_promise: bool, local_date: str, now: datetime) -> None:
    """An attempt counts when it is placed. Promise calls are customer-requested:
    they count in `attempts` but not against the caps."""
    after = counted(
        Attempts(
            attempts=lead.attempts,
            unsolicited_attempts=lead.unsolicited_attempts,
            day_attempts=lead.day_attempts,
            day_attempts_date=lead.day_attempts_date,
        ),
        for_promise=for_promise,
        local_date=local_date,
    )
    lead.attempts = after.attempts
    lead.last_attempt_at = now
    lead.updated_at = now
    if for_promise:
        return
    lead.unsolicited_attempts = after.unsolicited_attempts
    lead.day_attempts_date = after.day_attempts_date
    lead.day_attempts = after.day_attempts


def count_attempt_raw(
    session: Session,
    raw: RawSql,
    *,
    lead_id: int,
    before: Attempts,
    for_promise: bool,
    local_date: str,
    now: datetime,
) -> Attempts:
    """`count_attempt` in hand-written SQL, for the dial (every call placed),
    whose lead is read raw: `before` is the counters as read in this
    transaction, after the session's flush. A lead the session holds is kept
    in step (its committed values set: nothing left to flush, nothing stale).
    Returns the counters now."""
    after = counted(before, for_promise=for_promise, local_date=local_date)
    at = raw.instant(now)
    raw.run(
        lifecycle_sql.COUNT_ATTEMPT,
        (
            after.attempts,
            after.unsolicited_attempts,
            after.day_attempts,
            after.day_attempts_date,
            at,
            at,
            lead_id,
        ),
    )
    keep_held_in_step(
        session,
        Lead,
        lead_id,
        (
            ("attempts", after.attempts),
            ("unsolicited_attempts", after.unsolicited_attempts),
            ("day_attempts", after.day_attempts),
            ("day_attempts_date", after.day_attempts_date),
            ("last_attempt_at", now),
            ("updated_at", now),
        ),
    )
    return after


def refund_attempt(
    session: Session,
    *,
    lead: Lead,
    for_promise: bool,
    local_date: str,
    actor: str,
    at: datetime,
    **detail: Any,
) -> None:
    """Undo `count_attempt` for an attempt the provider refused to place for a
    reason that is not the lead's (the account or the campaign is set up wrong,
    dialer.telephony.faults): nobody was called, so nothing counts against the
    caps. `local_date` is the day the attempt was counted on."""
    lead.attempts = max(lead.attempts - 1, 0)
    if not for_promise:
        lead.unsolicited_attempts = max(lead.unsolicited_attempts - 1, 0)
        if lead.day_attempts_date == local_date:
            lead.day_attempts = max(lead.day_attempts - 1, 0)
    lead.updated_at = at
    assert lead.id is not None
    history.record(
        session,
        lead_id=lead.id,
        kind="attempt_refunded",
        actor=actor,
        at=at,
        attempts=lead.attempts,
        **detail,
    )


def failed_once(counts: Mapping[str, int] | None, *, kind: str) -> dict[str, int]:
    """The failure counts once one more unanswered attempt of `kind` counts (the
    rule `count_failure` and the raw unanswered end, `unanswered_raw`, both apply)."""
    after = dict(counts or {})
    after[kind] = after.get(kind, 0) + 1
    return after


def count_failure(*, lead: Lead, kind: str) -> int:
    """One more unanswered attempt of `kind`; returns how many there are now."""
    counts = failed_once(lead.failure_counts, kind=kind)
    lead.failure_counts = counts
    lead.last_outcome = kind
    return counts[kind]


def note_outcome(*, lead: Lead, outcome: str) -> None:
    lead.last_outcome = outcome


def mark_abandoned(*, lead: Lead, at: datetime) -> None:
    """A call of the lead was abandoned (answered, no agent in time): no
    unreserved call again within the policy's `no_recall_hours`. The call's
    `call_abandoned` event is the history of it."""
    lead.abandoned_at = at
    lead.updated_at = at


# --- retries and deferrals --------------------------------------------------------


def schedule_retry(
    session: Session,
    *,
    lead: Lead,
    next_attempt_at: datetime,
    reason: NextAttemptReason,
    actor: str,
    at: datetime,
    detail: str,
) -> None:
    rule = check(Transition.schedule_retry, status=lead.status)
    lead.next_attempt_at = next_attempt_at
    lead.next_attempt_reason = reason
    assert lead.id is not None
    _retry_scheduled(
        session, lead_id=lead.id, next_attempt_at=next_attempt_at, reason=reason, actor=actor,
        at=at, detail=detail,
    )  # fmt: skip
    _move(session, lead=lead, to=rule.to, actor=actor, at=at)


def _retry_scheduled(
    session: Session,
    *,
    lead_id: int,
    next_attempt_at: datetime,
    reason: NextAttemptReason,
    actor: str,
    at: datetime,
    detail: str,
) -> None:
    """The event of a retry scheduled (`schedule_retry`, and the raw unanswered end)."""
    history.record(
        session, lead_id=lead_id, kind="retry_scheduled", actor=actor, at=at,
        next_attempt_at=next_attempt_at.isoformat(), rule=reason, detail=detail,
    )  # fmt: skip


def exhaust(session: Session, *, lead: Lead, actor: str, at: datetime, reason: str) -> None:
    rule = check(Transition.exhaust, status=lead.status)
    _clear_schedule(lead)
    _move(session, lead=lead, to=rule.to, actor=actor, at=at, reason=reason)


def defer(
    session: Session,
    *,
    lead: Lead,
    until: datetime | None,
    reason: NextAttemptReason,
    actor: str,
    at: datetime,
) -> None:
    """Held back by a rule that lifts at `until` (the daily cap: the next local
    day's opening), found at claim time."""
    rule = check(Transition.defer, status=lead.status)
    lead.next_attempt_at = until
    lead.next_attempt_reason = reason
    _move(session, lead=lead, to=rule.to, actor=actor, at=at, reason=reason.value)


def wait_for_promise(
    session: Session, *, lead: Lead, actor: str, at: datetime, **detail: Any
) -> None:
    """A promise stands (booked on this call, or booked earlier and not reached
    now): its time is the next attempt, as booked."""
    rule = check(Transition.wait_for_promise, status=lead.status)
    _move(session, lead=lead, to=rule.to, actor=actor, at=at, **detail)


def retry_now(session: Session, *, lead: Lead, actor: str, at: datetime, reason: str) -> None:
    """Go on at once (the household is still reachable on another phone)."""
    rule = check(Transition.retry_now, status=lead.status)
    lead.next_attempt_at = at
    lead.next_attempt_reason = NextAttemptReason.retry_delay
    _move(session, lead=lead, to=rule.to, actor=actor, at=at, reason=reason)


# --- claims -----------------------------------------------------------------------


def expire_claim(
    session: Session,
    *,
    lead: Lead,
    prev_status: str,
    actor: str,
    at: datetime,
    reason: str = "claim_expired",
) -> None:
    """An abandoned claim (or one whose agent was deactivated: `reason`) returns
    the lead to where it was. A promise booked while the lead was held decides
    what comes next, not the status before the claim."""
    if lead.status != LeadStatus.claimed:
        return  # the lead was closed (or released) while the claim was held
    check(Transition.expire_claim, status=lead.status)
    back = LeadStatus.scheduled if lead.promise_id is not None else prev_status
    _move(session, lead=lead, to=back, actor=actor, at=at, reason=reason)


# --- promises ---------------------------------------------------------------------


def _reserve(*, lead: Lead, due_at: datetime, owner_agent_id: int | None, until: datetime) -> None:
    """The promise tiers' columns: due at `due_at`, the owner's alone until `until`."""
    lead.next_attempt_at = due_at
    lead.next_attempt_reason = NextAttemptReason.promise
    lead.reserved_agent_id = owner_agent_id
    lead.reserved_until = until


def hold_for_promise(
    session: Session,
    *,
    lead: Lead,
    promise_id: int,
    due_at: datetime,
    owner_agent_id: int | None,
    window_end: datetime,
    actor: str,
    at: datetime,
) -> None:
    """Until `due_at` nobody gets the lead; until `window_end` only the owner
    (None: anyone)."""
    rule = check(Transition.hold_for_promise, status=lead.status)
    lead.promise_id = promise_id
    _reserve(lead=lead, due_at=due_at, owner_agent_id=owner_agent_id, until=window_end)
    # A lead claimed mid-call becomes `scheduled` when the claim is released.
    to = None if lead.status == LeadStatus.claimed else rule.to
    _move(session, lead=lead, to=to, actor=actor, at=at, reason="promise")


def follow_up_promise(
    session: Session,
    *,
    lead: Lead,
    due_at: datetime,
    owner_agent_id: int | None,
    grace: timedelta,
    actor: str,
    at: datetime,
) -> None:
    """A kept promise's call went unanswered: the same agent tries again, at
    `due_at`, theirs alone for the grace period."""
    rule = check(Transition.follow_up_promise, status=lead.status)
    _reserve(lead=lead, due_at=due_at, owner_agent_id=owner_agent_id, until=due_at + grace)
    _move(session, lead=lead, to=rule.to, actor=actor, at=at)


def keep_promise(*, lead: Lead) -> None:
    """The owner called in the window (or took the follow-up): no window is left
    to lapse."""
    lead.reserved_until = None


def release_promise(*, lead: Lead) -> None:
    """The lead leaves the promise tiers (the caller sets what comes next)."""
    lead.promise_id = None
    lead.reserved_agent_id = None
    lead.reserved_until = None
    if lead.next_attempt_reason == NextAttemptReason.promise:
        _clear_schedule(lead)


def lapse_reservation(*, lead: Lead, reassign: bool, at: datetime) -> None:
    """The window ended: the owner's exclusive hold goes (and with `reassign`,
    the owner: anyone may take it)."""
    lead.reserved_until = None
    lead.updated_at = at
    if reassign:
        lead.reserved_agent_id = None


def hand_over_promise(*, lead: Lead, agent_id: int | None, at: datetime) -> None:
    """The promise's owner was deactivated: its hold on the lead (a promise not yet
    kept, a follow-up, a missed promise kept for the owner) passes to `agent_id`,
    or to anyone (None). The schedule itself does not move."""
    check(Transition.hand_over_promise, status=lead.status)
    lead.reserved_agent_id = agent_id
    lead.updated_at = at


def reopen(session: Session, *, lead: Lead, actor: str, at: datetime, reason: str) -> None:
    """A cancelled promise gives the lead back to the pool: callable at once by the
    retry rules (the customer's request is gone, not the lead)."""
    release_promise(lead=lead)
    lead.updated_at = at
    if lead.status != LeadStatus.scheduled:
        return  # claimed: its release decides; closed: stays closed
    check(Transition.reopen, status=lead.status)
    if lead.attempts == 0:
        _set_status(session, lead=lead, status=LeadStatus.new, actor=actor, at=at, reason=reason)
        return
    lead.next_attempt_at = at
    lead.next_attempt_reason = NextAttemptReason.retry_delay


# --- closing ----------------------------------------------------------------------


def await_external(session: Session, *, lead: Lead, actor: str, at: datetime) -> None:
    """The customer will sign up themselves: nobody calls until the report comes."""
    rule = check(Transition.await_external, status=lead.status)
    _clear_schedule(lead)
    _move(session, lead=lead, to=rule.to, actor=actor, at=at)


_CLOSE_TRANSITION: dict[str, Transition] = {
    LeadStatus.converted: Transition.close_converted,
    LeadStatus.refused: Transition.close_refused,
    LeadStatus.dnc: Transition.close_dnc,
    LeadStatus.invalid: Transition.close_invalid,
}


def close(
    session: Session, *, lead: Lead, status: LeadStatus, actor: str, at: datetime, **detail: Any
) -> None:
    """Closed for good (converted, refused, dnc, invalid): no next attempt."""
    rule = check(_CLOSE_TRANSITION[status], status=lead.status)
    _clear_schedule(lead)
    _move(session, lead=lead, to=rule.to, actor=actor, at=at, **detail)


# --- an unanswered end, in hand-written SQL -----------------------------------------


@dataclass(frozen=True, slots=True)
class Unanswered:
    """What the lead's row says when its call ended unanswered, read raw in the
    transaction (after the session's flush)."""

    lead_id: int
    status: str
    failure_counts: Mapping[str, int] | None


def unanswered_raw(
    session: Session,
    raw: RawSql,
    *,
    lead: Unanswered,
    kind: str,
    next_attempt_at: datetime | None,
    reason: NextAttemptReason | None,
    actor: str,
    at: datetime,
    detail: str,
) -> None:
    """`count_failure` then `schedule_retry` (a next attempt) or `exhaust` (None),
    in hand-written SQL: the events of the ORM's transitions, in their order,
    and the lead's row in one UPDATE. The call's end is every call's that goes
    unanswered (most of a floor's). A lead the session holds is kept in step
    (its committed values set: nothing left to flush, nothing stale)."""
    counts = failed_once(lead.failure_counts, kind=kind)
    if next_attempt_at is not None and reason is not None:
        to = check(Transition.schedule_retry, status=lead.status).to
        _retry_scheduled(
            session, lead_id=lead.lead_id, next_attempt_at=next_attempt_at, reason=reason,
            actor=actor, at=at, detail=detail,
        )  # fmt: skip
        moved: dict[str, Any] = {}
    else:
        to = check(Transition.exhaust, status=lead.status).to
        next_attempt_at, reason = None, None
        moved = {"reason": detail}
    assert to is not None
    if to != lead.status:
        _status_changed(
            session, lead_id=lead.lead_id, old=lead.status, new=to, actor=actor, at=at, **moved
        )
    raw.run(
        lifecycle_sql.UNANSWERED,
        (
            to,
            raw.instant(next_attempt_at) if next_attempt_at is not None else None,
            reason,
            raw.json(counts),
            kind,
            raw.instant(at),
            lead.lead_id,
        ),
    )
    keep_held_in_step(
        session,
        Lead,
        lead.lead_id,
        (
            ("status", to),
            ("next_attempt_at", next_attempt_at),
            ("next_attempt_reason", reason),
            ("failure_counts", counts),
            ("last_outcome", kind),
            ("updated_at", at),
        ),
    )


# --- claims and imports: many rows, or every claim of the day, in hand-written SQL


def claim(
    raw: RawSql,
    *,
    lead_id: int,
    campaign_id: int,
    seen_status: str,
    agent_id: int | None,
    reason: str,
    now: datetime,
    expires_at: datetime,
) -> bool:
    """Mark the lead claimed (only if it still has the status the queue saw),
    record the claim and its event, in the same transaction: a claim never
    happens off the record. False when another request took the lead first.
    `agent_id` None: a dialer claim (predictive), the dialer's own until an
    agent takes the answered call."""
    check(Transition.claim, status=seen_status)
    at = raw.instant(now)
    lead_values = (at, lead_id, seen_status)
    claim_values = (
        lead_id, campaign_id, agent_id, reason, seen_status, at, raw.instant(expires_at),
    )  # fmt: skip
    event_values = event_row(
        raw,
        lead_id=lead_id,
        at=now,
        kind="claimed",
        actor=f"agent:{agent_id}" if agent_id is not None else "dialer",
        detail={
            "reason": reason,
            "old_status": seen_status,
            "claim_expires_at": expires_at.isoformat(),
        },
    )
    if is_postgres(raw):
        # One round trip for the three writes: every agent claims all day long.
        taken = raw.rows(
            lifecycle_sql.TAKE, lifecycle_sql.TAKE.params(lead_values, claim_values, event_values)
        )
        return bool(taken and taken[0][0] == 1)
    if raw.run(lifecycle_sql.MARK_CLAIMED, lead_values) != 1:
        return False
    raw.run(lifecycle_sql.INSERT_CLAIM, claim_values)
    raw.run(INSERT_EVENT, event_values)
    return True


# Staged leads are written by the importer's bulk SQL with this status.
STAGED_STATUS: str = LeadStatus.importing.value
_LEADS: Table = Lead.__table__  # type: ignore[attr-defined]


def activate_import(session: Session, *, import_id: int) -> None:
    """Every lead an import staged becomes `new` at once, when its last batch is in."""
    session.execute(
        update(_LEADS)
        .where(_LEADS.c.import_id == import_id, _LEADS.c.status == LeadStatus.importing)
        .values(status=LeadStatus.new)
    )


def staged_lead_ids(session: Session, *, import_id: int, limit: int) -> list[int]:
    return list(
        session.scalars(
            select(_LEADS.c.id)
            .where(_LEADS.c.import_id == import_id, _LEADS.c.status == LeadStatus.importing)
            .limit(limit)
        )
    )


def discard_staged(session: Session, *, lead_ids: list[int]) -> None:
    """A failed import's staged leads go (their phones, contacts and events first):
    nothing else has seen them."""
    for table in ("event", "contact", "phone"):
        rows: Table = SQLModel.metadata.tables[table]
        session.execute(delete(rows).where(rows.c.lead_id.in_(lead_ids)))
    session.execute(
        delete(_LEADS).where(_LEADS.c.id.in_(lead_ids), _LEADS.c.status == LeadStatus.importing)
    )
