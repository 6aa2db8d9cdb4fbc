"""The compliance report's rules, table-driven: a lead's history held to the four
per-dial checks, the do-not-call stretches from the audit, the windows' days and
the abandon windows' counts against the cap."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dialer.campaign.hours import CallingHours
from dialer.reports.compliance_rules import (
    AnswerCounts,
    Check,
    HistoryEvent,
    Listing,
    Setting,
    check_lead,
    listed_at,
    listings,
    setting_at,
    settings_timeline,
    window_ends,
)

TOKYO = ZoneInfo("Asia/Tokyo")
HOURS = CallingHours.from_spec(
    rules=[{"days": "mon-sat", "start": "09:00", "end": "20:00"}],
    timezone="Asia/Tokyo",
    holiday_region=None,
)
PHONE = "+819011112222"


def t(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TOKYO)


def history(*rows: tuple[datetime, str, dict[str, Any]]) -> list[HistoryEvent]:
    return [HistoryEvent(id=n, at=at, kind=kind, detail=d) for n, (at, kind, d) in enumerate(rows)]


def placed(at: datetime, call_id: int, **kw: Any) -> tuple[datetime, str, dict[str, Any]]:
    return (at, "call_placed", {"call_id": call_id, "to": PHONE, **kw})


def _found(
    events: list[HistoryEvent], *, dnc: dict[str, list[Listing]] | None = None
) -> list[tuple[Check, int | None]]:
    found = check_lead(
        lead_id=7,
        events=events,
        hours=lambda _at: HOURS,
        dnc=dnc or {},
        no_recall=lambda _at: timedelta(hours=72),
        since=t(0),
        until=t(0, day=3),
        reach=t(0, day=1) - timedelta(days=30),
        zone=TOKYO,
    )
    assert all(v.lead_id == 7 for v in found.violations)
    return [(v.check, v.call_id) for v in found.violations]


def _policy(days: int, max_rate: float) -> Callable[[datetime], tuple[timedelta, float]]:
    return lambda _at: (timedelta(days=days), max_rate)


LISTED = {PHONE: [Listing(start=t(11), end=None)]}


@pytest.mark.parametrize(
    ("events", "dnc", "expected"),
    [
        ([placed(t(10), 1)], None, []),
        # 23:00 in Tokyo is after 20:00; 08:59 before 09:00; Sunday 6 December closed.
        ([placed(t(23), 1)], None, [(Check.outside_calling_hours, 1)]),
        ([placed(t(8, 59), 1)], None, [(Check.outside_calling_hours, 1)]),
        # A dial before the number was listed is clean; one after it is not.
        ([placed(t(10), 1), placed(t(12), 2)], LISTED, [(Check.dnc_dialed, 2)]),
        # Lifted at 12:00: a dial at 12:00 and after is clean again.
        (
            [placed(t(11, 30), 1), placed(t(12), 2)],
            {PHONE: [Listing(start=t(11), end=t(12))]},
            [(Check.dnc_dialed, 1)],
        ),
        # Listed at the very instant of the dial: only when the lead's history
        # shows the listing written first.
        ([placed(t(11), 1)], LISTED, []),
        (
            [(t(11), "dnc_added", {"phone": PHONE}), placed(t(11), 1)],
            LISTED,
            [(Check.dnc_dialed, 1)],
        ),
        # A refusal (or "don't call me") forbids every later dial, even at its instant.
        (
            [placed(t(10), 1), (t(10, 5), "disposition", {"call_id": 1, "outcome": "refused"}),
             placed(t(10, 5), 2)],
            None,
            [(Check.after_refusal, 2)],
        ),
        (
            [(t(10), "disposition", {"call_id": 1, "outcome": "dnc"}), placed(t(15), 2)],
            None,
            [(Check.after_refusal, 2)],
        ),
        # "Not now" is no refusal.
        (
            [(t(10), "disposition", {"call_id": 1, "outcome": "not_interested"}),
             placed(t(15), 2)],
            None,
            [],
        ),
        # An abandoned lead re-called with no agent reserved within 72 h; one
        # reserved for an agent may be; 72 h later anyone may.
        (
            [(t(10), "call_abandoned", {"call_id": 1}), placed(t(11), 2, reserved=False)],
            None,
            [(Check.recalled_after_abandon, 2)],
        ),
        ([(t(10), "call_abandoned", {"call_id": 1}), placed(t(11), 2, reserved=True)], None, []),
        # A dial recorded before `reserved` was (issue 16): an agent held it.
        ([(t(10), "call_abandoned", {"call_id": 1}), placed(t(11), 2)], None, []),
        (
            [(t(10, day=1) - timedelta(hours=72), "call_abandoned", {"call_id": 1}),
             placed(t(10), 2, reserved=False)],
            None,
            [],
        ),
        # One dial may break several rules at once.
        (
            [(t(10), "disposition", {"call_id": 1, "outcome": "refused"}), placed(t(23), 2)],
            LISTED,
            [(Check.outside_calling_hours, 2), (Check.dnc_dialed, 2), (Check.after_refusal, 2)],
        ),
        # Dials outside the period are not held to it (before since, at until).
        ([placed(t(23, day=1) - timedelta(days=1), 1), placed(t(0, day=3), 2)], None, []),
    ],
)  # fmt: skip
def test_each_dial_is_held_to_the_rules(
    events: list[tuple[datetime, str, dict[str, Any]]],
    dnc: dict[str, list[Listing]] | None,
    expected: list[tuple[Check, int]],
) -> None:
    assert _found(history(*events), dnc=dnc) == expected


def test_dials_and_the_calls_a_person_answered() -> None:
    found = check_lead(
        lead_id=7,
        events=history(
            placed(t(10), 1),
            (t(10, 1), "call_status", {"call_id": 1, "status": "in-progress", "answered_by": None}),
            (t(10, 3), "disposition",
             {"call_id": 1, "outcome": "converted", "answered_by": "human"}),
            placed(t(11), 2),
            (t(11, 1), "call_status", {"call_id": 2, "answered_by": "unknown"}),
            (t(11, 1), "call_abandoned", {"call_id": 2}),
            placed(t(12), 3),
            (t(12, 1), "answered_by", {"call_id": 3, "answered_by": "human"}),
            (t(12, 1), "answered_by", {"call_id": 3, "answered_by": "machine"}),
            # Placed before the reach of the windows: not counted.
            placed(t(10) - timedelta(days=40), 4),
            (t(10) - timedelta(days=40), "call_abandoned", {"call_id": 4}),
        ),
        hours=lambda _at: HOURS,
        dnc={},
        no_recall=lambda _at: timedelta(hours=72),
        since=t(0),
        until=t(0, day=2),
        reach=t(0) - timedelta(days=30),
        zone=TOKYO,
    )  # fmt: skip
    assert found.dials == 3
    # The last word on who answered wins (AMD said human, then machine).
    assert found.answered == [(t(10), False), (t(11), True)]
    assert found.violations == []


def test_listings_from_the_audit_and_the_list() -> None:
    other = "+819099998888"
    legacy = "+819077776666"
    stretches = listings(
        audit=[
            (PHONE, t(9), "added"),
            (PHONE, t(10), "imported"),  # listed already: the same stretch
            (PHONE, t(11), "lifted"),
            (PHONE, t(12), "added"),
            (other, t(9), "lifted"),  # a lift with nothing listed changes nothing
        ],
        entries=[(PHONE, t(12)), (legacy, t(8))],
    )
    assert stretches == {
        PHONE: [Listing(start=t(9), end=t(11)), Listing(start=t(12), end=None)],
        other: [],
        # Listed before the audit was kept: since the entry's created_at.
        legacy: [Listing(start=t(8), end=None)],
    }
    assert listed_at(stretches[PHONE], at=t(10, 59), added_before=False) == Listing(t(9), t(11))
    assert listed_at(stretches[PHONE], at=t(11), added_before=False) is None
    assert listed_at(stretches[PHONE], at=t(13), added_before=False) == Listing(t(12), None)


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        # Two whole local days: windows ending at each midnight.
        (t(0), t(0, day=3), [(date(2026, 12, 1), t(0, day=2)), (date(2026, 12, 2), t(0, day=3))]),
        # Ending inside a day: the last window ends with the period.
        (t(9), t(15), [(date(2026, 12, 1), t(15))]),
        (t(23), t(1, day=2), [(date(2026, 12, 1), t(0, day=2)), (date(2026, 12, 2), t(1, day=2))]),
    ],
)
def test_window_ends(
    since: datetime, until: datetime, expected: list[tuple[date, datetime]]
) -> None:
    ends = window_ends(since=since, until=until, zone=TOKYO, policy=_policy(30, 0.03))
    assert [(e.day, e.until_at) for e in ends] == expected


def test_window_ends_on_a_daylight_saving_day() -> None:
    new_york = ZoneInfo("America/New_York")
    since = datetime(2026, 3, 8, tzinfo=new_york)
    until = since.astimezone(UTC) + timedelta(hours=47)
    ends = window_ends(since=since, until=until, zone=new_york, policy=_policy(30, 0.03))
    # 8 March 2026 is 23 hours long there.
    assert [e.until_at - since for e in ends] == [timedelta(hours=23), timedelta(hours=47)]


def test_abandon_windows_count_the_calls_placed_in_each() -> None:
    counts = AnswerCounts()
    for n in range(97):
        counts.add(at=t(10) + timedelta(seconds=n), abandoned=False)
    for n in range(3):
        counts.add(at=t(11) + timedelta(seconds=n), abandoned=True)
    # One more abandon on the 2nd: 4 of 101 is over 3%.
    counts.add(at=t(10, day=2), abandoned=True)
    ends = window_ends(since=t(0), until=t(0, day=4), zone=TOKYO, policy=_policy(1, 0.03))
    windows = counts.windows(ends=ends)
    assert [(w.answered, w.abandoned, w.rate, w.over) for w in windows] == [
        (100, 3, 0.03, False),  # exactly at the cap is not over it
        (1, 1, 1.0, True),  # the 1st's calls have left the 24-hour window
        (0, 0, None, False),
    ]
    assert windows[0].since_at == t(0) and windows[0].until_at == t(0, day=2)
    wide = counts.windows(
        ends=window_ends(since=t(0), until=t(0, day=4), zone=TOKYO, policy=_policy(30, 0.03))
    )
    assert [(w.answered, w.abandoned, w.over) for w in wide] == [
        (100, 3, False),
        (101, 4, True),
        (101, 4, True),
    ]


def test_a_window_counts_from_its_start_to_before_its_end() -> None:
    counts = AnswerCounts()
    counts.add(at=t(0), abandoned=True)  # at the start: in
    counts.add(at=t(0, day=2), abandoned=True)  # at the end: out
    ends = window_ends(since=t(0), until=t(0, day=2), zone=TOKYO, policy=_policy(1, 0.5))
    [w] = counts.windows(ends=ends)
    assert (w.answered, w.abandoned) == (1, 1)


def test_each_window_has_the_policy_of_its_end() -> None:
    counts = AnswerCounts()
    counts.add(at=t(10), abandoned=True)
    counts.add(at=t(11), abandoned=False)

    def policy(at: datetime) -> tuple[timedelta, float]:
        # The cap was raised to 60% from the 2nd.
        return (timedelta(days=30), 0.6 if at > t(0, day=2) else 0.03)

    ends = window_ends(since=t(0), until=t(0, day=3), zone=TOKYO, policy=policy)
    assert [(w.max_rate, w.over) for w in counts.windows(ends=ends)] == [(0.03, True), (0.6, False)]


OFFICE = [{"days": "mon-fri", "start": "09:00", "end": "20:00"}]
SHORT = [{"days": "mon-fri", "start": "10:00", "end": "18:00"}]


def test_the_settings_timeline_walks_the_history_back() -> None:
    timeline = settings_timeline(
        now={"calling_hours": SHORT, "abandon_policy": {"max_rate": 0.05}, "name": "x"},
        changes=[
            (t(9), [{"field": "name", "before": "a", "after": "x"}]),  # not a field asked for
            (t(12), [{"field": "calling_hours", "before": OFFICE, "after": SHORT}]),
            (
                t(15),
                [{"field": "abandon_policy", "before": {"max_rate": 0.03},
                  "after": {"max_rate": 0.05}}],
            ),
            # A field the history did not know yet (added since) keeps its value.
            (t(16), [{"field": "calling_hours", "before": None, "after": SHORT}]),
        ],
        fields=("calling_hours", "abandon_policy"),
    )  # fmt: skip
    assert timeline == [
        Setting(since=None, values={"calling_hours": OFFICE, "abandon_policy": {"max_rate": 0.03}}),
        Setting(since=t(12), values={"calling_hours": SHORT, "abandon_policy": {"max_rate": 0.03}}),
        Setting(since=t(15), values={"calling_hours": SHORT, "abandon_policy": {"max_rate": 0.05}}),
        Setting(since=t(16), values={"calling_hours": SHORT, "abandon_policy": {"max_rate": 0.05}}),
    ]
    assert [setting_at(timeline, at) for at in (t(8), t(12), t(14), t(15, 1), t(23))] == [
        0, 1, 1, 2, 3,
    ]  # fmt: skip


def test_a_dial_is_held_to_the_hours_of_its_day() -> None:
    office = CallingHours.from_spec(rules=OFFICE, timezone="Asia/Tokyo", holiday_region=None)
    short = CallingHours.from_spec(rules=SHORT, timezone="Asia/Tokyo", holiday_region=None)
    found = check_lead(
        lead_id=7,
        # 19:00 on the 1st was inside the hours then; on the 2nd they end at 18:00.
        events=history(placed(t(19), 1), placed(t(19, day=2), 2)),
        hours=lambda at: office if at < t(0, day=2) else short,
        dnc={},
        no_recall=lambda _at: timedelta(hours=72),
        since=t(0),
        until=t(0, day=3),
        reach=t(0),
        zone=TOKYO,
    )
    assert [(v.check, v.call_id) for v in found.violations] == [(Check.outside_calling_hours, 2)]
