"""Calling hours as a pure rule: local weekdays, windows past midnight, public
holidays and daylight saving, judged on exact UTC instants."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from helpers import jst, utc

from dialer.campaign.hours import (
    CallingHours,
    ClosedBy,
    Closure,
    HoursSpecError,
    parse_days,
    parse_time,
)

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")

# The product default: weekdays 09:00–20:00, Saturday 10:00–18:00.
DEFAULT_RULES = [
    {"days": "mon-fri", "start": "09:00", "end": "20:00"},
    {"days": "sat", "start": "10:00", "end": "18:00"},
]


def hours(
    rules: list[dict[str, str]] | None = None,
    *,
    timezone: str = "Asia/Tokyo",
    holiday_region: str | None = "JP",
) -> CallingHours:
    return CallingHours.from_spec(
        rules=DEFAULT_RULES if rules is None else rules,
        timezone=timezone,
        holiday_region=holiday_region,
    )


def rule(days: str, start: str, end: str) -> dict[str, str]:
    return {"days": days, "start": start, "end": end}


# --- parse_days ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param("mon-fri", {0, 1, 2, 3, 4}, id="range"),
        pytest.param("sat", {5}, id="single-day"),
        pytest.param("mon,wed,fri", {0, 2, 4}, id="list"),
        pytest.param("fri-mon", {4, 5, 6, 0}, id="range-wraps-over-sunday"),
        pytest.param("thu-tue", {3, 4, 5, 6, 0, 1}, id="long-wrapping-range"),
        pytest.param("sun-sat", {0, 1, 2, 3, 4, 5, 6}, id="sun-to-sat-is-every-day"),
        pytest.param("mon-mon", {0}, id="range-of-one-day"),
        pytest.param("daily", {0, 1, 2, 3, 4, 5, 6}, id="alias-daily"),
        pytest.param("all", {0, 1, 2, 3, 4, 5, 6}, id="alias-all"),
        pytest.param("weekdays", {0, 1, 2, 3, 4}, id="alias-weekdays"),
        pytest.param("weekends", {5, 6}, id="alias-weekends"),
        pytest.param("Mon-Fri", {0, 1, 2, 3, 4}, id="case-insensitive"),
        pytest.param(" sat , sun ", {5, 6}, id="spaces-ignored"),
        pytest.param("mon-wed,sat", {0, 1, 2, 5}, id="range-and-day-in-a-list"),
        pytest.param("monday-friday", {0, 1, 2, 3, 4}, id="full-day-names"),
        pytest.param("tues,thurs", {1, 3}, id="common-longer-abbreviations"),
    ],
)
def test_parse_days(spec: str, expected: set[int]) -> None:
    assert parse_days(spec) == frozenset(expected)


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        pytest.param("mon-xyz", "'xyz'", id="unknown-day-at-range-end"),
        pytest.param("xyz-fri", "'xyz'", id="unknown-day-at-range-start"),
        pytest.param("", "empty day", id="empty-spec"),
        pytest.param("   ", "empty day", id="blank-spec"),
        pytest.param("mon,,fri", "empty day", id="empty-item-in-list"),
        pytest.param("mon-", "''", id="range-without-end"),
        pytest.param("mo", "'mo'", id="too-short-abbreviation"),
        pytest.param("monkey", "'monkey'", id="word-starting-with-a-day-is-not-a-day"),
        pytest.param("sunny-fri", "'sunny'", id="word-starting-with-sun-is-not-sunday"),
        pytest.param("weekday", "'weekday'", id="misspelt-alias"),
    ],
)
def test_parse_days_rejects_bad_specs_naming_the_part(spec: str, named: str) -> None:
    with pytest.raises(HoursSpecError) as info:
        parse_days(spec)
    assert named in str(info.value)


# --- parse_time ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("09:00", time(9, 0), id="morning"),
        pytest.param("00:00", time(0, 0), id="midnight"),
        pytest.param("23:59", time(23, 59), id="last-minute"),
        pytest.param("24:00", time(0, 0), id="24:00-is-midnight-at-the-end-of-the-day"),
        pytest.param(" 09:30 ", time(9, 30), id="spaces-ignored"),
    ],
)
def test_parse_time(value: str, expected: time) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("25:00", id="hour-past-24"),
        pytest.param("09:60", id="minute-past-59"),
        pytest.param("24:30", id="past-24:00"),
        pytest.param("9:00", id="one-digit-hour"),
        pytest.param("0900", id="no-colon"),
        pytest.param("", id="empty"),
        pytest.param("ab:cd", id="letters"),
        pytest.param("09:00:00", id="seconds"),
    ],
)
def test_parse_time_rejects_bad_times_naming_them(value: str) -> None:
    with pytest.raises(HoursSpecError) as info:
        parse_time(value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize(
    ("rules", "named"),
    [
        pytest.param([rule("mon-xyz", "09:00", "20:00")], "'xyz'", id="bad-days"),
        pytest.param([rule("mon-fri", "25:00", "20:00")], "'25:00'", id="bad-start"),
        pytest.param([rule("mon-fri", "09:00", "09:60")], "'09:60'", id="bad-end"),
        pytest.param([rule("", "09:00", "20:00")], "empty day", id="empty-days"),
        pytest.param([rule("sat", "10:00", "")], "''", id="empty-end"),
        pytest.param(
            [rule("mon-fri", "09:00", "20:00"), rule("sat", "10:00", "18:61")],
            "'18:61'",
            id="bad-second-rule",
        ),
    ],
)
def test_from_spec_rejects_bad_rules(rules: list[dict[str, str]], named: str) -> None:
    with pytest.raises(HoursSpecError) as info:
        CallingHours.from_spec(rules=rules, timezone="Asia/Tokyo", holiday_region="JP")
    assert named in str(info.value)


# --- is_open / closed_reason ------------------------------------------------------

# 2026-12-01 is a Tuesday; 2026-12-05 a Saturday; 2026-11-23 (Monday) is Labor
# Thanksgiving Day; 2026-05-04..06 close Golden Week; 2027-01-01 is a Friday.
IS_OPEN_CASES = [
    # Default hours in Tokyo, JP holidays skipped.
    pytest.param(None, "JP", jst(2026, 12, 1, 9, 0), True, id="weekday-start-is-inclusive"),
    pytest.param(None, "JP", jst(2026, 12, 1, 8, 59, 59), False, id="weekday-before-start"),
    pytest.param(None, "JP", jst(2026, 12, 1, 19, 59, 59), True, id="weekday-last-second"),
    pytest.param(None, "JP", jst(2026, 12, 1, 20, 0), False, id="weekday-end-is-exclusive"),
    pytest.param(None, "JP", jst(2026, 12, 1, 3, 0), False, id="weekday-night"),
    pytest.param(None, "JP", utc(2026, 12, 1, 0, 0), True, id="utc-instant-judged-in-jst"),
    pytest.param(None, "JP", utc(2026, 11, 30, 23, 59), False, id="utc-instant-before-jst-open"),
    pytest.param(None, "JP", jst(2026, 12, 5, 10, 0), True, id="saturday-start"),
    pytest.param(None, "JP", jst(2026, 12, 5, 9, 59), False, id="saturday-before-its-own-start"),
    pytest.param(None, "JP", jst(2026, 12, 5, 17, 59), True, id="saturday-before-end"),
    pytest.param(None, "JP", jst(2026, 12, 5, 18, 0), False, id="saturday-end-is-exclusive"),
    pytest.param(None, "JP", jst(2026, 12, 6, 12, 0), False, id="sunday-closed"),
    pytest.param(None, "JP", jst(2026, 11, 23, 10, 0), False, id="labor-thanksgiving-day"),
    pytest.param(None, None, jst(2026, 11, 23, 10, 0), True, id="holiday-ordinary-without-region"),
    pytest.param(None, "JP", jst(2026, 11, 24, 9, 0), True, id="day-after-holiday"),
    pytest.param(None, "JP", jst(2027, 1, 1, 12, 0), False, id="new-years-day"),
    pytest.param(None, None, jst(2027, 1, 1, 12, 0), True, id="new-years-day-without-region"),
    pytest.param(None, "JP", jst(2026, 5, 4, 12, 0), False, id="golden-week-greenery-day"),
    pytest.param(None, "JP", jst(2026, 5, 5, 12, 0), False, id="golden-week-childrens-day"),
    pytest.param(None, "JP", jst(2026, 5, 6, 12, 0), False, id="golden-week-substitute-holiday"),
    pytest.param(None, "JP", jst(2026, 5, 7, 9, 0), True, id="after-golden-week"),
    # A window past midnight belongs to the weekday it starts on.
    pytest.param(
        [rule("fri", "22:00", "02:00")],
        "JP",
        jst(2026, 12, 4, 21, 59),
        False,
        id="night-window-before-start",
    ),
    pytest.param(
        [rule("fri", "22:00", "02:00")],
        "JP",
        jst(2026, 12, 4, 22, 0),
        True,
        id="night-window-start",
    ),
    pytest.param(
        [rule("fri", "22:00", "02:00")],
        "JP",
        jst(2026, 12, 5, 0, 0),
        True,
        id="night-window-at-midnight",
    ),
    pytest.param(
        [rule("fri", "22:00", "02:00")],
        "JP",
        jst(2026, 12, 5, 1, 0),
        True,
        id="friday-night-window-open-saturday-1am",
    ),
    pytest.param(
        [rule("fri", "22:00", "02:00")],
        "JP",
        jst(2026, 12, 5, 1, 59, 59),
        True,
        id="night-window-last-second",
    ),
    pytest.param(
        [rule("fri", "22:00", "02:00")],
        "JP",
        jst(2026, 12, 5, 2, 0),
        False,
        id="night-window-end-is-exclusive",
    ),
    pytest.param(
        [rule("fri", "22:00", "02:00")],
        "JP",
        jst(2026, 12, 6, 1, 0),
        False,
        id="no-saturday-window-so-sunday-1am-closed",
    ),
    pytest.param(
        [rule("fri", "22:00", "02:00")],
        "JP",
        jst(2026, 12, 4, 1, 0),
        False,
        id="friday-1am-belongs-to-thursday",
    ),
    pytest.param(
        [rule("fri-sat", "22:00", "02:00")],
        "JP",
        jst(2026, 12, 6, 1, 0),
        True,
        id="saturday-window-covers-sunday-1am",
    ),
    # Holidays are judged on the local date of the moment itself.
    pytest.param(
        [rule("sun", "22:00", "02:00")],
        "JP",
        jst(2026, 11, 22, 23, 0),
        True,
        id="sunday-night-before-a-holiday-open",
    ),
    pytest.param(
        [rule("sun", "22:00", "02:00")],
        "JP",
        jst(2026, 11, 23, 1, 0),
        False,
        id="after-midnight-part-on-holiday-closed",
    ),
    pytest.param(
        [rule("sun", "22:00", "02:00")],
        None,
        jst(2026, 11, 23, 1, 0),
        True,
        id="after-midnight-part-open-without-region",
    ),
    pytest.param(
        [rule("mon", "22:00", "02:00")],
        "JP",
        jst(2026, 11, 23, 23, 0),
        False,
        id="window-starting-on-holiday-closed",
    ),
    pytest.param(
        [rule("mon", "22:00", "02:00")],
        "JP",
        jst(2026, 11, 24, 1, 0),
        True,
        id="after-midnight-part-on-ordinary-day-open",
    ),
    pytest.param(
        [rule("thu", "22:00", "02:00")],
        "JP",
        jst(2027, 1, 1, 1, 0),
        False,
        id="new-years-eve-night-window-closed-after-midnight",
    ),
    pytest.param(
        [rule("thu", "22:00", "02:00")],
        "JP",
        jst(2026, 12, 31, 23, 0),
        True,
        id="new-years-eve-night-window-open-before-midnight",
    ),
    # 24:00 as end, and all-day windows.
    pytest.param(
        [rule("daily", "18:00", "24:00")],
        "JP",
        jst(2026, 12, 1, 23, 59, 59),
        True,
        id="24:00-end-open-until-midnight",
    ),
    pytest.param(
        [rule("daily", "18:00", "24:00")],
        "JP",
        jst(2026, 12, 2, 0, 0),
        False,
        id="24:00-end-is-exclusive",
    ),
    pytest.param(
        [rule("daily", "00:00", "24:00")], None, jst(2026, 12, 6, 3, 0), True, id="round-the-clock"
    ),
    pytest.param(
        [rule("weekdays", "09:00", "12:00")],
        "JP",
        jst(2026, 12, 5, 10, 0),
        False,
        id="alias-weekdays-closed-saturday",
    ),
    pytest.param(
        [rule("fri-mon", "09:00", "12:00")],
        "JP",
        jst(2026, 12, 6, 10, 0),
        True,
        id="wrapping-days-open-sunday",
    ),
    pytest.param(
        [rule("fri-mon", "09:00", "12:00")],
        "JP",
        jst(2026, 12, 2, 10, 0),
        False,
        id="wrapping-days-closed-wednesday",
    ),
]


@pytest.mark.parametrize(("rules", "region", "at", "expected"), IS_OPEN_CASES)
def test_is_open(
    rules: list[dict[str, str]] | None, region: str | None, at: datetime, expected: bool
) -> None:
    assert hours(rules, holiday_region=region).is_open(at=at) is expected


@pytest.mark.parametrize(
    ("rules", "region", "at", "expected"),
    [
        pytest.param(None, "JP", jst(2026, 12, 1, 10, 0), None, id="open"),
        pytest.param(None, "JP", jst(2026, 12, 1, 20, 0), "calling_hours", id="after-hours"),
        pytest.param(None, "JP", jst(2026, 12, 6, 12, 0), "calling_hours", id="sunday"),
        pytest.param(None, "JP", jst(2026, 11, 23, 10, 0), "holiday", id="holiday-in-hours"),
        pytest.param(None, None, jst(2026, 11, 23, 10, 0), None, id="holiday-without-region"),
        pytest.param(None, "JP", jst(2026, 5, 5, 12, 0), "holiday", id="golden-week"),
        pytest.param(
            None, "JP", jst(2026, 11, 23, 3, 0), "calling_hours", id="holiday-night-is-hours"
        ),
        pytest.param(
            [rule("sun", "22:00", "02:00")],
            "JP",
            jst(2026, 11, 23, 1, 0),
            "holiday",
            id="after-midnight-part-on-holiday",
        ),
    ],
)
def test_closed_reason(
    rules: list[dict[str, str]] | None, region: str | None, at: datetime, expected: str | None
) -> None:
    assert hours(rules, holiday_region=region).closed_reason(at=at) == expected


# --- holiday_name and closure ------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "day", "expected"),
    [
        pytest.param("JP", date(2027, 1, 1), "New Year's Day", id="new-year"),
        pytest.param("JP", date(2026, 11, 23), "Labor Thanksgiving Day", id="monday-holiday"),
        pytest.param("JP", date(2026, 5, 6), "Substitute Holiday", id="substitute-holiday"),
        pytest.param("JP", date(2026, 9, 22), "National Holiday", id="sandwiched-day"),
        pytest.param("JP", date(2027, 1, 2), None, id="bank-holiday-is-not-public"),
        pytest.param("JP", date(2026, 12, 1), None, id="ordinary-day"),
        pytest.param(None, date(2027, 1, 1), None, id="holidays-not-skipped"),
        pytest.param("US", date(2026, 12, 25), "Christmas Day", id="other-region"),
    ],
)
def test_holiday_name(region: str | None, day: date, expected: str | None) -> None:
    assert hours(holiday_region=region).holiday_name(day) == expected


H, CH = ClosedBy.holiday, ClosedBy.calling_hours


@pytest.mark.parametrize(
    ("rules", "timezone", "region", "at", "expected"),
    [
        pytest.param(None, "Asia/Tokyo", "JP", jst(2026, 12, 1, 10, 0), None, id="open"),
        pytest.param(
            None,
            "Asia/Tokyo",
            "JP",
            jst(2026, 12, 1, 20, 0),
            Closure(CH, None, jst(2026, 12, 2, 9, 0)),
            id="evening-opens-next-morning",
        ),
        pytest.param(
            None,
            "Asia/Tokyo",
            "JP",
            jst(2026, 12, 6, 12, 0),
            Closure(CH, None, jst(2026, 12, 7, 9, 0)),
            id="sunday-opens-monday",
        ),
        pytest.param(
            None,
            "Asia/Tokyo",
            "JP",
            jst(2026, 11, 21, 18, 0),
            Closure(CH, None, jst(2026, 11, 24, 9, 0)),
            id="saturday-evening-opens-after-the-holiday-monday",
        ),
        pytest.param(
            None,
            "Asia/Tokyo",
            "JP",
            jst(2026, 11, 23, 10, 0),
            Closure(H, "Labor Thanksgiving Day", jst(2026, 11, 24, 9, 0)),
            id="holiday-named-opens-next-day",
        ),
        pytest.param(
            None,
            "Asia/Tokyo",
            "JP",
            jst(2027, 1, 1, 11, 0),
            Closure(H, "New Year's Day", jst(2027, 1, 2, 10, 0)),
            id="new-year-friday-opens-saturday",
        ),
        pytest.param(
            None,
            "Asia/Tokyo",
            "JP",
            jst(2026, 5, 5, 12, 0),
            Closure(H, "Children's Day", jst(2026, 5, 7, 9, 0)),
            id="golden-week-skips-the-substitute-holiday",
        ),
        pytest.param(
            None,
            "Asia/Tokyo",
            "JP",
            jst(2026, 11, 23, 3, 0),
            Closure(CH, None, jst(2026, 11, 24, 9, 0)),
            id="night-of-a-holiday-is-closed-by-hours",
        ),
        pytest.param(
            [rule("sun", "22:00", "02:00")],
            "Asia/Tokyo",
            "JP",
            jst(2026, 11, 23, 1, 0),
            Closure(H, "Labor Thanksgiving Day", jst(2026, 11, 29, 22, 0)),
            id="after-midnight-part-names-the-holiday-it-runs-into",
        ),
        pytest.param(
            None, "Asia/Tokyo", None, jst(2026, 11, 23, 10, 0), None, id="holiday-not-skipped"
        ),
        pytest.param(
            None,
            "America/New_York",
            "US",
            datetime(2026, 12, 25, 10, 0, tzinfo=NY),
            Closure(H, "Christmas Day", datetime(2026, 12, 26, 10, 0, tzinfo=NY)),
            id="zone-and-region-of-the-campaign",
        ),
        pytest.param(
            [], "Asia/Tokyo", "JP", jst(2026, 12, 1, 10, 0), Closure(CH, None, None), id="no-hours"
        ),
    ],
)
def test_closure_names_the_holiday_and_the_next_opening(
    rules: list[dict[str, str]] | None,
    timezone: str,
    region: str | None,
    at: datetime,
    expected: Closure | None,
) -> None:
    got = hours(rules, timezone=timezone, holiday_region=region).closure(at=at)
    assert got == expected
    if got is not None and got.opens_at is not None:
        assert got.opens_at.utcoffset() == timedelta(0)  # an instant, in UTC


# --- next_opening -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "region", "at", "expected"),
    [
        pytest.param(
            None, "JP", jst(2026, 12, 1, 10, 0), jst(2026, 12, 1, 10, 0), id="open-now-is-now"
        ),
        pytest.param(
            None,
            "JP",
            jst(2026, 12, 1, 8, 0),
            jst(2026, 12, 1, 9, 0),
            id="early-morning-to-same-day-start",
        ),
        pytest.param(
            None,
            "JP",
            jst(2026, 12, 1, 20, 0),
            jst(2026, 12, 2, 9, 0),
            id="weekday-end-to-next-morning",
        ),
        pytest.param(
            None,
            "JP",
            jst(2026, 12, 4, 20, 0),
            jst(2026, 12, 5, 10, 0),
            id="friday-20:00-to-saturday-10:00",
        ),
        pytest.param(
            None, "JP", jst(2026, 12, 5, 18, 0), jst(2026, 12, 7, 9, 0), id="saturday-end-to-monday"
        ),
        pytest.param(
            None, "JP", jst(2026, 12, 6, 12, 0), jst(2026, 12, 7, 9, 0), id="sunday-to-monday"
        ),
        pytest.param(
            None,
            "JP",
            jst(2026, 11, 21, 18, 0),
            jst(2026, 11, 24, 9, 0),
            id="saturday-skips-sunday-and-holiday-monday",
        ),
        pytest.param(
            None,
            None,
            jst(2026, 11, 21, 18, 0),
            jst(2026, 11, 23, 9, 0),
            id="holiday-monday-opens-without-region",
        ),
        pytest.param(
            None,
            "JP",
            jst(2026, 11, 23, 10, 0),
            jst(2026, 11, 24, 9, 0),
            id="during-holiday-to-next-day",
        ),
        pytest.param(
            None,
            "JP",
            jst(2026, 12, 31, 20, 0),
            jst(2027, 1, 2, 10, 0),
            id="new-years-eve-to-saturday-2-january",
        ),
        pytest.param(
            None,
            None,
            jst(2026, 12, 31, 20, 0),
            jst(2027, 1, 1, 9, 0),
            id="new-years-day-opens-without-region",
        ),
        pytest.param(
            None, "JP", jst(2026, 5, 2, 18, 0), jst(2026, 5, 7, 9, 0), id="golden-week-skipped"
        ),
        pytest.param(
            None,
            None,
            jst(2026, 5, 2, 18, 0),
            jst(2026, 5, 4, 9, 0),
            id="golden-week-opens-without-region",
        ),
        pytest.param(
            [rule("fri", "22:00", "02:00")],
            "JP",
            jst(2026, 12, 5, 1, 0),
            jst(2026, 12, 5, 1, 0),
            id="inside-after-midnight-part-is-now",
        ),
        pytest.param(
            [rule("fri", "22:00", "02:00")],
            "JP",
            jst(2026, 12, 5, 2, 0),
            jst(2026, 12, 11, 22, 0),
            id="night-window-to-next-friday",
        ),
        pytest.param(
            [rule("sun", "22:00", "02:00")],
            "JP",
            jst(2026, 11, 23, 0, 0),
            jst(2026, 11, 29, 22, 0),
            id="holiday-part-of-night-window-skipped",
        ),
        pytest.param(
            [rule("mon", "09:00", "12:00")],
            "JP",
            jst(2026, 11, 17, 12, 0),
            jst(2026, 11, 30, 9, 0),
            id="only-monday-and-it-is-a-holiday",
        ),
        pytest.param(
            [rule("mon", "09:00", "12:00")],
            "JP",
            jst(2026, 12, 29, 12, 0),
            jst(2027, 1, 4, 9, 0),
            id="search-crosses-the-year",
        ),
    ],
)
def test_next_opening(
    rules: list[dict[str, str]] | None, region: str | None, at: datetime, expected: datetime
) -> None:
    assert hours(rules, holiday_region=region).next_opening(at=at) == expected


def test_next_opening_is_none_without_windows() -> None:
    assert hours([]).next_opening(at=jst(2026, 12, 1, 10, 0)) is None


# --- open_until -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "at", "expected"),
    [
        pytest.param(None, jst(2026, 12, 1, 10, 0), jst(2026, 12, 1, 20, 0), id="weekday"),
        pytest.param(None, jst(2026, 12, 1, 9, 0), jst(2026, 12, 1, 20, 0), id="at-start"),
        pytest.param(None, jst(2026, 12, 1, 20, 0), None, id="at-end-closed"),
        pytest.param(None, jst(2026, 12, 5, 12, 0), jst(2026, 12, 5, 18, 0), id="saturday"),
        pytest.param(
            [rule("fri", "22:00", "02:00")],
            jst(2026, 12, 4, 23, 0),
            jst(2026, 12, 5, 2, 0),
            id="night-window-runs-past-midnight",
        ),
        pytest.param(
            [rule("mon-fri", "09:00", "12:00"), rule("mon-fri", "11:00", "20:00")],
            jst(2026, 12, 1, 10, 0),
            jst(2026, 12, 1, 20, 0),
            id="overlapping-windows-merge",
        ),
        pytest.param(
            [rule("mon-fri", "09:00", "12:00"), rule("mon-fri", "12:00", "20:00")],
            jst(2026, 12, 1, 10, 0),
            jst(2026, 12, 1, 20, 0),
            id="adjacent-windows-merge",
        ),
        pytest.param(
            [rule("mon-fri", "09:00", "12:00"), rule("mon-fri", "13:00", "20:00")],
            jst(2026, 12, 1, 12, 30),
            None,
            id="lunch-gap-closed",
        ),
        pytest.param(
            [rule("daily", "18:00", "24:00"), rule("daily", "00:00", "02:00")],
            jst(2026, 12, 1, 23, 0),
            jst(2026, 12, 2, 2, 0),
            id="24:00-end-joins-next-day-window",
        ),
        pytest.param(
            [rule("sun", "22:00", "02:00")],
            jst(2026, 11, 22, 23, 0),
            jst(2026, 11, 23, 0, 0),
            id="night-window-cut-at-holiday-midnight",
        ),
    ],
)
def test_open_until(
    rules: list[dict[str, str]] | None, at: datetime, expected: datetime | None
) -> None:
    assert hours(rules).open_until(at=at) == expected


def test_open_until_round_the_clock_reaches_the_next_holiday() -> None:
    """The open stretch is the whole stretch, not the few days looked at first."""
    always = hours([rule("daily", "00:00", "24:00")])
    # From Tuesday 1 December 2026 open without a break until New Year's Day.
    assert always.open_until(at=jst(2026, 12, 1, 10, 0)) == jst(2027, 1, 1, 0, 0)


# --- DST: opening instants are the right UTC instants -------------------------------

NINE_TO_FIVE = [rule("daily", "09:00", "17:00")]


@pytest.mark.parametrize(
    ("timezone", "at", "expected"),
    [
        # New York springs forward on Sunday 8 March 2026: 09:00 is EDT (UTC-4).
        pytest.param(
            "America/New_York",
            utc(2026, 3, 6, 23, 0),
            utc(2026, 3, 7, 14, 0),
            id="ny-saturday-before-spring-forward-est",
        ),
        pytest.param(
            "America/New_York",
            utc(2026, 3, 7, 22, 0),
            utc(2026, 3, 8, 13, 0),
            id="ny-spring-forward-day-edt",
        ),
        pytest.param(
            "America/New_York",
            utc(2026, 3, 8, 21, 0),
            utc(2026, 3, 9, 13, 0),
            id="ny-day-after-spring-forward",
        ),
        # ... and falls back on Sunday 1 November 2026: 09:00 is EST (UTC-5).
        pytest.param(
            "America/New_York",
            utc(2026, 10, 30, 21, 0),
            utc(2026, 10, 31, 13, 0),
            id="ny-saturday-before-fall-back-edt",
        ),
        pytest.param(
            "America/New_York",
            utc(2026, 10, 31, 22, 0),
            utc(2026, 11, 1, 14, 0),
            id="ny-fall-back-day-est",
        ),
        # London springs forward on Sunday 29 March 2026: 09:00 is BST (UTC+1).
        pytest.param(
            "Europe/London",
            utc(2026, 3, 27, 17, 0),
            utc(2026, 3, 28, 9, 0),
            id="london-saturday-before-gmt",
        ),
        pytest.param(
            "Europe/London",
            utc(2026, 3, 28, 17, 0),
            utc(2026, 3, 29, 8, 0),
            id="london-spring-forward-day-bst",
        ),
    ],
)
def test_next_opening_across_dst(timezone: str, at: datetime, expected: datetime) -> None:
    assert hours(NINE_TO_FIVE, timezone=timezone, holiday_region=None).next_opening(at=at) == (
        expected
    )


@pytest.mark.parametrize(
    ("timezone", "rules", "at", "expected"),
    [
        pytest.param(
            "America/New_York",
            NINE_TO_FIVE,
            utc(2026, 3, 8, 12, 59),
            False,
            id="ny-spring-forward-08:59-edt-closed",
        ),
        pytest.param(
            "America/New_York",
            NINE_TO_FIVE,
            utc(2026, 3, 8, 13, 0),
            True,
            id="ny-spring-forward-09:00-edt-open",
        ),
        pytest.param(
            "America/New_York",
            NINE_TO_FIVE,
            utc(2026, 3, 8, 20, 59),
            True,
            id="ny-spring-forward-16:59-edt-open",
        ),
        pytest.param(
            "America/New_York",
            NINE_TO_FIVE,
            utc(2026, 3, 8, 21, 0),
            False,
            id="ny-spring-forward-17:00-edt-closed",
        ),
        pytest.param(
            "America/New_York",
            NINE_TO_FIVE,
            utc(2026, 11, 1, 13, 30),
            False,
            id="ny-fall-back-08:30-est-closed",
        ),
        pytest.param(
            "America/New_York",
            NINE_TO_FIVE,
            utc(2026, 11, 1, 21, 59),
            True,
            id="ny-fall-back-16:59-est-open",
        ),
        pytest.param(
            "Europe/London",
            NINE_TO_FIVE,
            utc(2026, 3, 29, 8, 0),
            True,
            id="london-spring-forward-09:00-bst-open",
        ),
        pytest.param(
            "Europe/London",
            NINE_TO_FIVE,
            utc(2026, 3, 29, 16, 0),
            False,
            id="london-spring-forward-17:00-bst-closed",
        ),
        # Sat 22:00 EST to the 02:00 that never comes: the clock jumps at 07:00 UTC.
        pytest.param(
            "America/New_York",
            [rule("sat", "22:00", "02:00")],
            utc(2026, 3, 8, 6, 59),
            True,
            id="ny-night-window-open-before-the-jump",
        ),
        pytest.param(
            "America/New_York",
            [rule("sat", "22:00", "02:00")],
            utc(2026, 3, 8, 7, 0),
            False,
            id="ny-night-window-closed-at-the-jump",
        ),
        # Sat 22:00 EDT (02:00 UTC) to 02:00 EST (07:00 UTC): five real hours.
        pytest.param(
            "America/New_York",
            [rule("sat", "22:00", "02:00")],
            utc(2026, 11, 1, 1, 59),
            False,
            id="ny-fall-back-night-window-before-start",
        ),
        pytest.param(
            "America/New_York",
            [rule("sat", "22:00", "02:00")],
            utc(2026, 11, 1, 6, 59),
            True,
            id="ny-fall-back-night-window-open-in-the-extra-hour",
        ),
        pytest.param(
            "America/New_York",
            [rule("sat", "22:00", "02:00")],
            utc(2026, 11, 1, 7, 0),
            False,
            id="ny-fall-back-night-window-end",
        ),
    ],
)
def test_is_open_across_dst(
    timezone: str, rules: list[dict[str, str]], at: datetime, expected: bool
) -> None:
    assert hours(rules, timezone=timezone, holiday_region=None).is_open(at=at) is expected


@pytest.mark.parametrize(
    ("timezone", "rules", "at", "expected"),
    [
        # 00:00 EST (05:00 UTC) to 05:00 EDT (09:00 UTC): four real hours.
        pytest.param(
            "America/New_York",
            [rule("daily", "00:00", "05:00")],
            utc(2026, 3, 8, 5, 30),
            utc(2026, 3, 8, 9, 0),
            id="ny-23-hour-day",
        ),
        # 00:00 EDT (04:00 UTC) to 05:00 EST (10:00 UTC): six real hours.
        pytest.param(
            "America/New_York",
            [rule("daily", "00:00", "05:00")],
            utc(2026, 11, 1, 4, 30),
            utc(2026, 11, 1, 10, 0),
            id="ny-25-hour-day",
        ),
        # 00:30 GMT to 03:00 BST (02:00 UTC).
        pytest.param(
            "Europe/London",
            [rule("daily", "00:30", "03:00")],
            utc(2026, 3, 29, 0, 30),
            utc(2026, 3, 29, 2, 0),
            id="london-23-hour-day",
        ),
    ],
)
def test_open_until_across_dst(
    timezone: str, rules: list[dict[str, str]], at: datetime, expected: datetime
) -> None:
    assert hours(rules, timezone=timezone, holiday_region=None).open_until(at=at) == expected


# --- next_local_day_start ---------------------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "at", "expected"),
    [
        pytest.param(
            "Asia/Tokyo",
            jst(2026, 12, 1, 10, 0),
            utc(2026, 12, 1, 15, 0),
            id="tokyo-midnight-is-15:00-utc",
        ),
        pytest.param(
            "Asia/Tokyo",
            utc(2026, 12, 1, 20, 0),
            utc(2026, 12, 2, 15, 0),
            id="tokyo-local-date-not-utc-date",
        ),
        pytest.param(
            "Asia/Tokyo",
            jst(2026, 12, 1, 0, 0),
            utc(2026, 12, 1, 15, 0),
            id="tokyo-at-midnight-gives-the-next-one",
        ),
        pytest.param(
            "America/New_York",
            utc(2026, 3, 7, 17, 0),
            utc(2026, 3, 8, 5, 0),
            id="ny-start-of-spring-forward-day-est",
        ),
        pytest.param(
            "America/New_York",
            utc(2026, 3, 8, 16, 0),
            utc(2026, 3, 9, 4, 0),
            id="ny-after-spring-forward-edt",
        ),
        pytest.param(
            "America/New_York",
            utc(2026, 10, 31, 12, 0),
            utc(2026, 11, 1, 4, 0),
            id="ny-start-of-fall-back-day-edt",
        ),
        pytest.param(
            "America/New_York",
            utc(2026, 11, 1, 12, 0),
            utc(2026, 11, 2, 5, 0),
            id="ny-after-fall-back-est",
        ),
        pytest.param(
            "America/New_York",
            utc(2026, 3, 8, 3, 0),
            utc(2026, 3, 8, 5, 0),
            id="ny-utc-date-ahead-of-local-date",
        ),
        pytest.param(
            "Europe/London",
            utc(2026, 3, 28, 12, 0),
            utc(2026, 3, 29, 0, 0),
            id="london-start-of-spring-forward-day-gmt",
        ),
        pytest.param(
            "Europe/London",
            utc(2026, 3, 29, 12, 0),
            utc(2026, 3, 29, 23, 0),
            id="london-after-spring-forward-bst",
        ),
    ],
)
def test_next_local_day_start(timezone: str, at: datetime, expected: datetime) -> None:
    start = hours(NINE_TO_FIVE, timezone=timezone, holiday_region=None).next_local_day_start(at)
    assert start == expected
    assert start.utcoffset() == timedelta(0)


# --- openings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "rules", "region", "at", "count", "step", "expected"),
    [
        pytest.param(
            "Asia/Tokyo",
            None,
            "JP",
            jst(2026, 12, 1, 19, 45),
            5,
            timedelta(minutes=5),
            [
                jst(2026, 12, 1, 19, 45),
                jst(2026, 12, 1, 19, 50),
                jst(2026, 12, 1, 19, 55),
                jst(2026, 12, 2, 9, 0),
                jst(2026, 12, 2, 9, 5),
            ],
            id="end-of-day-continues-next-morning",
        ),
        pytest.param(
            "Asia/Tokyo",
            None,
            "JP",
            jst(2026, 12, 1, 8, 0),
            2,
            timedelta(minutes=30),
            [jst(2026, 12, 1, 9, 0), jst(2026, 12, 1, 9, 30)],
            id="before-opening-starts-at-opening",
        ),
        pytest.param(
            "Asia/Tokyo",
            None,
            "JP",
            jst(2026, 11, 22, 12, 0),
            2,
            timedelta(hours=1),
            [jst(2026, 11, 24, 9, 0), jst(2026, 11, 24, 10, 0)],
            id="holiday-skipped",
        ),
        pytest.param(
            "Asia/Tokyo",
            None,
            None,
            jst(2026, 11, 22, 12, 0),
            2,
            timedelta(hours=1),
            [jst(2026, 11, 23, 9, 0), jst(2026, 11, 23, 10, 0)],
            id="holiday-bookable-without-region",
        ),
        pytest.param(
            "Asia/Tokyo",
            None,
            "JP",
            jst(2026, 12, 1, 10, 0),
            0,
            timedelta(minutes=5),
            [],
            id="count-zero-yields-nothing",
        ),
        # 01:00–04:00 on the spring-forward night holds two real hours.
        pytest.param(
            "America/New_York",
            [rule("daily", "01:00", "04:00")],
            None,
            utc(2026, 3, 8, 0, 0),
            5,
            timedelta(minutes=30),
            [
                utc(2026, 3, 8, 6, 0),
                utc(2026, 3, 8, 6, 30),
                utc(2026, 3, 8, 7, 0),
                utc(2026, 3, 8, 7, 30),
                utc(2026, 3, 9, 5, 0),
            ],
            id="ny-spring-forward-window-is-shorter",
        ),
        # ... and four on the fall-back night.
        pytest.param(
            "America/New_York",
            [rule("daily", "01:00", "04:00")],
            None,
            utc(2026, 11, 1, 0, 0),
            9,
            timedelta(minutes=30),
            [
                utc(2026, 11, 1, 5, 0),
                utc(2026, 11, 1, 5, 30),
                utc(2026, 11, 1, 6, 0),
                utc(2026, 11, 1, 6, 30),
                utc(2026, 11, 1, 7, 0),
                utc(2026, 11, 1, 7, 30),
                utc(2026, 11, 1, 8, 0),
                utc(2026, 11, 1, 8, 30),
                utc(2026, 11, 2, 6, 0),
            ],
            id="ny-fall-back-window-is-longer",
        ),
    ],
)
def test_openings(
    timezone: str,
    rules: list[dict[str, str]] | None,
    region: str | None,
    at: datetime,
    count: int,
    step: timedelta,
    expected: list[datetime],
) -> None:
    calendar = hours(rules, timezone=timezone, holiday_region=region)
    assert list(calendar.openings(at=at, count=count, step=step)) == expected
