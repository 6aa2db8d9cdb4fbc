"""What one progress report does to a call: a pure rule shared by the ORM path
and the webhook's hand-written fast path."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dialer.calls.models import CALL_STATUS_RANK, FINAL_CALL_STATUSES, AnsweredBy, CallStatus
from dialer.calls.retry import RetryKind

# Unanswered final statuses, and what the retry policy calls them.
UNANSWERED_KIND: dict[str, RetryKind] = {
    CallStatus.busy: RetryKind.busy,
    CallStatus.no_answer: RetryKind.no_answer,
    CallStatus.failed: RetryKind.failed,
    CallStatus.canceled: RetryKind.no_answer,
}


def reported_answered_by(
    told: AnsweredBy | None, *, status: str, detecting: bool
) -> AnsweredBy | None:
    """Who answered, from what the provider told (None: it said nothing). The one
    rule for a status callback and for a call settled by reconciliation, so a
    call whose callbacks were lost is recorded as its callbacks would have had
    it. Twilio says who answered only when machine detection is on. Without it,
    a call picked up is `unknown` (a voicemail picks up too) until the agent's
    disposition says a person spoke: contacts, talk time and credit count people."""
    if told is None and status == CallStatus.in_progress and not detecting:
        return AnsweredBy.unknown
    return told


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A call's new fields, and whether the system must now record the attempt
    as unanswered (`system_kind`)."""

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
    """A status only ever moves forward, so a repeated or late report is None
    (changes nothing). A call ending unanswered, or answered by a machine, is
    the system's to disposition."""
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
            elif status in UNANSWERED_KIND:
                kind = UNANSWERED_KIND[status]
    return StatusChange(status, new_answered_by, answered_at, ended_at, new_duration, kind)
