"""The lead lifecycle's state table: every transition from every status is
either allowed (the table says so) or refused with IllegalTransition. The table
in the module's docstring is checked against the data, so the two cannot drift."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dialer.leads import lifecycle
from dialer.leads.lifecycle import TRANSITIONS, IllegalTransition, Transition, check
from dialer.leads.models import Event, Lead, LeadStatus, NextAttemptReason

S = LeadStatus
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)

# The table as the product states it (DESIGN: who may move a lead where).
EXPECTED_FROM: dict[Transition, set[str]] = {
    Transition.stage: set(),
    Transition.activate: {S.importing},
    Transition.discard: {S.importing},
    Transition.claim: {S.new, S.scheduled},
    Transition.expire_claim: {S.claimed},
    Transition.schedule_retry: {S.claimed, S.scheduled, S.new},
    Transition.defer: {S.new, S.scheduled},
    Transition.wait_for_promise: {S.claimed, S.scheduled},
    Transition.retry_now: {S.claimed},
    Transition.hold_for_promise: {S.new, S.scheduled, S.claimed, S.awaiting_external, S.exhausted},
    Transition.follow_up_promise: {S.claimed, S.scheduled},
    Transition.keep_promise: {S.claimed},
    Transition.release_promise: set(S),
    Transition.lapse_reservation: set(S),
    Transition.hand_over_promise: set(S),
    Transition.reopen: {S.scheduled},
    Transition.await_external: {S.claimed},
    Transition.close_converted: set(S) - {S.importing},
    Transition.close_refused: {S.claimed, S.converted, S.refused, S.dnc},
    Transition.close_dnc: {
        S.claimed,
        S.converted,
        S.refused,
        S.dnc,
        S.new,
        S.scheduled,
        S.awaiting_external,
        S.exhausted,
    },
    Transition.close_invalid: {S.claimed, S.new, S.scheduled},
    Transition.exhaust: {S.claimed, S.scheduled, S.new},
}

CELLS = [(t, s) for t in Transition for s in LeadStatus]


@pytest.mark.parametrize(("transition", "status"), CELLS, ids=[f"{t}-{s}" for t, s in CELLS])
def test_every_transition_from_every_status(transition: Transition, status: LeadStatus) -> None:
    if status in EXPECTED_FROM[transition]:
        assert check(transition, status=status) is TRANSITIONS[transition]
    else:
        with pytest.raises(IllegalTransition):
            check(transition, status=status)


def test_every_transition_has_a_row() -> None:
    assert set(TRANSITIONS) == set(Transition) == set(EXPECTED_FROM)


def _docstring_rows() -> dict[str, str]:
    """transition name → its 'from' cell, continuation lines joined."""
    doc = lifecycle.__doc__ or ""
    table = doc[doc.index("transition         from") :].split("\n\n")[0].splitlines()[1:]
    rows: dict[str, str] = {}
    last = ""
    for line in table:
        name, cell = line[4:23].strip(), line[23:58].strip()
        if name:
            last = name
            rows[last] = cell
        else:
            rows[last] = f"{rows[last]} {cell}".strip()
    return rows


def test_the_docstring_table_is_the_data() -> None:
    rows = _docstring_rows()
    assert set(rows) == {t.value for t in Transition}
    for transition, allowed in EXPECTED_FROM.items():
        cell = rows[transition.value]
        if cell == "any":
            named = set(S)
        elif cell == "any but importing":
            named = set(S) - {S.importing}
        else:
            named = set(re.findall(r"[a-z_]+", cell)) & {s.value for s in S}
        assert named == {s.value for s in allowed}, transition


class Recorder:
    """Stands in for the session: history writes are `session.add(Event)`."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(self, row: Any) -> None:
        self.events.append(row)


def _lead(status: str, **fields: Any) -> Lead:
    return Lead(id=7, campaign_id=1, timezone="Asia/Tokyo", status=status, failure_counts={},
                extra={}, raw={}, created_at=NOW, updated_at=NOW, **fields)  # fmt: skip


def _kinds(rec: Recorder) -> list[tuple[str, dict[str, Any]]]:
    return [(e.kind, dict(e.detail)) for e in rec.events]


