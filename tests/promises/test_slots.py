"""Slot booking as a pure rule: no HTTP, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from helpers import JST, jst

from dialer.campaign.hours import CallingHours
from dialer.promises.slots import Refusal, check_booking, slot_start, timing_of

OFFICE = CallingHours.from_spec(
    rules=[
        {"days": "mon-fri", "start": "09:00", "end": "20:00"},
        {"days": "sat", "start": "10:00", "end": "18:00"},
    ],
    timezone="Asia/Tokyo",
    holiday_region="JP",
)
ODD_START = CallingHours.from_spec(
    rules=[{"days": "mon-sun", "start": "09:02", "end": "09:20"}],
    timezone="Asia/Tokyo",
    holiday_region=None,
)
KOLKATA = ZoneInfo("Asia/Kolkata")


@pytest.mark.parametrize(
    ("at", "minutes", "tz", "expected"),
    [
        (jst(2026, 12, 1, 10, 7), 5, JST, jst(2026, 12, 1, 10, 5)),
        (jst(2026, 12, 1, 10, 5), 5, JST, jst(2026, 12, 1, 10, 5)),
        (jst(2026, 12, 1, 10, 4, 59), 5, JST, jst(2026, 12, 1, 10, 0)),
        (jst(2026, 12, 1, 10, 45), 30, JST, jst(2026, 12, 1, 10, 30)),
        (jst(2026, 12, 1, 0, 20), 7, JST, jst(2026, 12, 1, 0, 14)),
        # Slots follow the local wall clock, also at a half-hour offset.
        (
            datetime(2026, 12, 1, 10, 15, tzinfo=KOLKATA),
            60,
            KOLKATA,
            datetime(2026, 12, 1, 10, 0, tzinfo=KOLKATA),
        ),
    ],
)
def test_slot_start(at: datetime, minutes: int, tz: ZoneInfo, expected: datetime) -> None:
    got = slot_start(at.astimezone(UTC), slot_minutes=minutes, tz=tz)
    assert got == expected and got.tzinfo == UTC


NOW = jst(2026, 12, 1, 10, 0)


@pytest.mark.parametrize(
    ("kwargs", "kind", "due", "end"),
    [
        ({"in_minutes": 10}, "in_minutes", jst(2026, 12, 1, 10, 10), jst(2026, 12, 1, 10, 15)),
        ({"in_minutes": 0}, "in_minutes", NOW, jst(2026, 12, 1, 10, 5)),
        ({"at": jst(2026, 12, 1, 14)}, "at", jst(2026, 12, 1, 14), jst(2026, 12, 1, 14, 5)),
        (
            {"window": (jst(2026, 12, 1, 12), jst(2026, 12, 1, 13))},
            "window",
            jst(2026, 12, 1, 12),
            jst(2026, 12, 1, 13),
        ),
    ],
)
def test_timing(kwargs: dict[str, object], kind: str, due: datetime, end: datetime) -> None:
    timing = timing_of(now=NOW, grace=timedelta(minutes=5), **kwargs)  # type: ignore[arg-type]
    assert (timing.kind, timing.due_at, timing.window_end) == (kind, due, end)


def _booked(*slots: datetime, n: int = 1) -> dict[datetime, int]:
    return {s.astimezone(UTC): n for s in slots}


@pytest.mark.parametrize(
    ("hours", "asked", "capacity", "booked", "refusal", "suggestions"),
    [
        # Free: booked as asked, nothing to suggest.
        (OFFICE, jst(2026, 12, 1, 10, 32), 1, {}, None, []),
        (OFFICE, jst(2026, 12, 1, 10, 32), 2, _booked(jst(2026, 12, 1, 10, 30)), None, []),
        # Taken: the next slot starts, at or after the time asked.
        (
            OFFICE,
            jst(2026, 12, 1, 10, 32),
            1,
            _booked(jst(2026, 12, 1, 10, 30)),
            Refusal.slot_taken,
            [jst(2026, 12, 1, 10, 35), jst(2026, 12, 1, 10, 40), jst(2026, 12, 1, 10, 45)],
        ),
        # Full slots are skipped.
        (
            OFFICE,
            jst(2026, 12, 1, 10, 30),
            2,
            _booked(jst(2026, 12, 1, 10, 30), jst(2026, 12, 1, 10, 40), n=2),
            Refusal.slot_taken,
            [jst(2026, 12, 1, 10, 35), jst(2026, 12, 1, 10, 45), jst(2026, 12, 1, 10, 50)],
        ),
        # The last slots of the day, then the next morning.
        (
            OFFICE,
            jst(2026, 12, 1, 19, 50),
            1,
            _booked(jst(2026, 12, 1, 19, 50)),
            Refusal.slot_taken,
            [jst(2026, 12, 1, 19, 55), jst(2026, 12, 2, 9, 0), jst(2026, 12, 2, 9, 5)],
        ),
        # After hours: the next opening first (19:52 + 15 min).
        (
            OFFICE,
            jst(2026, 12, 1, 20, 7),
            1,
            {},
            Refusal.outside_calling_hours,
            [jst(2026, 12, 2, 9, 0), jst(2026, 12, 2, 9, 5), jst(2026, 12, 2, 9, 10)],
        ),
        # ... skipping a full opening slot.
        (
            OFFICE,
            jst(2026, 12, 1, 20, 7),
            1,
            _booked(jst(2026, 12, 2, 9, 0)),
            Refusal.outside_calling_hours,
            [jst(2026, 12, 2, 9, 5), jst(2026, 12, 2, 9, 10), jst(2026, 12, 2, 9, 15)],
        ),
        # Saturday hours 10-18; Sunday closed.
        (
            OFFICE,
            jst(2026, 12, 5, 17, 58),
            1,
            _booked(jst(2026, 12, 5, 17, 55)),
            Refusal.slot_taken,
            [jst(2026, 12, 7, 9, 0), jst(2026, 12, 7, 9, 5), jst(2026, 12, 7, 9, 10)],
        ),
        # A holiday (New Year's Day, a Friday) is closed all day.
        (
            OFFICE,
            jst(2027, 1, 1, 11, 0),
            1,
            {},
            Refusal.outside_calling_hours,
            [jst(2027, 1, 2, 10, 0), jst(2027, 1, 2, 10, 5), jst(2027, 1, 2, 10, 10)],
        ),
        # Hours opening mid-slot: the opening itself, then slot starts.
        (
            ODD_START,
            jst(2026, 12, 1, 8, 0),
            1,
            {},
            Refusal.outside_calling_hours,
            [jst(2026, 12, 1, 9, 2), jst(2026, 12, 1, 9, 5), jst(2026, 12, 1, 9, 10)],
        ),
        # Fewer than three left today, none free tomorrow before 9:10.
        (
            ODD_START,
            jst(2026, 12, 1, 9, 16),
            1,
            _booked(jst(2026, 12, 1, 9, 15), jst(2026, 12, 2, 9, 0), jst(2026, 12, 2, 9, 5)),
            Refusal.slot_taken,
            [jst(2026, 12, 2, 9, 10), jst(2026, 12, 2, 9, 15), jst(2026, 12, 3, 9, 2)],
        ),
    ],
)
def test_check_booking(
    hours: CallingHours,
    asked: datetime,
    capacity: int,
    booked: dict[datetime, int],
    refusal: Refusal | None,
    suggestions: list[datetime],
) -> None:
    got_refusal, got = check_booking(
        asked_at=asked.astimezone(UTC),
        hours=hours,
        slot_minutes=5,
        capacity=capacity,
        booked_in_slot=lambda at: booked.get(at, 0),
    )
    assert got_refusal == refusal
    assert got == [s.astimezone(UTC) for s in suggestions]


def test_no_calling_hours_at_all_suggests_nothing() -> None:
    never = CallingHours(windows=(), tz=JST, holiday_region=None)
    refusal, got = check_booking(
        asked_at=NOW, hours=never, slot_minutes=5, capacity=1, booked_in_slot=lambda _at: 0
    )
    assert refusal == Refusal.outside_calling_hours and got == []
