"""The queue diagnosis counts each group of leads under one rule, the first that holds."""

from __future__ import annotations

import pytest

from dialer.leads.eligibility import BlockRule
from dialer.leads.models import LeadStatus, NextAttemptReason
from dialer.views.queue import queue_rule

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
