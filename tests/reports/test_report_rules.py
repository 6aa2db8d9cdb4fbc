"""The reports' arithmetic, table-driven: rates, the median of days, local hours
and days from 15-minute buckets (daylight saving and odd offsets included), the
trend's days, and the chart's bound on agents drawn."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dialer.reports import charts, rules

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
KATHMANDU = ZoneInfo("Asia/Kathmandu")  # +05:45
LONDON = ZoneInfo("Europe/London")


def _slot(iso: str) -> int:
    at = datetime.fromisoformat(iso)
    seconds = int(at.timestamp())
    assert seconds % rules.BUCKET_SECONDS == 0, iso
    return seconds // rules.BUCKET_SECONDS


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [(0, 0, None), (5, 0, None), (0, 3, 0.0), (1, 3, 0.3333), (2, 3, 0.6667), (3, 3, 1.0)],
)
def test_rate(part: int, whole: int, expected: float | None) -> None:
    assert rules.rate(part, whole) == expected


def _at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([], None),
        ([(_at(1), _at(2))], 1.0),
        ([(_at(1), _at(2)), (_at(1), _at(4))], 2.0),  # even count: the mean of the middle two
        ([(_at(1), _at(1, 12)), (_at(1), _at(3)), (_at(1), _at(11))], 2.0),
        ([(_at(2), _at(1))], None),  # a conversion before the first call is not a duration
        ([(_at(2), _at(1)), (_at(1), _at(1, 6))], 0.25),
        ([(_at(1), _at(1))], 0.0),
        # SQLite's aggregates hand back naive UTC text.
        ([("2026-12-01 00:00:00", _at(1, 8))], 0.33),
    ],
)
def test_median_days(pairs: list[tuple[Any, datetime]], expected: float | None) -> None:
    assert rules.median_days(pairs) == expected


@pytest.mark.parametrize(
    ("tz", "slots", "expected"),
    [
        # Tokyo: 00:45 UTC is 09:45, 15:00 UTC is 00:00 next day.
        (TOKYO, [("2026-12-01T00:45:00+00:00", 3, 1), ("2026-12-01T15:00:00+00:00", 1, 1)],
         {9: (3, 1), 0: (1, 1)}),
        # New York, clocks back on 1 Nov 2026: 01:00–02:00 happens twice (EDT, then EST).
        (NEW_YORK, [("2026-11-01T05:30:00+00:00", 1, 1), ("2026-11-01T06:30:00+00:00", 2, 0),
                    ("2026-11-01T07:00:00+00:00", 1, 0)],
         {1: (3, 1), 2: (1, 0)}),
        # New York, clocks forward on 8 Mar 2026: 02:00 does not exist; 07:00 UTC is 03:00.
        (NEW_YORK, [("2026-03-08T06:45:00+00:00", 1, 0), ("2026-03-08T07:00:00+00:00", 1, 1)],
         {1: (1, 0), 3: (1, 1)}),
        # Kathmandu, +05:45: 03:15 UTC is 09:00, 03:00 UTC is 08:45.
        (KATHMANDU, [("2026-12-01T03:15:00+00:00", 2, 1), ("2026-12-01T03:00:00+00:00", 1, 0)],
         {9: (2, 1), 8: (1, 0)}),
        # Buckets of one local hour add up.
        (LONDON, [("2026-12-01T10:00:00+00:00", 1, 0), ("2026-12-01T10:45:00+00:00", 3, 3)],
         {10: (4, 3)}),
        (TOKYO, [], {}),
    ],
)  # fmt: skip
def test_local_hours(
    tz: ZoneInfo, slots: list[tuple[str, int, int]], expected: dict[int, tuple[int, int]]
) -> None:
    hours = rules.local_hours([(_slot(at), c, a) for at, c, a in slots], tz=tz)
    assert [h["hour"] for h in hours] == list(range(24))
    for h in hours:
        calls, answered = expected.get(h["hour"], (0, 0))
        assert (h["calls"], h["answered"]) == (calls, answered), h
        assert h["answer_rate"] == rules.rate(answered, calls)


@pytest.mark.parametrize(
    ("tz", "at", "day"),
    [
        (TOKYO, "2026-12-01T14:45:00+00:00", date(2026, 12, 1)),  # 23:45 JST
        (TOKYO, "2026-12-01T15:00:00+00:00", date(2026, 12, 2)),  # midnight JST
        (NEW_YORK, "2026-11-02T04:45:00+00:00", date(2026, 11, 1)),  # 23:45 EST
        (NEW_YORK, "2026-11-01T03:45:00+00:00", date(2026, 10, 31)),  # 23:45 EDT
        (KATHMANDU, "2026-12-01T18:15:00+00:00", date(2026, 12, 2)),  # 00:00 +05:45
        (KATHMANDU, "2026-12-01T18:00:00+00:00", date(2026, 12, 1)),
    ],
)
def test_day_of_a_bucket(tz: ZoneInfo, at: str, day: date) -> None:
    assert rules.day_of(_slot(at), tz=tz) == day


D = date
DEC1 = "2026-11-30T15:00:00+00:00"  # Tokyo's 1 December starts
DEC2 = "2026-12-01T15:00:00+00:00"
DEC3 = "2026-12-02T15:00:00+00:00"


@pytest.mark.parametrize(
    ("since", "until", "seen", "expected"),
    [
        # Tokyo's 1–2 December as the period gives them: until is exclusive.
        (DEC1, DEC3, [], [D(2026, 12, 1), D(2026, 12, 2)]),
        # No bounds: the days with data, the gaps filled.
        (None, None, [D(2026, 12, 3), D(2026, 12, 1)], [D(2026, 12, d) for d in (1, 2, 3)]),
        (None, None, [], []),
        # One bound: to (or from) the data.
        (DEC1, None, [D(2026, 12, 2)], [D(2026, 12, 1), D(2026, 12, 2)]),
        (None, DEC3, [D(2026, 12, 1)], [D(2026, 12, 1), D(2026, 12, 2)]),
        # One bound and no data: that day.
        (DEC1, None, [], [D(2026, 12, 1)]),
        # Data outside the bounds does not widen them (the queries filter it anyway).
        (DEC1, DEC2, [D(2026, 11, 1)], [D(2026, 12, 1)]),
    ],
)  # fmt: skip
def test_trend_days(
    since: str | None, until: str | None, seen: list[date], expected: list[date]
) -> None:
    def parse(x: str | None) -> datetime | None:
        return datetime.fromisoformat(x) if x else None

    assert rules.trend_days(since=parse(since), until=parse(until), seen=seen, tz=TOKYO) == expected


@pytest.mark.parametrize(
    ("since", "until", "seen", "field"),
    [
        ("2025-01-01T00:00:00+09:00", "2026-12-31T00:00:00+09:00", [], "since"),
        (None, "2026-12-31T00:00:00+09:00", [D(2024, 1, 1)], "until"),
        (None, None, [D(2024, 1, 1), D(2026, 1, 1)], "since"),
    ],
)
def test_trend_days_are_bounded(
    since: str | None, until: str | None, seen: list[date], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        rules.trend_days(
            since=datetime.fromisoformat(since) if since else None,
            until=datetime.fromisoformat(until) if until else None,
            seen=seen,
            tz=TOKYO,
        )
    # A year (366 days) is fine.
    start = datetime(2024, 1, 1, tzinfo=TOKYO)
    assert len(rules.trend_days(since=start, until=None, seen=[D(2024, 12, 31)], tz=TOKYO)) == 366


def _agent(agent_id: int, kept: int, missed: int) -> dict[str, Any]:
    return {"agent_id": agent_id, "name": f"Agent {agent_id}", "kept": kept, "missed": missed}


@pytest.mark.parametrize(
    ("agents", "drawn"),
    [
        ([], []),
        ([_agent(1, 0, 0)], []),  # nothing due: no line
        ([_agent(1, 1, 0), _agent(2, 0, 3), _agent(3, 2, 2)], [3, 2, 1]),
        ([_agent(2, 1, 1), _agent(1, 2, 0)], [1, 2]),  # ties by id
        ([_agent(i, i, 0) for i in range(1, 121)], list(range(120, 70, -1))),
    ],
)
def test_the_chart_draws_at_most_50_agents_most_due_first(
    agents: list[dict[str, Any]], drawn: list[int]
) -> None:
    assert [a["agent_id"] for a in charts.drawn_agents(agents)] == drawn
