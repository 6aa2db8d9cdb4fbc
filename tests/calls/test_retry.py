"""When to call again: delay ladders, caps and calling hours, as a pure decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from helpers import jst, utc

from dialer.calls.best_hour import HourStats
from dialer.calls.retry import RetryDecision, RetryKind, decide_next, ladder_delay
from dialer.campaign.hours import CallingHours
from dialer.campaign.models import RetryTiming
from dialer.campaign.schemas import RetryPolicy
from dialer.leads.models import NextAttemptReason

DEFAULT_RULES = [
    {"days": "mon-fri", "start": "09:00", "end": "20:00"},
    {"days": "sat", "start": "10:00", "end": "18:00"},
]
TOKYO = CallingHours.from_spec(rules=DEFAULT_RULES, timezone="Asia/Tokyo", holiday_region="JP")
TOKYO_NO_HOLIDAYS = CallingHours.from_spec(
    rules=DEFAULT_RULES, timezone="Asia/Tokyo", holiday_region=None
)
NEW_YORK = CallingHours.from_spec(
    rules=[{"days": "daily", "start": "09:00", "end": "20:00"}],
    timezone="America/New_York",
    holiday_region=None,
)

# Every kind gets its own, recognisable ladder.
LADDERS = RetryPolicy(
    no_answer=[100, 200, 300],
    busy=[110, 220],
    machine=[120],
    failed=[130, 260, 390, 520],
    not_interested=[140, 280],
    max_attempts=50,
    max_attempts_per_day=50,
)


@pytest.mark.parametrize(
    ("ladder", "failures", "expected"),
    [
        pytest.param([1800, 7200, 86400], 1, 1800, id="first-failure-first-delay"),
        pytest.param([1800, 7200, 86400], 2, 7200, id="second-failure-second-delay"),
        pytest.param([1800, 7200, 86400], 3, 86400, id="third-failure-third-delay"),
        pytest.param([1800, 7200, 86400], 4, 86400, id="last-delay-repeats"),
        pytest.param([1800, 7200, 86400], 25, 86400, id="last-delay-repeats-forever"),
        pytest.param([3600], 1, 3600, id="single-delay"),
        pytest.param([3600], 7, 3600, id="single-delay-repeats"),
        pytest.param([600, 1800], 0, 600, id="no-failure-counted-yet-uses-first"),
    ],
)
def test_ladder_delay(ladder: list[int], failures: int, expected: int) -> None:
    assert ladder_delay(ladder, failures_of_kind=failures) == expected


def decide(**overrides: Any) -> RetryDecision:
    args: dict[str, Any] = {
        "kind": RetryKind.no_answer,
        "policy": RetryPolicy(),
        "failures_of_kind": 1,
        "unsolicited_attempts": 1,
        "day_attempts": 1,
        "final_at": jst(2026, 12, 1, 10, 0),  # Tuesday morning in Tokyo
        "hours": TOKYO,
    }
    args.update(overrides)
    return decide_next(**args)


@pytest.mark.parametrize(
    ("kind", "failures", "expected"),
    [
        pytest.param(RetryKind.no_answer, 1, jst(2026, 12, 1, 10, 1, 40), id="no_answer-1st"),
        pytest.param(RetryKind.no_answer, 3, jst(2026, 12, 1, 10, 5), id="no_answer-3rd"),
        pytest.param(RetryKind.no_answer, 4, jst(2026, 12, 1, 10, 5), id="no_answer-repeats"),
        pytest.param(RetryKind.busy, 1, jst(2026, 12, 1, 10, 1, 50), id="busy-1st"),
        pytest.param(RetryKind.busy, 2, jst(2026, 12, 1, 10, 3, 40), id="busy-2nd"),
        pytest.param(RetryKind.busy, 3, jst(2026, 12, 1, 10, 3, 40), id="busy-repeats"),
        pytest.param(RetryKind.machine, 1, jst(2026, 12, 1, 10, 2), id="machine-1st"),
        pytest.param(RetryKind.machine, 5, jst(2026, 12, 1, 10, 2), id="machine-repeats"),
        pytest.param(RetryKind.failed, 2, jst(2026, 12, 1, 10, 4, 20), id="failed-2nd"),
        pytest.param(RetryKind.failed, 4, jst(2026, 12, 1, 10, 8, 40), id="failed-4th"),
        pytest.param(
            RetryKind.not_interested, 1, jst(2026, 12, 1, 10, 2, 20), id="not_interested-1st"
        ),
        pytest.param(
            RetryKind.not_interested, 2, jst(2026, 12, 1, 10, 4, 40), id="not_interested-2nd"
        ),
    ],
)
def test_each_kind_uses_its_own_ladder(kind: RetryKind, failures: int, expected: datetime) -> None:
    decision = decide(kind=kind, policy=LADDERS, failures_of_kind=failures)
    assert decision.next_attempt_at == expected
    assert decision.reason == NextAttemptReason.retry_delay
    assert decision.exhausted is False


@pytest.mark.parametrize(
    ("overrides", "expected_at", "expected_reason"),
    [
        # Default policy: no_answer 1800/7200/86400, busy 600/1800/7200, machine 14400/86400.
        pytest.param(
            {},
            jst(2026, 12, 1, 10, 30),
            NextAttemptReason.retry_delay,
            id="no_answer-30-minutes-later",
        ),
        pytest.param(
            {"failures_of_kind": 2},
            jst(2026, 12, 1, 12, 0),
            NextAttemptReason.retry_delay,
            id="no_answer-second-failure-2-hours",
        ),
        pytest.param(
            {"failures_of_kind": 3},
            jst(2026, 12, 2, 10, 0),
            NextAttemptReason.retry_delay,
            id="no_answer-third-failure-next-day",
        ),
        pytest.param(
            {"final_at": jst(2026, 12, 1, 19, 0), "failures_of_kind": 2},
            jst(2026, 12, 2, 9, 0),
            NextAttemptReason.retry_delay,
            id="retry-after-20:00-moves-to-next-morning",
        ),
        pytest.param(
            {"final_at": jst(2026, 12, 1, 19, 29), "failures_of_kind": 1},
            jst(2026, 12, 1, 19, 59),
            NextAttemptReason.retry_delay,
            id="retry-just-before-20:00-stays",
        ),
        pytest.param(
            {"final_at": jst(2026, 12, 1, 19, 30), "failures_of_kind": 1},
            jst(2026, 12, 2, 9, 0),
            NextAttemptReason.retry_delay,
            id="retry-at-20:00-exactly-moves-to-next-morning",
        ),
        pytest.param(
            {"kind": RetryKind.busy, "final_at": jst(2026, 12, 4, 19, 55)},
            jst(2026, 12, 5, 10, 0),
            NextAttemptReason.retry_delay,
            id="friday-evening-to-saturday-opening",
        ),
        pytest.param(
            {"kind": RetryKind.busy, "final_at": jst(2026, 12, 5, 17, 55)},
            jst(2026, 12, 7, 9, 0),
            NextAttemptReason.retry_delay,
            id="saturday-evening-to-monday",
        ),
        pytest.param(
            {"kind": RetryKind.busy, "final_at": jst(2026, 11, 21, 17, 55)},
            jst(2026, 11, 24, 9, 0),
            NextAttemptReason.retry_delay,
            id="saturday-evening-skips-holiday-monday",
        ),
        pytest.param(
            {
                "kind": RetryKind.busy,
                "final_at": jst(2026, 11, 21, 17, 55),
                "hours": TOKYO_NO_HOLIDAYS,
            },
            jst(2026, 11, 23, 9, 0),
            NextAttemptReason.retry_delay,
            id="holiday-monday-callable-without-region",
        ),
        pytest.param(
            {
                "kind": RetryKind.machine,
                "failures_of_kind": 2,
                "final_at": jst(2026, 12, 31, 10, 0),
            },
            jst(2027, 1, 2, 10, 0),
            NextAttemptReason.retry_delay,
            id="retry-landing-on-new-years-day-moves-past-it",
        ),
        pytest.param(
            {"failures_of_kind": 2, "final_at": jst(2026, 5, 2, 17, 0)},
            jst(2026, 5, 7, 9, 0),
            NextAttemptReason.retry_delay,
            id="retry-moves-past-golden-week",
        ),
        pytest.param(
            {"kind": RetryKind.not_interested, "final_at": jst(2026, 11, 16, 10, 0)},
            jst(2026, 11, 24, 9, 0),
            NextAttemptReason.retry_delay,
            id="one-week-later-is-a-holiday",
        ),
    ],
)
def test_retry_lands_inside_calling_hours(
    overrides: dict[str, Any], expected_at: datetime, expected_reason: NextAttemptReason
) -> None:
    decision = decide(**overrides)
    assert decision.exhausted is False
    assert decision.next_attempt_at == expected_at
    assert decision.reason == expected_reason


@pytest.mark.parametrize(
    ("overrides", "expected_at", "expected_reason"),
    [
        pytest.param(
            {"day_attempts": 3},
            jst(2026, 12, 2, 9, 0),
            NextAttemptReason.daily_limit,
            id="daily-limit-next-local-day-opening",
        ),
        pytest.param(
            {"day_attempts": 2},
            jst(2026, 12, 1, 10, 30),
            NextAttemptReason.retry_delay,
            id="below-daily-limit-plain-delay",
        ),
        pytest.param(
            {"day_attempts": 4},
            jst(2026, 12, 2, 9, 0),
            NextAttemptReason.daily_limit,
            id="over-daily-limit-next-local-day-opening",
        ),
        pytest.param(
            {"day_attempts": 3, "final_at": jst(2026, 12, 4, 11, 0)},
            jst(2026, 12, 5, 10, 0),
            NextAttemptReason.daily_limit,
            id="daily-limit-friday-to-saturday-opening",
        ),
        pytest.param(
            {"day_attempts": 3, "final_at": jst(2026, 11, 20, 11, 0)},
            jst(2026, 11, 21, 10, 0),
            NextAttemptReason.daily_limit,
            id="daily-limit-friday-before-holiday-weekend",
        ),
        pytest.param(
            {"day_attempts": 3, "final_at": jst(2026, 11, 21, 11, 0)},
            jst(2026, 11, 24, 9, 0),
            NextAttemptReason.daily_limit,
            id="daily-limit-next-day-sunday-then-holiday",
        ),
        # The daily limit counts local days: Tuesday 19:30 in New York is already
        # Wednesday in UTC, yet the next local day is Wednesday, opening 09:00 EST.
        pytest.param(
            {"day_attempts": 3, "final_at": utc(2026, 12, 2, 0, 30), "hours": NEW_YORK},
            utc(2026, 12, 2, 14, 0),
            NextAttemptReason.daily_limit,
            id="daily-limit-uses-the-local-day-not-the-utc-day",
        ),
        # A delay that already reaches past tomorrow's opening is just a delay.
        pytest.param(
            {"day_attempts": 3, "kind": RetryKind.machine, "failures_of_kind": 2},
            jst(2026, 12, 2, 10, 0),
            NextAttemptReason.retry_delay,
            id="long-delay-beyond-next-day-keeps-retry-reason",
        ),
        # New York springs forward on 8 March 2026: Sunday 09:00 is 13:00 UTC.
        pytest.param(
            {"day_attempts": 3, "final_at": utc(2026, 3, 7, 20, 0), "hours": NEW_YORK},
            utc(2026, 3, 8, 13, 0),
            NextAttemptReason.daily_limit,
            id="daily-limit-on-spring-forward-day",
        ),
        pytest.param(
            {"day_attempts": 3, "final_at": utc(2026, 10, 31, 20, 0), "hours": NEW_YORK},
            utc(2026, 11, 1, 14, 0),
            NextAttemptReason.daily_limit,
            id="daily-limit-on-fall-back-day",
        ),
    ],
)
def test_daily_limit(
    overrides: dict[str, Any], expected_at: datetime, expected_reason: NextAttemptReason
) -> None:
    decision = decide(**overrides)
    assert decision.exhausted is False
    assert decision.next_attempt_at == expected_at
    assert decision.reason == expected_reason


@pytest.mark.parametrize(
    ("overrides", "exhausted"),
    [
        pytest.param({"unsolicited_attempts": 6}, True, id="max-attempts-reached"),
        pytest.param({"unsolicited_attempts": 7}, True, id="over-max-attempts"),
        pytest.param({"unsolicited_attempts": 5}, False, id="one-attempt-left"),
        pytest.param(
            {"unsolicited_attempts": 6, "day_attempts": 3},
            True,
            id="max-attempts-wins-over-daily-limit",
        ),
        pytest.param(
            {"unsolicited_attempts": 2, "policy": RetryPolicy(max_attempts=2)},
            True,
            id="custom-max-attempts",
        ),
        pytest.param(
            {"unsolicited_attempts": 1, "policy": RetryPolicy(max_attempts=1)},
            True,
            id="single-attempt-campaign",
        ),
    ],
)
def test_max_attempts_exhausts(overrides: dict[str, Any], exhausted: bool) -> None:
    decision = decide(**overrides)
    assert decision.exhausted is exhausted
    if exhausted:
        assert decision.next_attempt_at is None
        assert decision.reason is None
        assert "max_attempts" in decision.detail
    else:
        assert decision.next_attempt_at == jst(2026, 12, 1, 10, 30)


def test_no_calling_hours_ahead_exhausts() -> None:
    never = CallingHours.from_spec(rules=[], timezone="Asia/Tokyo", holiday_region="JP")
    decision = decide(hours=never)
    assert decision == RetryDecision(None, None, True, "no calling hours ahead")


# --- best-hour timing -------------------------------------------------------------

# Tokyo answers best at 15:00 (60%), the other open hours 10%.
BEST_AT_15 = {h: HourStats(attempts=300, answered=30) for h in range(9, 20)} | {
    15: HourStats(attempts=300, answered=180)
}


@pytest.mark.parametrize(
    ("overrides", "expected_at"),
    [
        pytest.param({}, jst(2026, 12, 1, 10, 30), id="fixed-is-the-ladder"),
        pytest.param(
            {"timing": RetryTiming.fixed, "hour_stats": BEST_AT_15},
            jst(2026, 12, 1, 10, 30),
            id="fixed-ignores-the-stats",
        ),
        pytest.param(
            {"timing": RetryTiming.best_hour, "hour_stats": None},
            jst(2026, 12, 1, 10, 30),
            id="best-hour-nothing-learned-is-the-ladder",
        ),
        pytest.param(
            {"timing": RetryTiming.best_hour, "hour_stats": {}},
            jst(2026, 12, 1, 10, 30),
            id="best-hour-empty-stats-is-the-ladder",
        ),
        pytest.param(
            {"timing": RetryTiming.best_hour, "hour_stats": BEST_AT_15},
            jst(2026, 12, 1, 15, 0),
            id="best-hour-moves-a-no-answer",
        ),
        pytest.param(
            {"timing": RetryTiming.best_hour, "hour_stats": BEST_AT_15, "kind": RetryKind.machine},
            jst(2026, 12, 1, 15, 0),
            id="best-hour-moves-a-machine",
        ),
        pytest.param(
            {"timing": RetryTiming.best_hour, "hour_stats": BEST_AT_15, "kind": RetryKind.busy},
            jst(2026, 12, 1, 10, 10),
            id="busy-keeps-its-short-ladder",
        ),
        pytest.param(
            {
                "timing": RetryTiming.best_hour,
                "hour_stats": BEST_AT_15,
                "final_at": jst(2026, 12, 1, 15, 30),
            },
            jst(2026, 12, 2, 15, 0),
            id="past-the-best-hour-waits-for-tomorrows",
        ),
        pytest.param(
            {
                "timing": RetryTiming.best_hour,
                "hour_stats": BEST_AT_15,
                "day_attempts": 3,
                "policy": RetryPolicy(max_attempts_per_day=3),
            },
            jst(2026, 12, 2, 15, 0),
            id="daily-cap-then-the-next-days-best-hour",
        ),
        pytest.param(
            {"timing": RetryTiming.best_hour, "hour_stats": BEST_AT_15, "failures_of_kind": 2},
            jst(2026, 12, 1, 15, 0),
            id="never-before-the-ladder-2h-delay-still-15",
        ),
    ],
)
def test_best_hour_timing(overrides: dict[str, Any], expected_at: datetime) -> None:
    decision = decide(**overrides, seed="lead-1:1")
    assert decision.exhausted is False
    assert decision.next_attempt_at == expected_at, decision.detail


def test_best_hour_never_before_the_ladders_delay() -> None:
    # Third no-answer: the ladder says a day later (10:00 tomorrow); today's 15:00
    # is too soon, tomorrow's is the one.
    decision = decide(
        timing=RetryTiming.best_hour, hour_stats=BEST_AT_15, failures_of_kind=3, seed="s"
    )
    assert decision.next_attempt_at == jst(2026, 12, 2, 15, 0)
    assert "15:00" in decision.detail


def test_best_hour_exhausted_stays_exhausted() -> None:
    decision = decide(
        timing=RetryTiming.best_hour,
        hour_stats=BEST_AT_15,
        unsolicited_attempts=10,
        policy=RetryPolicy(max_attempts=10),
    )
    assert decision.exhausted is True
    assert decision.next_attempt_at is None
