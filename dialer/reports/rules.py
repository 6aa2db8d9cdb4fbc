"""The reports' arithmetic, apart from the queries: rates, the median, local hours
and local days. Data in, figures out; the queries in `dialer.reports.campaign`
hand these counts per 15-minute bucket and the rows they compare."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# A quarter of an hour divides every UTC offset in use (+05:45 included), so
# counting rows per 15-minute bucket in SQL and naming each bucket's local hour
# (or day) here gives exact local hours and days, DST included, without moving
# rows to Python.
BUCKET_SECONDS = 900
# A daily trend covers at most a year: 366 points per agent line.
MAX_TREND_DAYS = 366


def rate(part: int, whole: int) -> float | None:
    """`part / whole` to 4 places; None when there is nothing to divide by."""
    return round(part / whole, 4) if whole else None


def bucket_start(slot: int) -> datetime:
    """The UTC instant a 15-minute bucket number starts at."""
    return datetime.fromtimestamp(int(slot) * BUCKET_SECONDS, UTC)


def local_hours(buckets: Iterable[tuple[int, int, int]], *, tz: ZoneInfo) -> list[dict[str, Any]]:
    """Every local hour 0–23 with the calls and answered calls of the buckets
    `(slot, calls, answered)` that start in it. On the night the clocks go back
    the repeated hour counts both of its passes; the skipped hour has none."""
    counts = [[0, 0] for _ in range(24)]
    for slot, calls, answered in buckets:
        hour = bucket_start(slot).astimezone(tz).hour
        counts[hour][0] += int(calls)
        counts[hour][1] += int(answered)
    return [
        {"hour": hour, "calls": c, "answered": a, "answer_rate": rate(a, c)}
        for hour, (c, a) in enumerate(counts)
    ]


def day_of(slot: int, *, tz: ZoneInfo) -> date:
    """The local day of `tz` a 15-minute bucket falls on."""
    return bucket_start(slot).astimezone(tz).date()


def days_between(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, both included (none when last < first)."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def trend_days(
    *, since: datetime | None, until: datetime | None, seen: Iterable[date], tz: ZoneInfo
) -> list[date]:
    """The local days a trend covers: from the period's first day (or the first
    day with data) through its last day (`until` is exclusive: a period ending at
    midnight ends the day before), or the last day with data. Raises ValueError
    naming the bound past `MAX_TREND_DAYS`."""
    seen = sorted(set(seen))
    first = since.astimezone(tz).date() if since is not None else (seen[0] if seen else None)
    last = (
        (until - timedelta(microseconds=1)).astimezone(tz).date()
        if until is not None
        else (seen[-1] if seen else None)
    )
    if first is None or last is None:
        # One bound and no data: the trend is that one day.
        first = last = first or last
    if first is None or last is None:
        return []
    days = days_between(first, last)
    if len(days) > MAX_TREND_DAYS:
        raise ValueError("since" if since is not None or until is None else "until")
    return days


def median_days(pairs: Iterable[tuple[datetime, datetime]]) -> float | None:
    """The median of `to - from` in days (2 places) over the pairs `(from, to)`
    where `to` is not before `from`; None when none is."""
    days = [
        (to - start).total_seconds() / 86400
        for start, to in ((aware(a), aware(b)) for a, b in pairs)
        if start <= to
    ]
    return round(statistics.median(days), 2) if days else None


def aware(value: datetime | str) -> datetime:
    """Aggregates (min) skip the column type, so SQLite hands back a naive UTC
    value, or text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
