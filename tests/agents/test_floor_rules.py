"""The live floor's pure rules: an agent's activity and since when, the colour of
its time in it, the dial level and the abandon rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialer.agents.floor_rules import (
    THRESHOLDS,
    Activity,
    Level,
    abandon_rate,
    activity_of,
    dial_level,
    level,
)

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def ago(seconds: int) -> datetime:
    return NOW - timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("activity", "seconds", "expected"),
    [
        (Activity.available, 0, Level.ok),
        (Activity.available, 299, Level.ok),
        (Activity.available, 300, Level.warn),
        (Activity.available, 899.9, Level.warn),
        (Activity.available, 900, Level.alert),
        (Activity.paused, 599, Level.ok),
        (Activity.paused, 600, Level.warn),
        (Activity.paused, 1200, Level.alert),
        (Activity.wrapup, 119, Level.ok),
        (Activity.wrapup, 120, Level.warn),
        (Activity.wrapup, 300, Level.alert),
        (Activity.talking, 899, Level.ok),
        (Activity.talking, 900, Level.warn),
        (Activity.talking, 1800, Level.alert),
        (Activity.dialing, 44, Level.ok),
        (Activity.dialing, 45, Level.warn),
        (Activity.dialing, 90, Level.alert),
        (Activity.working, 179, Level.ok),
        (Activity.working, 180, Level.warn),
        (Activity.working, 600, Level.alert),
        # Not answering: a warning at once, an alert within a minute.
        (Activity.not_answering, 0, Level.warn),
        (Activity.not_answering, 59, Level.warn),
        (Activity.not_answering, 60, Level.alert),
        # Offline has no thresholds: never coloured.
        (Activity.offline, 0, Level.ok),
        (Activity.offline, 10**6, Level.ok),
    ],
)
def test_time_in_activity_colour(activity: Activity, seconds: float, expected: Level) -> None:
    assert level(activity=activity, seconds=seconds) == expected


def test_thresholds_are_ordered_and_cover_every_working_activity() -> None:
    assert set(THRESHOLDS) == set(Activity) - {Activity.offline}
    for warn, alert in THRESHOLDS.values():
        assert 0 <= warn < alert


def test_thresholds_given_replace_the_defaults() -> None:
    assert level(activity=Activity.talking, seconds=10, thresholds={}) == Level.ok
    custom = {Activity.talking: (5, 10)}
    assert level(activity=Activity.talking, seconds=10, thresholds=custom) == Level.alert


BASE = {
    "state": "available",
    "state_changed_at": ago(3600),
    "wrapup_until": None,
    "wrapup_seconds": 0,
    "claimed_at": None,
    "call_status": None,
    "call_created_at": None,
    "call_answered_at": None,
    "last_call_end_at": None,
}


@pytest.mark.parametrize(
    ("case", "changes", "activity", "since"),
    [
        ("idle since the state was set", {}, Activity.available, ago(3600)),
        (
            "idle since its last call ended",
            {"last_call_end_at": ago(100)},
            Activity.available,
            ago(100),
        ),
        (
            "idle since its wrap-up ended",
            {"last_call_end_at": ago(100), "wrapup_until": ago(40)},
            Activity.available,
            ago(40),
        ),
        (
            "a state set after the last call wins",
            {"last_call_end_at": ago(7200)},
            Activity.available,
            ago(3600),
        ),
        ("paused", {"state": "paused", "claimed_at": ago(5)}, Activity.paused, ago(3600)),
        ("offline", {"state": "offline"}, Activity.offline, ago(3600)),
        ("not answering", {"state": "not_answering"}, Activity.not_answering, ago(3600)),
        ("holding a lead", {"claimed_at": ago(30)}, Activity.working, ago(30)),
        (
            "dialing",
            {"claimed_at": ago(30), "call_status": "ringing", "call_created_at": ago(10)},
            Activity.dialing,
            ago(10),
        ),
        (
            "queued counts as dialing",
            {"call_status": "queued", "call_created_at": ago(2)},
            Activity.dialing,
            ago(2),
        ),
        (
            "talking since the answer",
            {
                "claimed_at": ago(30),
                "call_status": "in-progress",
                "call_created_at": ago(20),
                "call_answered_at": ago(15),
            },
            Activity.talking,
            ago(15),
        ),
        (
            "an ended call is no activity: back to the lead",
            {"claimed_at": ago(30), "call_status": "completed", "call_created_at": ago(20)},
            Activity.working,
            ago(30),
        ),
        (
            "wrapping up since the disposition",
            {"wrapup_until": NOW + timedelta(seconds=20), "wrapup_seconds": 60},
            Activity.wrapup,
            ago(40),
        ),
    ],
)
def test_activity_of(
    case: str, changes: dict[str, object], activity: Activity, since: datetime
) -> None:
    found = activity_of(**{**BASE, **changes}, now=NOW)  # type: ignore[arg-type]
    assert (found.activity, found.since) == (activity, since), case


@pytest.mark.parametrize(
    ("in_flight", "waiting", "expected"),
    [(0, 0, None), (3, 0, None), (0, 4, 0.0), (4, 4, 1.0), (1, 3, 0.333), (6, 4, 1.5)],
)
def test_dial_level(in_flight: int, waiting: int, expected: float | None) -> None:
    assert dial_level(calls_in_flight=in_flight, agents_available=waiting) == expected


@pytest.mark.parametrize(
    ("abandoned", "answered", "expected"),
    [(0, 0, None), (0, 10, 0.0), (1, 10, 0.1), (3, 100, 0.03), (1, 3, 0.3333)],
)
def test_abandon_rate(abandoned: int, answered: int, expected: float | None) -> None:
    assert abandon_rate(abandoned=abandoned, answered=answered) == expected
