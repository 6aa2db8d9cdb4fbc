"""What the live floor colours and measures: an agent's activity, how long in it
is long (the time-in-state thresholds), and the progressive campaign's figures
(dial level, today's abandon rate; its cap is the campaign's
`abandon_policy.max_rate`). Data in, decision out: the floor
view (dialer.views.floor) reads the rows, the rules say what they mean."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from dialer.agents.models import AgentState
from dialer.calls.models import LIVE_CALL_STATUSES, CallStatus


class Activity(StrEnum):
    """What an agent is doing now, as the floor shows it: the state a person set,
    refined by the call, claim and wrap-up it has."""

    talking = "talking"  # on an answered call
    dialing = "dialing"  # its call is being placed or ringing
    wrapup = "wrapup"  # after a disposition, before the next lead
    working = "working"  # holds a lead, no call on it (reading it, or to disposition)
    available = "available"  # idle: waiting for a lead or a call
    paused = "paused"
    not_answering = "not_answering"
    offline = "offline"


class Level(StrEnum):
    ok = "ok"
    warn = "warn"
    alert = "alert"


# Seconds in an activity after which the floor warns, then alerts. An idle agent
# is worth a look after 5 minutes, a long pause after 10, a wrap-up over 2, a
# call over 15; an agent the system set `not_answering` is an alert within a
# minute (its customers are being abandoned). Offline has none: it is not at work.
THRESHOLDS: Mapping[Activity, tuple[int, int]] = {
    Activity.available: (300, 900),
    Activity.paused: (600, 1200),
    Activity.wrapup: (120, 300),
    Activity.talking: (900, 1800),
    Activity.dialing: (45, 90),
    Activity.working: (180, 600),
    Activity.not_answering: (0, 60),
}


def is_live(status: str) -> bool:
    """A call still being placed, ringing or talking."""
    return status in LIVE_CALL_STATUSES


@dataclass(frozen=True, slots=True)
class Doing:
    activity: Activity
    since: datetime


def activity_of(
    *,
    state: str,
    state_changed_at: datetime,
    wrapup_until: datetime | None,
    wrapup_seconds: int,
    claimed_at: datetime | None,
    call_status: str | None,
    call_created_at: datetime | None,
    call_answered_at: datetime | None,
    last_call_end_at: datetime | None,
    now: datetime,
) -> Doing:
    """The agent's activity and since when. A live call wins (talking from its
    answer, dialing from its creation), then a wrap-up running (from its start,
    `wrapup_until` − `wrapup_seconds`), then a held lead (from its claim). Idle
    counts from the latest of: the state set, the last call's end, a wrap-up's
    end. `call_*` describe the agent's latest call, `last_call_end_at` when it
    ended (disposition, end or creation)."""
    if state != AgentState.available:
        return Doing(Activity(state), state_changed_at)
    if call_status is not None and is_live(call_status) and call_created_at is not None:
        if call_status == CallStatus.in_progress:
            return Doing(Activity.talking, call_answered_at or call_created_at)
        return Doing(Activity.dialing, call_created_at)
    if wrapup_until is not None and wrapup_until > now:
        return Doing(Activity.wrapup, wrapup_until - _seconds(wrapup_seconds))
    if claimed_at is not None:
        return Doing(Activity.working, max(claimed_at, state_changed_at))
    since = state_changed_at
    for candidate in (last_call_end_at, wrapup_until):
        if candidate is not None and since < candidate <= now:
            since = candidate
    return Doing(Activity.available, since)


def _seconds(n: int) -> timedelta:
    return timedelta(seconds=max(0, n))


def level(
    *,
    activity: Activity,
    seconds: float,
    thresholds: Mapping[Activity, tuple[int, int]] = THRESHOLDS,
) -> Level:
    """The colour of `seconds` in `activity`: warn from the first threshold on,
    alert from the second; an activity without thresholds is always ok."""
    found = thresholds.get(activity)
    if found is None:
        return Level.ok
    warn, alert = found
    if seconds >= alert:
        return Level.alert
    if seconds >= warn:
        return Level.warn
    return Level.ok


def dial_level(*, calls_in_flight: int, agents_available: int) -> float | None:
    """Lines being dialled per agent waiting for a call: 1.0 is progressive
    dialing keeping every waiting agent busy, below it agents wait for nothing,
    above it (predictive) more lines ring than agents wait. None: nobody waits."""
    if agents_available <= 0:
        return None
    return round(calls_in_flight / agents_available, 3)


def abandon_rate(*, abandoned: int, answered: int) -> float | None:
    """Abandoned calls over calls a person answered; None before any answer."""
    if answered <= 0:
        return None
    return round(abandoned / answered, 4)
