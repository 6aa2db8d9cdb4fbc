"""Slot booking as pure rules: when a promise is due, which slot it takes, and
what to offer instead when that slot is full or the time is outside calling hours.

An agent cannot keep two promises in the same minute, so time is cut into slots
of `slot_minutes` (counted from local midnight, so a 30-minute slot is :00 and
:30 on the wall clock the customer sees) and an agent holds at most
`per_agent_per_slot` promises in one. The promise is due exactly when asked;
the slot only limits capacity."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from dialer.campaign.hours import CallingHours

SUGGESTIONS = 3
# How far ahead suggestions are looked for: a week of 5-minute slots. Beyond it an
# agent's calendar is not the problem; the request is.
MAX_CANDIDATES = 7 * 24 * 12


class Refusal(StrEnum):
    slot_taken = "slot_taken"
    outside_calling_hours = "outside_calling_hours"


class PromiseKind(StrEnum):
    """How the customer put it: in N minutes, at a time, or within a window."""

    in_minutes = "in_minutes"
    at = "at"
    window = "window"


@dataclass(frozen=True, slots=True)
class Timing:
    kind: PromiseKind
    due_at: datetime
    window_end: datetime


def timing_of(
    *,
    now: datetime,
    grace: timedelta,
    in_minutes: int | None = None,
    at: datetime | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> Timing:
    """`in_minutes` counts from now; a window's start is its due time and its end
    the end of the window; otherwise the window is the grace period."""
    if in_minutes is not None:
        due = now + timedelta(minutes=in_minutes)
        return Timing(PromiseKind.in_minutes, due, due + grace)
    if at is not None:
        return Timing(PromiseKind.at, at, at + grace)
    assert window is not None
    return Timing(PromiseKind.window, window[0], window[1])


def slot_start(at: datetime, *, slot_minutes: int, tz: ZoneInfo) -> datetime:
    """The start of the slot holding `at`, slots counted from local midnight."""
    local = at.astimezone(tz)
    minutes = local.hour * 60 + local.minute
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    floored = midnight + timedelta(minutes=minutes // slot_minutes * slot_minutes)
    return floored.astimezone(UTC)


def candidate_times(
    *, asked_at: datetime, hours: CallingHours, slot_minutes: int, until: datetime | None = None
) -> Iterator[datetime]:
    """The asked time if it is open, then each later slot start inside calling
    hours (or the opening of hours that start mid-slot), earliest first."""
    step = timedelta(minutes=slot_minutes)
    at: datetime | None = hours.next_opening(at=asked_at)
    for _ in range(MAX_CANDIDATES):
        if at is None or (until is not None and at >= until):
            return
        yield at
        boundary = slot_start(at, slot_minutes=slot_minutes, tz=hours.tz) + step
        at = hours.next_opening(at=boundary)


def check_booking(
    *,
    asked_at: datetime,
    hours: CallingHours,
    slot_minutes: int,
    capacity: int,
    booked_in_slot: Callable[[datetime], int],
    until: datetime | None = None,
) -> tuple[Refusal | None, list[datetime]]:
    """None and no suggestions when `asked_at` can be booked; else why not, and the
    up to three earliest bookable times at or after it (before `until`: as far as
    `booked_in_slot` knows the calendar)."""
    refusal: Refusal | None = None
    if not hours.is_open(at=asked_at):
        refusal = Refusal.outside_calling_hours
    elif booked_in_slot(slot_start(asked_at, slot_minutes=slot_minutes, tz=hours.tz)) >= capacity:
        refusal = Refusal.slot_taken
    if refusal is None:
        return None, []
    suggestions: list[datetime] = []
    for at in candidate_times(
        asked_at=asked_at, hours=hours, slot_minutes=slot_minutes, until=until
    ):
        if booked_in_slot(slot_start(at, slot_minutes=slot_minutes, tz=hours.tz)) < capacity:
            suggestions.append(at)
            if len(suggestions) == SUGGESTIONS:
                break
    return refusal, suggestions
