"""Why a lead is (not) callable now: every blocking rule, and when it lifts."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

import pytest
from helpers import JST, jst

from dialer.campaign.hours import CallingHours
from dialer.leads.eligibility import Block, LeadFacts, blocks, next_callable_at

HOURS = CallingHours.from_spec(
    rules=[
        {"days": "mon-fri", "start": "09:00", "end": "20:00"},
        {"days": "sat", "start": "10:00", "end": "18:00"},
    ],
    timezone="Asia/Tokyo",
    holiday_region="JP",
)

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=JST)  # Tuesday morning, open
WED_09 = datetime(2026, 12, 2, 9, 0, tzinfo=JST)  # next morning's opening
PHONE_A = "+819012345678"
PHONE_B = "+81312345678"


def later(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


# A scheduled lead with nothing holding it back.
CALLABLE = LeadFacts(
    status="scheduled",
    campaign_active=True,
    next_attempt_at=None,
    next_attempt_reason=None,
    unsolicited_attempts=1,
    day_attempts_today=1,
    active_phones=(PHONE_A, PHONE_B),
    dnc_phones=frozenset(),
    claimed_until=None,
    max_attempts=6,
    max_attempts_per_day=3,
)


def facts(**changes: Any) -> LeadFacts:
    return dataclasses.replace(CALLABLE, **changes)


Expected = list[tuple[str, datetime | None]]

CASES = [
    # Nothing blocks.
    pytest.param({}, NOW, [], NOW, id="callable"),
    pytest.param(
        {"status": "new", "unsolicited_attempts": 0, "day_attempts_today": 0},
        NOW,
        [],
        NOW,
        id="new-lead-callable",
    ),
    pytest.param(
        {"next_attempt_at": NOW, "next_attempt_reason": "retry_delay"},
        NOW,
        [],
        NOW,
        id="retry-due-exactly-now-is-callable",
    ),
    pytest.param(
        {"next_attempt_at": later(-5), "next_attempt_reason": "promise"},
        NOW,
        [],
        NOW,
        id="promise-due-is-callable",
    ),
    pytest.param(
        {"dnc_phones": frozenset({PHONE_A})}, NOW, [], NOW, id="one-phone-left-off-dnc-is-callable"
    ),
    pytest.param({"day_attempts_today": 2}, NOW, [], NOW, id="below-daily-limit"),
    pytest.param({"unsolicited_attempts": 5}, NOW, [], NOW, id="below-max-attempts"),
    # Each rule alone.
    pytest.param(
        {"status": "converted"}, NOW, [("terminal_status", None)], None, id="terminal-converted"
    ),
    pytest.param(
        {"status": "refused"}, NOW, [("terminal_status", None)], None, id="terminal-refused"
    ),
    pytest.param({"status": "dnc"}, NOW, [("terminal_status", None)], None, id="terminal-dnc"),
    pytest.param(
        {"status": "exhausted"}, NOW, [("terminal_status", None)], None, id="terminal-exhausted"
    ),
    pytest.param(
        {"status": "invalid"}, NOW, [("terminal_status", None)], None, id="terminal-invalid"
    ),
    pytest.param(
        {"status": "awaiting_external"},
        NOW,
        [("terminal_status", None)],
        None,
        id="terminal-awaiting-external",
    ),
    pytest.param(
        {"campaign_active": False}, NOW, [("campaign_paused", None)], None, id="campaign-paused"
    ),
    pytest.param(
        {"status": "claimed", "claimed_until": later(15)},
        NOW,
        [("claimed", later(15))],
        later(15),
        id="claimed-until-claim-expiry",
    ),
    pytest.param(
        {"status": "claimed", "claimed_until": later(-5)},
        NOW,
        [("claimed", later(-5))],
        NOW,
        id="claim-expired-not-yet-swept-callable-from-now",
    ),
    pytest.param(
        {"status": "claimed", "claimed_until": None},
        NOW,
        [("claimed", None)],
        None,
        id="claimed-without-expiry",
    ),
    pytest.param(
        {"dnc_phones": frozenset({PHONE_A, PHONE_B})},
        NOW,
        [("dnc", None)],
        None,
        id="every-phone-on-dnc",
    ),
    pytest.param(
        {"next_attempt_at": later(30), "next_attempt_reason": "retry_delay"},
        NOW,
        [("retry_delay", later(30))],
        later(30),
        id="retry-delay",
    ),
    pytest.param(
        {"next_attempt_at": later(30), "next_attempt_reason": None},
        NOW,
        [("retry_delay", later(30))],
        later(30),
        id="retry-delay-without-reason",
    ),
    pytest.param(
        {"next_attempt_at": WED_09, "next_attempt_reason": "daily_limit"},
        NOW,
        [("daily_limit", WED_09)],
        WED_09,
        id="daily-limit-from-next-attempt",
    ),
    pytest.param(
        {"day_attempts_today": 3},
        NOW,
        [("daily_limit", WED_09)],
        WED_09,
        id="daily-limit-from-todays-count",
    ),
    pytest.param(
        {"day_attempts_today": 3, "next_attempt_at": WED_09, "next_attempt_reason": "daily_limit"},
        NOW,
        [("daily_limit", WED_09)],
        WED_09,
        id="daily-limit-listed-once",
    ),
    pytest.param(
        {"next_attempt_at": later(45), "next_attempt_reason": "promise"},
        NOW,
        [("promise_pending", later(45))],
        later(45),
        id="promise-pending",
    ),
    pytest.param(
        {"unsolicited_attempts": 6}, NOW, [("max_attempts", None)], None, id="max-attempts"
    ),
    pytest.param(
        {},
        jst(2026, 12, 1, 20, 0),
        [("calling_hours", WED_09)],
        WED_09,
        id="calling-hours-after-20:00",
    ),
    pytest.param(
        {},
        jst(2026, 12, 6, 12, 0),
        [("calling_hours", jst(2026, 12, 7, 9, 0))],
        jst(2026, 12, 7, 9, 0),
        id="calling-hours-sunday",
    ),
    pytest.param(
        {},
        jst(2026, 11, 23, 10, 0),
        [("holiday", jst(2026, 11, 24, 9, 0))],
        jst(2026, 11, 24, 9, 0),
        id="holiday",
    ),
    pytest.param(
        {},
        jst(2027, 1, 1, 10, 0),
        [("holiday", jst(2027, 1, 2, 10, 0))],
        jst(2027, 1, 2, 10, 0),
        id="holiday-new-years-day",
    ),
    # Several at once: every blocking rule is listed.
    pytest.param(
        {"campaign_active": False, "status": "claimed", "claimed_until": later(15)},
        jst(2026, 12, 1, 20, 0),
        [("campaign_paused", None), ("claimed", later(15)), ("calling_hours", WED_09)],
        None,
        id="paused-claimed-and-closed",
    ),
    pytest.param(
        {"status": "exhausted", "unsolicited_attempts": 6},
        NOW,
        [("terminal_status", None), ("max_attempts", None)],
        None,
        id="exhausted-and-max-attempts",
    ),
    pytest.param(
        {
            "dnc_phones": frozenset({PHONE_A, PHONE_B}),
            "next_attempt_at": later(30),
            "next_attempt_reason": "retry_delay",
        },
        NOW,
        [("dnc", None), ("retry_delay", later(30))],
        None,
        id="dnc-and-retry-delay",
    ),
    pytest.param(
        {
            "status": "claimed",
            "claimed_until": later(15),
            "next_attempt_at": later(30),
            "next_attempt_reason": "retry_delay",
        },
        NOW,
        [("claimed", later(15)), ("retry_delay", later(30))],
        later(30),
        id="claimed-and-retry-later-end-wins",
    ),
    pytest.param(
        {
            "status": "claimed",
            "claimed_until": later(45),
            "next_attempt_at": later(30),
            "next_attempt_reason": "promise",
        },
        NOW,
        [("claimed", later(45)), ("promise_pending", later(30))],
        later(45),
        id="claimed-and-promise-later-end-wins",
    ),
    pytest.param(
        {
            "next_attempt_at": later(30),
            "next_attempt_reason": "retry_delay",
            "day_attempts_today": 3,
        },
        NOW,
        [("retry_delay", later(30)), ("daily_limit", WED_09)],
        WED_09,
        id="retry-delay-and-daily-limit",
    ),
    pytest.param(
        {"next_attempt_at": jst(2026, 12, 1, 21, 30), "next_attempt_reason": "retry_delay"},
        jst(2026, 12, 1, 21, 0),
        [("retry_delay", jst(2026, 12, 1, 21, 30)), ("calling_hours", WED_09)],
        WED_09,
        id="retry-delay-at-night-and-calling-hours",
    ),
    pytest.param(
        {"next_attempt_at": jst(2026, 11, 23, 10, 30), "next_attempt_reason": "retry_delay"},
        jst(2026, 11, 23, 10, 0),
        [("retry_delay", jst(2026, 11, 23, 10, 30)), ("holiday", jst(2026, 11, 24, 9, 0))],
        jst(2026, 11, 24, 9, 0),
        id="retry-delay-on-a-holiday",
    ),
    pytest.param(
        {"day_attempts_today": 3, "dnc_phones": frozenset({PHONE_A, PHONE_B})},
        jst(2026, 11, 21, 18, 0),
        [
            ("dnc", None),
            ("daily_limit", jst(2026, 11, 24, 9, 0)),
            ("calling_hours", jst(2026, 11, 24, 9, 0)),
        ],
        None,
        id="dnc-daily-limit-and-closed-over-holiday-weekend",
    ),
    pytest.param(
        {"day_attempts_today": 3},
        jst(2026, 11, 21, 17, 0),
        [("daily_limit", jst(2026, 11, 24, 9, 0))],
        jst(2026, 11, 24, 9, 0),
        id="daily-limit-saturday-skips-sunday-and-holiday",
    ),
]


@pytest.mark.parametrize(("changes", "now", "expected", "callable_at"), CASES)
def test_blocks_and_next_callable_at(
    changes: dict[str, Any], now: datetime, expected: Expected, callable_at: datetime | None
) -> None:
    found = blocks(facts=facts(**changes), hours=HOURS, now=now)
    assert [(b.rule, b.until) for b in found] == expected
    assert next_callable_at(found=found, hours=HOURS, now=now) == callable_at


@pytest.mark.parametrize(
    ("found", "now", "expected"),
    [
        pytest.param([], NOW, NOW, id="nothing-blocks-callable-now"),
        pytest.param(
            [Block("retry_delay", later(5), "")], NOW, later(5), id="single-end-inside-hours"
        ),
        pytest.param(
            [Block("retry_delay", later(5), ""), Block("claimed", later(10), "")],
            NOW,
            later(10),
            id="the-later-end",
        ),
        pytest.param(
            [Block("retry_delay", later(5), ""), Block("max_attempts", None, "")],
            NOW,
            None,
            id="a-rule-without-end",
        ),
        pytest.param(
            [Block("retry_delay", jst(2026, 12, 4, 20, 30), "")],
            NOW,
            jst(2026, 12, 5, 10, 0),
            id="end-after-hours-moves-to-next-opening",
        ),
        pytest.param(
            [Block("promise_pending", jst(2026, 11, 23, 11, 0), "")],
            jst(2026, 11, 20, 10, 0),
            jst(2026, 11, 24, 9, 0),
            id="end-on-a-holiday-moves-past-it",
        ),
        # An expired claim not yet swept away: callable no earlier than now.
        pytest.param([Block("claimed", later(-5), "")], NOW, NOW, id="never-in-the-past"),
        pytest.param(
            [Block("claimed", jst(2026, 12, 1, 19, 0), "")],
            jst(2026, 12, 1, 21, 0),
            WED_09,
            id="past-end-while-closed-moves-to-next-opening",
        ),
    ],
)
def test_next_callable_at(found: list[Block], now: datetime, expected: datetime | None) -> None:
    assert next_callable_at(found=found, hours=HOURS, now=now) == expected


def test_every_block_explains_itself() -> None:
    found = blocks(
        facts=facts(
            status="claimed",
            claimed_until=later(15),
            campaign_active=False,
            dnc_phones=frozenset({PHONE_A, PHONE_B}),
            unsolicited_attempts=6,
        ),
        hours=HOURS,
        now=jst(2026, 12, 1, 20, 0),
    )
    assert [(b.rule, b.detail) for b in found] == [
        ("campaign_paused", "the campaign is paused"),
        ("claimed", "held by an agent's claim"),
        ("dnc", "every phone of the lead is on the do-not-call list"),
        ("max_attempts", "6 of 6"),
        ("calling_hours", "outside local calling hours; they open at 2026-12-02 09:00 Asia/Tokyo"),
    ]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(
            jst(2027, 1, 1, 10, 0),
            (
                "holiday",
                "a public holiday: New Year's Day; they open at 2027-01-02 10:00 Asia/Tokyo",
            ),
            id="holiday",
        ),
        pytest.param(
            jst(2026, 11, 23, 3, 0),
            (
                "calling_hours",
                "outside local calling hours; they open at 2026-11-24 09:00 Asia/Tokyo",
            ),
            id="night-of-a-holiday-is-hours",
        ),
    ],
)
def test_a_holiday_is_named_not_called_outside_hours(
    now: datetime, expected: tuple[str, str]
) -> None:
    found = blocks(facts=facts(), hours=HOURS, now=now)
    assert [(b.rule, b.detail) for b in found] == [expected]
