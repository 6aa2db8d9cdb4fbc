"""Calling hours: a pure rule over local time, weekdays and public holidays.

A window whose end is not after its start runs past midnight (22:00–02:00): it
belongs to the weekday it starts on. Holidays are judged on the local date of the
moment itself, so the after-midnight part of a window that runs into a holiday is
closed too. Local times are turned into instants through zoneinfo, so daylight
saving days get their real (23- or 25-hour) length.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ALIASES = {"daily": "mon-sun", "all": "mon-sun", "weekdays": "mon-fri", "weekends": "sat-sun"}
_TIME_RE = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")

# How far ahead we look for an opening. A year covers any holiday stretch; a
# campaign with no opening in a year has no opening at all.
SEARCH_DAYS = 400


def local_text(at: datetime, zone: ZoneInfo) -> str:
    """An instant for a sentence a person reads: `2026-12-01 21:00 Asia/Tokyo`
    (seconds only when there are some)."""
    local = at.astimezone(zone)
    shown = local.strftime("%Y-%m-%d %H:%M:%S" if local.second else "%Y-%m-%d %H:%M")
    return f"{shown} {zone.key}"


class ClosedBy(StrEnum):
    """What closes the lines at a moment: the weekly hours, or a public holiday
    that falls on a day (and time) they would otherwise be open."""

    calling_hours = "calling_hours"
    holiday = "holiday"


@dataclass(frozen=True, slots=True)
class Closure:
    """Why the lines are closed at a moment and when they open again: `holiday`
    names the holiday when that is what closes them; `opens_at` is None when no
    opening comes within the search horizon (no hours at all)."""

    by: ClosedBy
    holiday: str | None
    opens_at: datetime | None


class HoursSpecError(ValueError):
    """A calling-hours rule that cannot be understood; the message names the part."""


def parse_days(spec: str) -> frozenset[int]:
    """'mon-fri', 'sat', 'mon,wed,fri', 'fri-mon' (wraps), 'daily' → weekday numbers."""
    text = _ALIASES.get(spec.strip().lower(), spec.strip().lower())
    days: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise HoursSpecError(f"empty day in {spec!r}")
        if "-" in part:
            first, _, last = part.partition("-")
            a, b = _day_index(first, spec), _day_index(last, spec)
            i = a
            while True:
                days.add(i)
                if i == b:
                    break
                i = (i + 1) % 7
        else:
            days.add(_day_index(part, spec))
    return frozenset(days)


def _day_index(name: str, spec: str) -> int:
    # 'mon', 'monday', 'tues', 'thurs': at least three letters of the day's full name.
    # Any other word that merely starts with a day ('monkey', 'sunny') is an error.
    key = name.strip()
    for index, full in enumerate(_FULL_DAY_NAMES):
        if len(key) >= 3 and full.startswith(key):
            return index
    raise HoursSpecError(f"unknown day {key!r} in {spec!r} (use mon..sun)")


def parse_time(value: str) -> time:
    match = _TIME_RE.match(value.strip())
    if not match:
        raise HoursSpecError(f"time {value!r} is not HH:MM")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour == 24:
        if minute:
            raise HoursSpecError(f"time {value!r} is past 24:00")
        return time(0, 0)
    return time(hour, minute)


@dataclass(frozen=True, slots=True)
class Window:
    days: frozenset[int]
    start: time
    end: time

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True, slots=True)
class CallingHours:
    windows: tuple[Window, ...]
    tz: ZoneInfo
    holiday_region: str | None  # None: holidays are ordinary days

    @classmethod
    def from_spec(
        cls, *, rules: list[dict[str, str]], timezone: str, holiday_region: str | None
    ) -> CallingHours:
        windows = tuple(
            Window(
                days=parse_days(rule["days"]),
                start=parse_time(rule["start"]),
                end=parse_time(rule["end"]),
            )
            for rule in rules
        )
        return cls(windows=windows, tz=ZoneInfo(timezone), holiday_region=holiday_region)

    def is_holiday(self, day: date) -> bool:
        return self.holiday_region is not None and day in _holiday_calendar(self.holiday_region)

    def holiday_name(self, day: date) -> str | None:
        """The public holiday on `day` by name (two on one day are joined with
        '; '), or None on an ordinary day or when holidays are not skipped."""
        if self.holiday_region is None:
            return None
        name = _holiday_calendar(self.holiday_region).get(day)
        return str(name) if name else None

    def intervals(self, *, from_day: date, days: int) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals (UTC, sorted, merged) of windows starting on from_day and the
        following days, split at local midnight and with holiday pieces dropped.

        Computed a few days at a time: most questions are answered by today's windows,
        and the year-long search is only walked when a campaign is closed that long."""
        held: tuple[datetime, datetime] | None = None
        done, chunk = 0, 3
        while done < days:
            n = min(chunk, days - done)
            pieces = [
                piece
                for offset in range(done, done + n)
                for piece in self._day_pieces(from_day + timedelta(days=offset))
            ]
            if held:
                pieces.append(held)
            pieces.sort()
            merged = list(_merge(pieces))
            # The last stretch may continue into the next chunk's first window.
            held = merged.pop() if merged else None
            yield from merged
            done += n
            chunk = min(chunk * 2, 64)
        if held:
            yield held

    def _day_pieces(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        for window in self.windows:
            if day.weekday() not in window.days:
                continue
            end_day = day + timedelta(days=1) if window.crosses_midnight else day
            local_start = datetime.combine(day, window.start, self.tz)
            local_end = datetime.combine(end_day, window.end, self.tz)
            midnight = datetime.combine(day + timedelta(days=1), time(0), self.tz)
            parts = [(local_start, local_end)]
            if window.crosses_midnight and local_end > midnight:
                parts = [(local_start, midnight), (midnight, local_end)]
            for start, end in parts:
                if self.is_holiday(start.date()):
                    continue
                start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
                if end_utc > start_utc:
                    yield start_utc, end_utc

    def is_open(self, *, at: datetime) -> bool:
        # Only the windows starting yesterday or today can cover `at`; no merging
        # needed, so round-the-clock hours cost no more than office hours.
        local_day = at.astimezone(self.tz).date()
        return any(
            start <= at < end
            for day in (local_day - timedelta(days=1), local_day)
            for start, end in self._day_pieces(day)
        )

    def open_until(self, *, at: datetime) -> datetime | None:
        """End of the open stretch containing `at`, or None when closed."""
        local_day = at.astimezone(self.tz).date()
        # The stretch may run for days (round-the-clock hours): walk as far as it goes.
        # Stretches are sorted, so the first one starting after `at` ends the search.
        for start, end in self.intervals(from_day=local_day - timedelta(days=1), days=SEARCH_DAYS):
            if start > at:
                return None
            if at < end:
                return end
        return None

    def next_opening(self, *, at: datetime) -> datetime | None:
        """`at` itself when open, else the start of the next open stretch."""
        local_day = at.astimezone(self.tz).date()
        for start, end in self.intervals(from_day=local_day - timedelta(days=1), days=SEARCH_DAYS):
            if end <= at:
                continue
            return max(start, at).astimezone(UTC)
        return None

    def openings(self, *, at: datetime, count: int, step: timedelta) -> Iterator[datetime]:
        """Bookable instants at or after `at`, `step` apart inside open stretches."""
        if count <= 0:
            return
        local_day = at.astimezone(self.tz).date()
        produced = 0
        for start, end in self.intervals(from_day=local_day - timedelta(days=1), days=SEARCH_DAYS):
            t = max(start, at)
            while t < end:
                yield t
                produced += 1
                if produced >= count:
                    return
                t += step

    def closed_reason(self, *, at: datetime) -> ClosedBy | None:
        """'holiday', 'calling_hours', or None when open: eligibility names the rule."""
        if self.is_open(at=at):
            return None
        # "holiday" only when the holiday is what closes it: 03:00 on a holiday is
        # closed by the calling hours, and would be on any other day too.
        without_holidays = CallingHours(windows=self.windows, tz=self.tz, holiday_region=None)
        if self.holiday_region is not None and without_holidays.is_open(at=at):
            return ClosedBy.holiday
        return ClosedBy.calling_hours

    def closure(self, *, at: datetime) -> Closure | None:
        """None when open at `at`; else what closes the lines (the holiday by name)
        and the next opening. Holidays are judged on the local date of `at`, as
        `is_open` judges them, so the after-midnight part of a night window that
        runs into a holiday names that holiday."""
        by = self.closed_reason(at=at)
        if by is None:
            return None
        name = self.holiday_name(self.local_date(at)) if by == ClosedBy.holiday else None
        return Closure(by=by, holiday=name, opens_at=self.next_opening(at=at))

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()

    def next_local_day_start(self, at: datetime) -> datetime:
        day = self.local_date(at) + timedelta(days=1)
        return datetime.combine(day, time(0), self.tz).astimezone(UTC)


def _merge(pieces: list[tuple[datetime, datetime]]) -> Iterator[tuple[datetime, datetime]]:
    current: tuple[datetime, datetime] | None = None
    for start, end in pieces:
        if current and start <= current[1]:
            current = (current[0], max(current[1], end))
            continue
        if current:
            yield current
        current = (start, end)
    if current:
        yield current


@lru_cache(maxsize=64)
def _holiday_calendar(region: str) -> holidays.HolidayBase:
    # Years are filled in lazily on lookup; the object is cached per region.
    return holidays.country_holidays(region)


def validate_region(region: str) -> None:
    """A holiday region we have no calendar for is a campaign error, not a silent no-op."""
    try:
        _holiday_calendar(region.upper())
    except NotImplementedError as exc:
        raise HoursSpecError(f"no public-holiday calendar for region {region!r}") from exc
