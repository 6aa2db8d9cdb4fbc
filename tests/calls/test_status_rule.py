"""The call status rule (`status_change`), table-driven: a status only moves
forward, a repeat or a late report changes nothing, and an unanswered end or a
machine is the system's to disposition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialer.calls.models import AnsweredBy, CallStatus
from dialer.calls.retry import RetryKind
from dialer.calls.status import reported_answered_by, status_change

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=40)
C = CallStatus

# (now, answered_by now, answered_at now, dispositioned, report, answered_by, duration)
#   → None, or (status, answered_by, answered_at, ended_at, duration, system kind)
CASES = [
    ("ringing", (C.queued, None, None, False, C.ringing, None, None),
     (C.ringing, None, None, None, None, None)),
    ("answered", (C.ringing, None, None, False, C.in_progress, "human", None),
     (C.in_progress, "human", T1, None, None, None)),
    ("repeat", (C.ringing, None, None, False, C.ringing, None, None), None),
    ("late ringing after answer", (C.in_progress, None, T0, False, C.ringing, None, None), None),
    ("after final", (C.completed, None, T0, True, C.no_answer, None, None), None),
    ("completed, duration given",
     (C.in_progress, "human", T0, False, C.completed, None, 33),
     (C.completed, "human", T0, T1, 33, None)),
    ("completed, duration from answer",
     (C.in_progress, "human", T0, False, C.completed, None, None),
     (C.completed, "human", T0, T1, 40, None)),
    ("no answer", (C.ringing, None, None, False, C.no_answer, None, None),
     (C.no_answer, None, None, T1, 0, RetryKind.no_answer)),
    ("busy", (C.queued, None, None, False, C.busy, None, None),
     (C.busy, None, None, T1, 0, RetryKind.busy)),
    ("failed", (C.queued, None, None, False, C.failed, None, None),
     (C.failed, None, None, T1, 0, RetryKind.failed)),
    ("canceled counts as no answer", (C.ringing, None, None, False, C.canceled, None, None),
     (C.canceled, None, None, T1, 0, RetryKind.no_answer)),
    ("machine", (C.in_progress, "machine", T0, False, C.completed, None, 12),
     (C.completed, "machine", T0, T1, 12, RetryKind.machine)),
    ("machine reported with the end", (C.in_progress, None, T0, False, C.completed, "machine", 5),
     (C.completed, "machine", T0, T1, 5, RetryKind.machine)),
    ("agent dispositioned first", (C.ringing, None, None, True, C.no_answer, None, None),
     (C.no_answer, None, None, T1, 0, None)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "given", "expected"), CASES, ids=[c[0] for c in CASES])
def test_status_change(name: str, given: tuple, expected: tuple | None) -> None:  # type: ignore[type-arg]
    now, by_now, answered_now, dispositioned, status, by, duration = given
    change = status_change(
        status_now=now, answered_by_now=by_now, answered_at_now=answered_now, duration_now=None,
        dispositioned=dispositioned, status=status, answered_by=by, at=T1, duration=duration,
    )  # fmt: skip
    if expected is None:
        assert change is None
        return
    assert change is not None
    got = (change.status, change.answered_by, change.answered_at, change.ended_at,
           change.duration, change.system_kind)  # fmt: skip
    assert got == expected


# (told, status reported, machine detection on) → answered_by recorded
ANSWERED_BY_CASES = [
    (
        "no AMD, answered: unknown until the disposition",
        (None, C.in_progress, False),
        AnsweredBy.unknown,
    ),
    ("no AMD, ringing: nobody yet", (None, C.ringing, False), None),
    ("no AMD, completed: as recorded at the answer", (None, C.completed, False), None),
    ("AMD on, verdict pending", (None, C.in_progress, True), None),
    ("AMD says machine", (AnsweredBy.machine, C.in_progress, True), AnsweredBy.machine),
    ("AMD says human at the end", (AnsweredBy.human, C.completed, True), AnsweredBy.human),
    ("told, even without AMD", (AnsweredBy.machine, C.in_progress, False), AnsweredBy.machine),
]


@pytest.mark.parametrize(
    ("given", "expected"),
    [pytest.param(g, e, id=name) for name, g, e in ANSWERED_BY_CASES],
)
def test_reported_answered_by(
    given: tuple[AnsweredBy | None, CallStatus, bool], expected: AnsweredBy | None
) -> None:
    told, status, detecting = given
    assert reported_answered_by(told, status=status, detecting=detecting) == expected
