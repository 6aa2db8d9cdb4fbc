"""The queue diagnosis counts each group of leads under one rule, the first that
holds, and picks what lifts first when nothing is callable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialer.leads.eligibility import BlockRule
from dialer.leads.models import LeadStatus, NextAttemptReason
from dialer.leads.schemas import IdleReason, QueueOut
from dialer.views.queue import Diagnosis, Outlook, campaigns_outlook, outlook, queue_rule, soonest

OPEN = None
S, R = LeadStatus, NextAttemptReason

# (status, due, reason, paused, zone closed by, expected rule; None: callable now)
CASES: list[tuple[str, bool, str | None, bool, str | None, BlockRule | None]] = [
    (S.new, True, None, False, OPEN, None),
    (S.scheduled, True, R.retry_delay, False, OPEN, None),
    (S.scheduled, True, R.promise, False, OPEN, None),
    (S.new, True, None, False, "calling_hours", BlockRule.calling_hours),
    (S.new, True, None, False, "holiday", BlockRule.holiday),
    (S.scheduled, False, R.retry_delay, False, OPEN, BlockRule.retry_delay),
    (S.scheduled, False, None, False, OPEN, BlockRule.retry_delay),
    (S.scheduled, False, R.calling_hours, False, OPEN, BlockRule.retry_delay),
    (S.scheduled, False, R.daily_limit, False, OPEN, BlockRule.daily_limit),
    (S.scheduled, False, R.promise, False, OPEN, BlockRule.promise_pending),
    # Not due wins over closed hours: the schedule is what holds it.
    (S.scheduled, False, R.promise, False, "calling_hours", BlockRule.promise_pending),
    # A paused campaign holds every lead that is neither final nor claimed.
    (S.new, True, None, True, OPEN, BlockRule.campaign_paused),
    (S.scheduled, False, R.daily_limit, True, "holiday", BlockRule.campaign_paused),
    (S.claimed, True, None, True, OPEN, BlockRule.claimed),
    (S.claimed, False, R.retry_delay, False, "calling_hours", BlockRule.claimed),
    (S.awaiting_external, True, None, False, OPEN, BlockRule.terminal_status),
    *[
        (status, True, None, True, "calling_hours", BlockRule.terminal_status)
        for status in (S.converted, S.refused, S.dnc, S.exhausted, S.invalid)
    ],
]


@pytest.mark.parametrize(("status", "due", "reason", "paused", "closed", "expected"), CASES)
def test_each_group_counts_under_the_first_rule_that_holds(
    status: str,
    due: bool,
    reason: str | None,
    paused: bool,
    closed: str | None,
    expected: BlockRule | None,
) -> None:
    got = queue_rule(
        status=status, due=due, reason=reason, paused=paused, closed_reason=lambda: closed
    )
    assert got == expected
    assert got is None or isinstance(got, BlockRule)


# Seen by one agent, a promise lead that is another agent's until its window ends.
RESERVED_CASES: list[tuple[str, bool, bool, str | None, BlockRule | None]] = [
    (S.scheduled, True, False, OPEN, BlockRule.promise_pending),
    (S.scheduled, False, False, OPEN, BlockRule.promise_pending),
    (S.scheduled, True, False, "holiday", BlockRule.promise_pending),
    (S.scheduled, True, True, OPEN, BlockRule.campaign_paused),
    (S.claimed, True, False, OPEN, BlockRule.claimed),
    (S.converted, True, False, OPEN, BlockRule.terminal_status),
]


@pytest.mark.parametrize(("status", "due", "paused", "closed", "expected"), RESERVED_CASES)
def test_another_agents_promise_lead_is_pending_for_this_one(
    status: str, due: bool, paused: bool, closed: str | None, expected: BlockRule | None
) -> None:
    got = queue_rule(
        status=status,
        due=due,
        reason=R.promise,
        paused=paused,
        closed_reason=lambda: closed,
        reserved_for_other=True,
    )
    assert got == expected


@pytest.mark.parametrize(
    ("status", "due", "paused"),
    [
        (S.converted, True, False),
        (S.claimed, True, False),
        (S.new, True, True),
        (S.new, False, False),
    ],
)
def test_hours_are_asked_only_when_they_decide(status: str, due: bool, paused: bool) -> None:
    asked: list[bool] = []

    def closed() -> str | None:
        asked.append(True)
        return None

    queue_rule(status=status, due=due, reason=None, paused=paused, closed_reason=closed)
    assert asked == []


NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


W = IdleReason
NO_LEADS = outlook(on=W.no_leads, at=None)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param([], NO_LEADS, id="nothing-waiting"),
        pytest.param(
            [outlook(on=W.retry_delay, at=at(30)), outlook(on=W.calling_hours, at=at(10))],
            (W.calling_hours, at(10)),
            id="earliest-wins",
        ),
        pytest.param(
            [outlook(on=W.retry_delay, at=at(10)), outlook(on=W.claimed, at=at(10))],
            (W.retry_delay, at(10)),
            id="tie-first-given",
        ),
        pytest.param(
            [outlook(on=W.promise_pending, at=None), outlook(on=W.claimed, at=at(15))],
            (W.claimed, at(15)),
            id="an-instant-beats-no-end",
        ),
        pytest.param(
            [outlook(on=W.promise_pending, at=None)], NO_LEADS, id="no-instant-is-otherwise"
        ),
    ],
)
def test_soonest(given: list[Outlook], expected: Outlook | tuple[IdleReason, datetime]) -> None:
    got = soonest(given, otherwise=NO_LEADS)
    if isinstance(expected, tuple):
        assert (got.on, got.at) == expected
    else:
        assert got == expected


def _campaign(found: Outlook) -> Diagnosis:
    out = QueueOut(
        campaign_id=1,
        callable_now=0 if found.on else 1,
        blocked={},
        promises_due=0,
        next_due_at=None,
        next_callable_at=found.at,
        waiting_on=found.on,
        zones=[],
    )
    return Diagnosis(out=out, outlook=found)


PAUSED = outlook(on=W.campaign_paused, at=None)
PENDING_FOR_GOOD = outlook(on=W.promise_pending, at=None)
READY = outlook(on=None, at=NOW)


@pytest.mark.parametrize(
    ("campaigns", "contended", "expected"),
    [
        pytest.param([], False, (W.no_campaigns, None), id="no-campaigns"),
        pytest.param([READY], False, (None, NOW), id="callable-now"),
        pytest.param([NO_LEADS, READY], True, (W.contended, NOW), id="callable-but-not-claimed"),
        pytest.param(
            [outlook(on=W.holiday, at=at(600)), outlook(on=W.retry_delay, at=at(5))],
            False,
            (W.retry_delay, at(5)),
            id="soonest-campaign",
        ),
        pytest.param([NO_LEADS, PAUSED], False, (W.campaign_paused, None), id="paused-over-empty"),
        pytest.param(
            [PAUSED, PENDING_FOR_GOOD, NO_LEADS],
            False,
            (W.promise_pending, None),
            id="held-leads-over-paused",
        ),
        pytest.param([NO_LEADS, NO_LEADS], False, (W.no_leads, None), id="all-empty"),
    ],
)
def test_one_agent_over_its_campaigns(
    campaigns: list[Outlook],
    contended: bool,
    expected: tuple[IdleReason | None, datetime | None],
) -> None:
    got = campaigns_outlook([_campaign(c) for c in campaigns], contended=contended)
    assert (got.on, got.at) == expected
    assert got.detail
