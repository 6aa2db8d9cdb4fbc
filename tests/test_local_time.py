"""The local-time helpers every view and input goes through (dialer.wire,
dialer.campaign.hours.local_text, the sign-up date rule), table-driven."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers import jst, utc
from pydantic import BaseModel

from dialer.campaign.hours import local_text
from dialer.conversions.service import occurred_instant
from dialer.errors import Invalid
from dialer.wire import Instant, local_day, localized, localized_payload, wall_time_in

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")


class _Inner(BaseModel):
    at: Instant
    note: str


class _Outer(BaseModel):
    created_at: Instant
    ended_at: Instant | None
    inner: _Inner
    items: list[_Inner]
    by_key: dict[str, Instant]
    raw: dict[str, Any]
    count: int


def _outer() -> _Outer:
    return _Outer(
        created_at=utc(2026, 12, 1, 1),
        ended_at=None,
        inner=_Inner(at=utc(2026, 12, 1, 15, 30), note="2026-12-01T01:00:00+00:00"),
        items=[_Inner(at=utc(2026, 11, 30, 15), note="x")],
        by_key={"due": datetime(2026, 12, 1, 1)},  # naive: UTC, as stored
        raw={"signed_at": "2026-12-01T01:00:00+00:00"},
        count=3,
    )


def test_localized_renders_every_nested_instant_in_the_zone_and_nothing_else() -> None:
    before = _outer()
    out = localized(before, TOKYO)
    assert out.model_dump(mode="json") == {
        "created_at": "2026-12-01T10:00:00+09:00",
        "ended_at": None,
        "inner": {"at": "2026-12-02T00:30:00+09:00", "note": "2026-12-01T01:00:00+00:00"},
        "items": [{"at": "2026-12-01T00:00:00+09:00", "note": "x"}],
        "by_key": {"due": "2026-12-01T10:00:00+09:00"},
        # Text is shown as given (a lead's raw CSV row): only payloads are rewritten.
        "raw": {"signed_at": "2026-12-01T01:00:00+00:00"},
        "count": 3,
    }
    # The same instants, and the original left as it was.
    assert out.created_at == before.created_at
    assert before.model_dump(mode="json")["created_at"] == "2026-12-01T01:00:00+00:00"


def test_an_instant_keeps_the_offset_it_is_given_and_a_naive_one_is_utc() -> None:
    out = _Inner(at=jst(2026, 12, 1, 10), note="")
    assert out.model_dump(mode="json")["at"] == "2026-12-01T10:00:00+09:00"
    naive = _Inner(at=datetime(2026, 12, 1, 1), note="")
    assert naive.model_dump(mode="json")["at"] == "2026-12-01T01:00:00+00:00"


def test_localized_returns_an_untouched_model_as_is() -> None:
    model = _Inner.model_construct(at=None, note="n")
    assert localized(model, TOKYO) is model


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"due_at": "2026-12-01T01:10:00+00:00", "window_end": "2026-12-01T01:15:00+00:00"},
            {"due_at": "2026-12-01T10:10:00+09:00", "window_end": "2026-12-01T10:15:00+09:00"},
        ),
        (
            {"next_opening": "2026-12-02T00:00:00+00:00"},
            {"next_opening": "2026-12-02T09:00:00+09:00"},
        ),
        # The space-separated form str(datetime) writes is an instant too.
        ({"claimed_at": "2026-12-01 01:00:00+00:00"}, {"claimed_at": "2026-12-01T10:00:00+09:00"}),
        # Not an instant key, not an instant, no offset, not text: as stored.
        ({"note": "2026-12-01T01:00:00+00:00"}, {"note": "2026-12-01T01:00:00+00:00"}),
        ({"due_at": "soon"}, {"due_at": "soon"}),
        ({"due_at": "2026-12-01T01:00:00"}, {"due_at": "2026-12-01T01:00:00"}),
        ({"due_at": None, "promise_id": 7}, {"due_at": None, "promise_id": 7}),
        ({"local_date": "2026-12-01"}, {"local_date": "2026-12-01"}),
    ],
)
def test_localized_payload(payload: dict[str, Any], expected: dict[str, Any]) -> None:
    assert localized_payload(payload, TOKYO) == expected


@pytest.mark.parametrize(
    ("value", "zone", "expected"),
    [
        (jst(2026, 12, 1, 9), TOKYO, utc(2026, 12, 1, 0)),  # an offset wins
        (utc(2026, 12, 1, 9), TOKYO, utc(2026, 12, 1, 9)),
        (datetime(2026, 12, 1, 9), TOKYO, utc(2026, 12, 1, 0)),  # a Tokyo wall time
        (datetime(2026, 7, 1, 9), NEW_YORK, utc(2026, 7, 1, 13)),  # EDT
        (datetime(2026, 12, 1, 9), NEW_YORK, utc(2026, 12, 1, 14)),  # EST
        # 01:30 happens twice on 1 November 2026 in New York: the first (EDT).
        (datetime(2026, 11, 1, 1, 30), NEW_YORK, utc(2026, 11, 1, 5, 30)),
    ],
)
def test_wall_time_in(value: datetime, zone: ZoneInfo, expected: datetime) -> None:
    got = wall_time_in(value, zone, field="at")
    assert got == expected and got.tzinfo is UTC


def test_a_wall_time_the_clocks_skip_is_refused_naming_the_field() -> None:
    with pytest.raises(Invalid) as caught:
        wall_time_in(datetime(2026, 3, 8, 2, 30), NEW_YORK, field="window.start")
    assert caught.value.extra["field"] == "window.start"
    assert "America/New_York" in caught.value.detail


@pytest.mark.parametrize(
    ("day", "zone", "start", "hours"),
    [
        (date(2026, 12, 1), TOKYO, utc(2026, 11, 30, 15), 24),
        (date(2026, 3, 8), NEW_YORK, utc(2026, 3, 8, 5), 23),  # spring forward
        (date(2026, 11, 1), NEW_YORK, utc(2026, 11, 1, 4), 25),  # fall back
    ],
)
def test_local_day(day: date, zone: ZoneInfo, start: datetime, hours: int) -> None:
    first, end = local_day(day, zone)
    assert first == start
    assert (end - first).total_seconds() == hours * 3600


@pytest.mark.parametrize(
    ("at", "zone", "text"),
    [
        (utc(2026, 12, 1, 12), TOKYO, "2026-12-01 21:00 Asia/Tokyo"),
        (utc(2026, 12, 1, 15, 30, 25), TOKYO, "2026-12-02 00:30:25 Asia/Tokyo"),
        (utc(2026, 12, 1, 14), NEW_YORK, "2026-12-01 09:00 America/New_York"),
    ],
)
def test_local_text(at: datetime, zone: ZoneInfo, text: str) -> None:
    assert local_text(at, zone) == text


NOW = jst(2026, 12, 1, 9)  # 09:00 in Tokyo: 00:00 UTC, still 30 November in UTC's eyes


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, NOW),
        # Today, before noon (and before UTC's midnight turned): the day runs, so now.
        (date(2026, 12, 1), NOW),
        # A past day: its last second, so each call of that day may earn it.
        (date(2026, 11, 30), jst(2026, 11, 30, 23, 59, 59)),
        (datetime(2026, 12, 1, 8, 30), jst(2026, 12, 1, 8, 30)),  # a Tokyo wall time
        (utc(2026, 11, 30, 23), jst(2026, 12, 1, 8)),
    ],
)
def test_occurred_instant(value: datetime | date | None, expected: datetime) -> None:
    assert occurred_instant(value, zone=TOKYO, now=NOW) == expected


@pytest.mark.parametrize(
    "value",
    [date(2026, 12, 2), datetime(2026, 12, 1, 9, 30), jst(2026, 12, 1, 9, 0, 1)],
)
def test_occurred_instant_refuses_the_future_in_local_words(value: datetime | date) -> None:
    with pytest.raises(Invalid) as caught:
        occurred_instant(value, zone=TOKYO, now=NOW)
    assert caught.value.extra["field"] == "occurred_at"
    assert "in the future (it is 2026-12-01 09:00 Asia/Tokyo)" in caught.value.detail