def test_schedule_retry_records_the_rule_then_the_status() -> None:
    rec, lead = Recorder(), _lead(S.claimed)
    at = NOW + timedelta(minutes=30)
    lifecycle.schedule_retry(rec, lead=lead, next_attempt_at=at,  # type: ignore[arg-type]
                             reason=NextAttemptReason.retry_delay, actor="system", at=NOW,
                             detail="no_answer #1")  # fmt: skip
    assert (lead.status, lead.next_attempt_at, lead.next_attempt_reason) == (
        S.scheduled, at, NextAttemptReason.retry_delay,
    )  # fmt: skip
    assert [k for k, _ in _kinds(rec)] == ["retry_scheduled", "status_changed"]


def test_close_clears_the_schedule_and_refuses_a_staged_lead() -> None:
    rec, lead = Recorder(), _lead(S.scheduled, next_attempt_at=NOW,
                                  next_attempt_reason=NextAttemptReason.retry_delay)  # fmt: skip
    lifecycle.close(rec, lead=lead, status=S.dnc, actor="system", at=NOW)  # type: ignore[arg-type]
    assert (lead.status, lead.next_attempt_at, lead.next_attempt_reason) == (S.dnc, None, None)
    assert _kinds(rec) == [("status_changed", {"old": "scheduled", "new": "dnc"})]
    with pytest.raises(IllegalTransition):
        lifecycle.close(Recorder(), lead=_lead(S.importing), status=S.converted,  # type: ignore[arg-type]
                        actor="system", at=NOW)  # fmt: skip


def test_hold_for_promise_keeps_a_claimed_lead_claimed() -> None:
    rec, lead = Recorder(), _lead(S.claimed)
    end = NOW + timedelta(minutes=15)
    lifecycle.hold_for_promise(
        rec,  # type: ignore[arg-type]
        lead=lead, promise_id=3, due_at=NOW, owner_agent_id=2, window_end=end, actor="agent:2",
        at=NOW,
    )  # fmt: skip
    assert (lead.status, lead.promise_id, lead.reserved_agent_id, lead.reserved_until) == (
        S.claimed, 3, 2, end,
    )  # fmt: skip
    assert lead.next_attempt_reason == NextAttemptReason.promise
    assert rec.events == []
    lifecycle.release_promise(lead=lead)
    assert (lead.promise_id, lead.reserved_agent_id, lead.reserved_until) == (None, None, None)
    assert (lead.next_attempt_at, lead.next_attempt_reason) == (None, None)


@pytest.mark.parametrize(
    ("attempts", "status", "next_attempt_at"),
    [(0, S.new, None), (2, S.scheduled, NOW)],
)
def test_reopen_returns_a_cancelled_promise_lead_to_the_pool(
    attempts: int, status: str, next_attempt_at: datetime | None
) -> None:
    lead = _lead(S.scheduled, attempts=attempts, promise_id=3,
                 next_attempt_reason=NextAttemptReason.promise, next_attempt_at=NOW)  # fmt: skip
    lifecycle.reopen(Recorder(), lead=lead, actor="agent:2", at=NOW, reason="promise cancelled")  # type: ignore[arg-type]
    assert (lead.status, lead.promise_id, lead.next_attempt_at) == (status, None, next_attempt_at)


@pytest.mark.parametrize(
    ("promise_id", "prev", "back"),
    [(None, S.new, S.new), (None, S.scheduled, S.scheduled), (3, S.new, S.scheduled)],
)
def test_an_expired_claim_returns_the_lead(promise_id: int | None, prev: str, back: str) -> None:
    lead = _lead(S.claimed, promise_id=promise_id)
    lifecycle.expire_claim(Recorder(), lead=lead, prev_status=prev, actor="system", at=NOW)  # type: ignore[arg-type]
    assert lead.status == back


def test_count_attempt_caps_only_unsolicited_calls_per_local_day() -> None:
    lead = _lead(S.claimed, day_attempts=3, day_attempts_date="2026-11-30")
    lifecycle.count_attempt(lead=lead, for_promise=False, local_date="2026-12-01", now=NOW)
    assert (lead.attempts, lead.unsolicited_attempts, lead.day_attempts) == (1, 1, 1)
    lifecycle.count_attempt(lead=lead, for_promise=True, local_date="2026-12-01", now=NOW)
    assert (lead.attempts, lead.unsolicited_attempts, lead.day_attempts) == (2, 1, 1)
