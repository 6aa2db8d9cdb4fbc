"""The best local hour to call again: a pure rule over a campaign's answer counts.

Each local hour's answer rate (answered by a person over attempts, by the lead's
local hour at the attempt) gets a Beta posterior whose prior is the same for every
hour: the campaign's pooled rate, worth PRIOR_ATTEMPTS attempts. So a campaign
with no answers learned behaves as the fixed ladder does (every hour equal; ties
go to the earliest, the ladder's own time), and an hour is preferred once its
own attempts say it is better.

The choice is Thompson sampling: one draw from each hour's posterior, seeded
(`random.Random(seed)`, the caller's seed names the lead and the attempt, so a
decision is reproducible), and the open candidate hour with the highest draw
wins. An hour with few attempts has a wide posterior and is drawn high now and
then: no hour is starved, and exploration fades as the counts grow.

Candidates are the instants from `earliest` (the ladder's delay, never earlier)
for 24 hours, inside the calling hours: `earliest` itself when open (or the next
opening), and the start of every later local hour that is open, or the moment
it opens within that hour."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from dialer.campaign.hours import CallingHours

# The prior's weight, in attempts: an hour needs about this many of its own
# before its rate moves its estimate halfway from the campaign's.
PRIOR_ATTEMPTS = 30.0
# Below this many attempts counted in all, the ladder's time: a handful of
# calls says nothing about hours, and draws from the prior alone would scatter
# a new campaign's retries over the day.
MIN_ATTEMPTS = 100
# How far past `earliest` a retry may be moved for a better hour.
HORIZON = timedelta(hours=24)
_HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class HourStats:
    attempts: int
    answered: int  # answered by a person (abandoned included)


@dataclass(frozen=True, slots=True)
class HourRate:
    hour: int
    attempts: int
    answered: int
    rate: float | None  # observed: answered / attempts (None: no attempt)
    estimate: float  # posterior mean, with the prior


def prior(stats: Mapping[int, HourStats]) -> tuple[float, float]:
    """Beta(alpha, beta) shared by every hour: the pooled rate (Laplace-smoothed,
    0.5 with no data) worth PRIOR_ATTEMPTS attempts."""
    attempts = sum(max(0, s.attempts) for s in stats.values())
    answered = sum(min(max(0, s.answered), max(0, s.attempts)) for s in stats.values())
    mean = (answered + 1) / (attempts + 2)
    return mean * PRIOR_ATTEMPTS, (1 - mean) * PRIOR_ATTEMPTS


def _counts(stats: Mapping[int, HourStats], hour: int) -> tuple[int, int]:
    s = stats.get(hour)
    if s is None:
        return 0, 0
    attempts = max(0, s.attempts)
    return attempts, min(max(0, s.answered), attempts)


def learned_rates(stats: Mapping[int, HourStats]) -> list[HourRate]:
    """Every local hour 0..23 with its counts, observed rate and estimate."""
    alpha, beta = prior(stats)
    rows = []
    for hour in range(24):
        attempts, answered = _counts(stats, hour)
        rows.append(
            HourRate(
                hour=hour,
                attempts=attempts,
                answered=answered,
                rate=round(answered / attempts, 4) if attempts else None,
                estimate=round((alpha + answered) / (alpha + beta + attempts), 4),
            )
        )
    return rows


def candidates(*, earliest: datetime, hours: CallingHours) -> Iterator[datetime]:
    """Open instants from `earliest` for HORIZON: the first opening, then each
    later local hour's first open moment. The first opening is yielded even when
    it lies past the horizon (it is the ladder's time)."""
    first = hours.next_opening(at=earliest)
    if first is None:
        return
    yield first
    end = earliest + HORIZON
    local_day = hours.local_date(earliest)
    for start, stop in hours.intervals(from_day=local_day - timedelta(days=1), days=3):
        if start >= end:
            return
        if stop <= first:
            continue
        if start > first:
            yield start  # an opening part-way through its local hour
        t = _next_hour_start(max(start, first), hours)
        while t < stop and t < end:
            yield t
            t += _HOUR


def _next_hour_start(at: datetime, hours: CallingHours) -> datetime:
    """The first local hour's start after `at` (local :00, whatever the offset)."""
    local = at.astimezone(hours.tz)
    into = timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
    return at - into + _HOUR


def best_hour_at(
    *, earliest: datetime, hours: CallingHours, stats: Mapping[int, HourStats], seed: str
) -> tuple[datetime, str]:
    """The instant (>= earliest, inside calling hours, within HORIZON unless no
    opening comes sooner) whose local hour draws the highest answer rate, and a
    sentence saying why. With fewer than MIN_ATTEMPTS counted: the first opening."""
    found = list(candidates(earliest=earliest, hours=hours))
    if not found:
        return earliest, "no calling hours ahead"
    first = found[0]
    learned = sum(_counts(stats, hour)[0] for hour in range(24))
    if learned < MIN_ATTEMPTS:
        return first, f"{learned} attempts learned, fewer than {MIN_ATTEMPTS}: the ladder's time"
    alpha, beta = prior(stats)
    rng = random.Random(seed)
    draws: dict[int, float] = {}
    for hour in range(24):
        attempts, answered = _counts(stats, hour)
        draws[hour] = rng.betavariate(alpha + answered, beta + attempts - answered)
    best, best_draw = first, -1.0
    for at in found:
        draw = draws[at.astimezone(hours.tz).hour]
        if draw > best_draw:  # strictly better: ties keep the earlier instant
            best, best_draw = at, draw
    hour = best.astimezone(hours.tz).hour
    attempts, answered = _counts(stats, hour)
    estimate = (alpha + answered) / (alpha + beta + attempts)
    where = "the ladder's time" if best == first else f"moved to {hour:02d}:00 local"
    return best, (
        f"best hour: {where} (hour {hour:02d} answer rate estimated {estimate:.0%} "
        f"from {answered}/{attempts} attempts, drawn {best_draw:.2f})"
    )
