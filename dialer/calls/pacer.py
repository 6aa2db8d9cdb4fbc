"""The predictive pacer: how many unreserved calls to place this second.

A pure rule (no session, no clock): `pace(inputs)` decides from a snapshot of the
campaign's floor that `calls.predictive.gather_inputs` reads every tick.

The model. Over the next few seconds two streams meet:

- **Supply**, agents able to take an answered call by time `t` (plus the
  `connect_seconds` an answered call may wait): those free now, those whose
  wrap-up ends by then (known exactly: the wrap-up left is a countdown), and
  those on a call that ends early enough for its wrap-up to end too. The last
  is a chance per agent: a call that has lasted `a` seconds ends within `x`
  more with probability P(T <= a + x | T > a) under the observed talk times T
  (the agents' count of free is a Poisson-binomial, computed exactly).
- **Demand**, person-answered calls by time `t`: the answered calls already
  waiting, the ringing calls (each answers with the chance a call of its age
  still has: an answered call rings a time drawn from the observed ring times,
  an unanswered one rings until the ring timeout), and the `n` calls placed now
  (each answered with the observed rate `p` of this local hour, by `t` with
  the chance its ring ends by then). Demand is a sum of those chances, taken as
  the binomial of the same mean and variance (a Poisson of that mean, as first
  written, overstates the spread, and so keeps agents in reserve that the
  abandons do not need; see docs/BENCHMARKS.md "Occupancy round (issue 16)").

A call answered when demand outruns supply finds nobody and is abandoned; the
expected abandons are approximated by the worst of E[(demand(t) - supply(t))+]
over the ring time's deciles (supply left over carries forward, answers
left unserved are lost, so the loss by the horizon is the largest shortfall
on the way). `pace` places the largest `n` whose expected abandons, over the
expected person-answers of every call in flight, stay under a target. The
target is a share of the cap that tightens once the window's measured rate has
used half the budget (judged over at least MIN_WINDOW_ANSWERS answers), down to
a tenth of the cap as the rate nears it, so the cap is planned for, not reacted
to: at the cap (or over it), when data is thin, or when the calling hours close
before a call placed now would end, the pacer falls back to one call per free
agent (`progressive_pace`). It never places fewer calls than that rule would."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import pairwise
from threading import Lock

# Fewer attempts behind the hour's answer rate, or fewer ring times, than
# these: the answers' number and timing are not known well enough to dial ahead.
MIN_ANSWER_SAMPLES = 40
MIN_RING_SAMPLES = 10
# Fewer talk times than this: no agent on a call is counted as about to be free
# (the wrap-up's countdown and the free agents are enough to dial ahead on, and
# the first talk times come minutes after the first answers).
MIN_TALK_SAMPLES = 10
# The measured abandon rate at this share of the cap (or over it): back to one
# call per free agent until the window's rate comes down. The target's
# tightening below does the nearing: a fallback short of the cap (it was 80%)
# stopped dialling ahead for long stretches after a window's early abandons,
# which cost more occupancy than the budget it kept.
NEAR_CAP_SHARE = 1.0
# The fewest person-answers a window's rate is judged over (see budget_used).
MIN_WINDOW_ANSWERS = 100
# The planned abandon rate: this share of the cap while the window has spent
# less than TIGHTEN_FROM of its budget, tightening linearly to MIN_TARGET_SHARE
# as the spending approaches NEAR_CAP_SHARE. A floor meets more abandons than
# the plan (the distributions still settling, answers bunching), so the shares
# are the ones measured on whole simulated days: docs/BENCHMARKS.md "Occupancy
# round (issue 16)".
TARGET_SHARE = 0.5
MIN_TARGET_SHARE = 0.1
TIGHTEN_FROM = 0.5
# The moments the shortfall is looked at: this many quantiles of the ring time.
TIME_POINTS = 10
# Probabilities below this are dropped from the supply's distribution.
_NEGLIGIBLE = 1e-9


class PacerMode(StrEnum):
    predictive = "predictive"
    # Thin data, the abandon rate near or over its cap, or the lines closing:
    # one call per free agent.
    progressive_fallback = "progressive_fallback"
    # Nobody to dial for.
    idle = "idle"


@dataclass(frozen=True, slots=True)
class PacerInputs:
    now: datetime
    agents_signed_in: int  # agents of the campaign not paused/offline/not_answering
    agents_waiting: int  # available, no claim, not wrapping up (free now)
    wrapup_left: tuple[float, ...]  # seconds of wrap-up left, one per agent wrapping up
    talking_for: tuple[float, ...]  # seconds talked so far, one per agent on a connected call
    calls_ringing: int  # unreserved calls placed, not answered, not ended
    calls_waiting: int  # answered unreserved calls waiting for an agent now
    answer_rate: float | None  # person-answered / attempts in this local hour (None: no data)
    answer_samples: int  # attempts behind answer_rate
    ring_seconds: tuple[float, ...]  # recent placed->answered times of answered calls
    talk_seconds: tuple[float, ...]  # recent connected->ended talk times
    wrapup_seconds: int  # the campaign's setting
    abandoned: int  # abandoned calls in the abandon window
    answered_by_person: int  # person-answered calls in the window (abandoned included)
    max_rate: float  # abandon_policy.max_rate
    closes_in: float | None  # seconds until the campaign's calling hours close (None: > 1 h)
    max_calls: int  # most calls this tick may place (cps)
    # Optional refinements (defaults keep the contract's inputs enough):
    # seconds each ringing call has rung (None: unknown, taken as the steady
    # state's mix), how long an unanswered call rings, and how long an answered
    # call may wait for an agent (abandon_policy.connect_seconds).
    ringing_for: tuple[float, ...] | None = None
    ring_timeout: float = 25.0
    connect_seconds: float = 2.0


@dataclass(frozen=True, slots=True)
class PacerDecision:
    calls: int  # calls to place now (>= 0, <= max_calls)
    mode: PacerMode
    expected_free: float  # agents expected free within the next ring time
    detail: str  # one sentence, English, why


Pacer = Callable[[PacerInputs], PacerDecision]


def progressive_pace(inputs: PacerInputs) -> PacerDecision:
    """One call per free agent: every free agent not yet covered by a call in
    flight gets one, at most `max_calls`."""
    free = inputs.agents_waiting
    uncovered = max(0, free - inputs.calls_ringing - inputs.calls_waiting)
    calls = max(0, min(uncovered, inputs.max_calls))
    if free <= 0:
        return PacerDecision(0, PacerMode.idle, 0.0, "no agent is free")
    return PacerDecision(
        calls,
        PacerMode.progressive_fallback,
        float(free),
        f"{free} agents free, {inputs.calls_ringing + inputs.calls_waiting} calls in flight: "
        f"one call per free agent",
    )


def pace(inputs: PacerInputs) -> PacerDecision:
    """The predictive pacer (see the module's docstring for the model)."""
    if inputs.agents_signed_in <= 0:
        return PacerDecision(0, PacerMode.idle, 0.0, "no agent is signed in")
    reason = _fallback_reason(inputs)
    if reason is not None:
        fallback = progressive_pace(inputs)
        return PacerDecision(
            fallback.calls,
            PacerMode.progressive_fallback,
            fallback.expected_free,
            f"{reason}: one call per free agent ({fallback.calls} now)",
        )
    model = _Model(inputs)
    target = target_rate(inputs)
    floor = progressive_pace(inputs).calls
    best, best_ratio = 0, model.abandon_ratio(0)
    for n in range(1, inputs.max_calls + 1):
        ratio = model.abandon_ratio(n)
        if ratio > target:
            break
        best, best_ratio = n, ratio
    calls = max(best, floor)
    expected_free = round(model.expected_supply(model.median_ring), 2)
    return PacerDecision(
        calls,
        PacerMode.predictive,
        expected_free,
        f"{calls} calls: {inputs.agents_waiting} agents free, {expected_free:g} expected free "
        f"within {model.median_ring:.0f} s, {inputs.calls_ringing} ringing and "
        f"{inputs.calls_waiting} waiting at an answer rate of {model.p:.0%}; planned abandon "
        f"rate {best_ratio:.1%} against a target of {target:.1%}",
    )


def measured_rate(inputs: PacerInputs) -> float | None:
    """The window's abandon rate: abandoned over person-answered calls."""
    if inputs.answered_by_person <= 0:
        return None
    return inputs.abandoned / inputs.answered_by_person


def budget_used(inputs: PacerInputs) -> float:
    """The share of the window's abandon budget spent: the measured rate over the
    cap, with at least MIN_WINDOW_ANSWERS answers in the denominator (the cap is
    over a window, not a handful of calls: a window's first abandon does not
    stop predictive dialing, its third does)."""
    if inputs.max_rate <= 0:
        return math.inf
    budget = inputs.max_rate * max(inputs.answered_by_person, MIN_WINDOW_ANSWERS)
    return inputs.abandoned / budget


def target_rate(inputs: PacerInputs) -> float:
    """The abandon rate to plan for: TARGET_SHARE of the cap while the window
    has spent under TIGHTEN_FROM of its budget, down to MIN_TARGET_SHARE as the
    budget spent reaches NEAR_CAP_SHARE."""
    spent = budget_used(inputs) - TIGHTEN_FROM
    left = min(1.0, max(0.0, 1.0 - spent / (NEAR_CAP_SHARE - TIGHTEN_FROM)))
    share = MIN_TARGET_SHARE + (TARGET_SHARE - MIN_TARGET_SHARE) * left
    return inputs.max_rate * share


def _fallback_reason(inputs: PacerInputs) -> str | None:
    if inputs.answer_rate is None or inputs.answer_samples < MIN_ANSWER_SAMPLES:
        return f"thin data ({inputs.answer_samples} attempts behind this hour's answer rate)"
    if len(inputs.ring_seconds) < MIN_RING_SAMPLES:
        return f"thin data ({len(inputs.ring_seconds)} ring times)"
    if inputs.answer_rate <= 0:
        return "no call of this hour was answered"
    rate = measured_rate(inputs)
    if budget_used(inputs) >= NEAR_CAP_SHARE:
        shown = "no" if rate is None else f"{rate:.1%}"
        over = "over" if rate is not None and rate > inputs.max_rate else "near"
        return (
            f"abandon rate {shown} ({inputs.abandoned} of {inputs.answered_by_person} answered) "
            f"{over} its cap of {inputs.max_rate:.1%}"
        )
    if inputs.closes_in is not None:
        talks = inputs.talk_seconds
        ends_in = _median(sorted(inputs.ring_seconds)) + (sum(talks) / len(talks) if talks else 0)
        if inputs.closes_in < ends_in:
            return (
                f"calling hours close in {inputs.closes_in:.0f} s, before a call placed now "
                f"would end ({ends_in:.0f} s)"
            )
    return None


def _median(ordered: Sequence[float]) -> float:
    m = len(ordered)
    return (ordered[(m - 1) // 2] + ordered[m // 2]) / 2


# The sorted copies of the last few distributions the pacer was given. A
# campaign's ring and talk times are the same tuples for a minute (the flow
# caches them), and every round and look-ahead asks again: sorting 300 times
# twice per decision was a tenth of the pacer's cost. Keyed by the tuple's
# identity, the tuple held so that the identity is not reused while cached.
_SORTED_KEPT = 8
_sorted: dict[int, tuple[Sequence[float], list[float]]] = {}


# The scheduler's threads and the web's may ask at once.
_sorted_lock = Lock()


def _sorted_of(values: Sequence[float]) -> list[float]:
    kept = _sorted.get(id(values))
    if kept is not None and kept[0] is values:
        return kept[1]
    ordered = sorted(values)
    if isinstance(values, tuple):  # immutable: safe to keep
        with _sorted_lock:
            if len(_sorted) >= _SORTED_KEPT:
                _sorted.pop(next(iter(_sorted)), None)
            _sorted[id(values)] = (values, ordered)
    return ordered


class _Model:
    """Supply and demand over the next ring times, for one snapshot.

    Built once per decision and asked for every candidate count, so what does
    not depend on the count is computed here once, per instant looked at (the
    supply, the ringing calls' answers, a new call's chance to answer by then),
    and what does not depend on the instant once per ringing call (its
    survival and weight). The arithmetic is the model's as written, in the same
    order: the decisions are the same to the last bit."""

    def __init__(self, inputs: PacerInputs) -> None:
        self.inputs = inputs
        self.p = min(1.0, max(0.0, inputs.answer_rate or 0.0))
        self.ring = _sorted_of(inputs.ring_seconds)
        self.talk = _sorted_of(inputs.talk_seconds)
        self.mean_ring = sum(self.ring) / len(self.ring)
        self.mean_talk = sum(self.talk) / len(self.talk) if self.talk else 0.0
        self.median_ring = _median(self.ring)
        m = len(self.ring)
        # The deciles of the ring time, and now (for the calls already waiting):
        # the shortfall's worst moment is looked for at each.
        self.times = sorted(
            {
                0.0,
                *(self.ring[min(m - 1, (m * k) // TIME_POINTS)] for k in range(1, TIME_POINTS + 1)),
            }
        )
        self.timeout = max(inputs.ring_timeout, self.ring[-1])
        # Sorted: the wrap-ups ended by an instant are counted by bisection.
        self.wrapup_left = sorted(inputs.wrapup_left)
        self._supply = {t: self._supply_at(t) for t in self.times}
        # Each ringing call of known age: (age, its survival, its weight alive).
        self._alive = self._ringing_alive()
        self._ringing = {t: self._ringing_answers_by(t) for t in self.times}
        self._ringing_total = self._ringing_answers_total()
        # Per instant, what abandon_ratio needs whatever the count: the ringing
        # calls' answers (mean, variance), a new call's chance to be answered by
        # then, and the supply (the calls waiting already take from it).
        self._moments = [
            (*self._ringing[t], self.p * self._ring_cdf(t), *self._supply[t]) for t in self.times
        ]

    # --- supply ----------------------------------------------------------------

    def _supply_at(self, t: float) -> tuple[int, list[float]]:
        """Agents free by `t` (+ connect time): a sure count and the pmf of the
        agents on a call whose call and wrap-up end by then."""
        i = self.inputs
        by = t + i.connect_seconds
        sure = max(0, i.agents_waiting) + bisect_right(self.wrapup_left, by)
        pmf = [1.0]
        x = by - i.wrapup_seconds
        if len(self.talk) < MIN_TALK_SAMPLES or x <= 0:
            # x <= 0: no call ends in time for its wrap-up too (every chance 0).
            return sure, pmf
        for talked in i.talking_for:
            q = self._ends_within(talked, x)
            if q <= 0:
                continue
            # One more agent who is free with chance q: the Poisson-binomial's
            # step, pmf'[k] = pmf[k-1] q + pmf[k] (1 - q).
            nq = 1 - q
            grown = [pmf[0] * nq, *(a * q + b * nq for a, b in pairwise(pmf)), pmf[-1] * q]
            pmf = [v if v > _NEGLIGIBLE else 0.0 for v in grown]
            while len(pmf) > 1 and pmf[-1] == 0.0:
                pmf.pop()  # the tail no agent count reaches
        return sure, pmf

    def _ends_within(self, talked: float, x: float) -> float:
        """P(T <= talked + x | T > talked) under the observed talk times."""
        if x <= 0:
            return 0.0
        total = len(self.talk)
        above = total - bisect_right(self.talk, talked)
        if above == 0:
            # Longer than any call seen: memoryless with the mean talk time.
            return 1 - math.exp(-x / self.mean_talk) if self.mean_talk > 0 else 1.0
        ended = bisect_right(self.talk, talked + x) - (total - above)
        return ended / above

    def expected_supply(self, t: float) -> float:
        sure, pmf = self._supply.get(t) or self._supply_at(t)
        return sure + sum(k * pk for k, pk in enumerate(pmf))

    # --- demand ----------------------------------------------------------------

    def _ring_survival(self, a: float) -> float:
        """P(ring > a) for an answered call."""
        return 1 - bisect_right(self.ring, a) / len(self.ring)

    def _ring_cdf(self, t: float) -> float:
        return bisect_right(self.ring, t) / len(self.ring)

    def _ringing_alive(self) -> list[tuple[float, float, float]]:
        """The ringing calls of known age that may still be answered: each one's
        age, P(ring > age) and its weight alive: answered later with
        P(ring > age), or unanswered until the ring timeout."""
        i = self.inputs
        if i.calls_ringing <= 0 or i.ringing_for is None:
            return []
        alive = []
        for a in i.ringing_for:
            survival = self._ring_survival(a)
            weight = self.p * survival + (1 - self.p) * (1.0 if a < self.timeout else 0.0)
            if weight > 0:
                alive.append((a, survival, weight))
        return alive

    def _ringing_answers_by(self, t: float) -> tuple[float, float]:
        """The mean and variance of the person-answers by `t` among the calls
        ringing now (each call answers or not: a sum of Bernoulli chances)."""
        i = self.inputs
        if i.calls_ringing <= 0:
            return 0.0, 0.0
        if i.ringing_for is not None:
            total = spread = 0.0
            p, ring, m = self.p, self.ring, len(self.ring)
            for a, survival, alive in self._alive:
                q = p * (survival - (1 - bisect_right(ring, a + t) / m)) / alive
                total += q
                spread += q * (1 - q)
            return total, spread
        # Ages unknown: the steady state's mix. A ringing call is one destined to
        # be answered with weight p * E[ring], else (1 - p) * timeout; the first
        # answer by `t` with the residual ring time's chance E[min(ring, t)] / E[ring].
        destined = self._destined_share()
        if self.mean_ring <= 0:
            q = destined
        else:
            q = destined * sum(min(r, t) for r in self.ring) / len(self.ring) / self.mean_ring
        return i.calls_ringing * q, i.calls_ringing * q * (1 - q)

    def _ringing_answers_total(self) -> float:
        i = self.inputs
        if i.calls_ringing <= 0:
            return 0.0
        if i.ringing_for is not None:
            total = 0.0
            for _a, survival, alive in self._alive:
                total += self.p * survival / alive
            return total
        return i.calls_ringing * self._destined_share()

    def _destined_share(self) -> float:
        answered = self.p * self.mean_ring
        unanswered = (1 - self.p) * self.timeout
        return answered / (answered + unanswered) if answered + unanswered > 0 else 0.0

    # --- the abandons ----------------------------------------------------------

    def abandon_ratio(self, n: int) -> float:
        """Expected abandons over expected person-answers with `n` more calls."""
        i = self.inputs
        answers = i.calls_waiting + self._ringing_total + n * self.p
        if answers <= 0:
            return 0.0
        lost = 0.0
        waiting = i.calls_waiting
        for ringing, spread, q, sure, pmf in self._moments:
            mean = ringing + n * q
            var = spread + n * q * (1 - q)
            if len(pmf) == 1:
                # Nobody on a call ends in time (the usual case at the early
                # instants): one term, the sum's own value.
                pk = pmf[0]
                shortfall = pk * _demand_excess(mean, var, sure - waiting) if pk > 0 else 0.0
            else:
                shortfall = sum(
                    pk * _demand_excess(mean, var, sure + k - waiting)
                    for k, pk in enumerate(pmf)
                    if pk > 0
                )
            lost = max(lost, shortfall)
        return lost / answers


def _demand_excess(mean: float, var: float, k: int) -> float:
    """E[(X - k)+] for the demand X, a sum of Bernoulli chances of this mean and
    variance: a binomial of the same two moments (a Poisson, whose variance is
    its mean, overstates the spread and so the abandons)."""
    if var >= mean * 0.999:
        return _poisson_excess(mean, k)
    if k <= 0:
        return mean - k
    if mean <= 0:
        return 0.0
    trials = max(1, round(mean * mean / (mean - var)))
    r = min(1.0, mean / trials)
    if k >= trials or r >= 1.0:
        return max(0.0, mean - k) if r >= 1.0 else 0.0
    if k > mean + 12 * math.sqrt(max(var, 1e-12)) + 12:
        return 0.0
    # E[(X - k)+] = mean - k + sum_{j<k} (k - j) P(X = j)
    odds = r / (1 - r)
    pj = (1 - r) ** trials
    below = 0.0
    for j in range(k):
        below += (k - j) * pj
        pj *= (trials - j) / (j + 1) * odds
    return max(0.0, mean - k + below)


def _poisson_excess(mean: float, k: int) -> float:
    """E[(X - k)+] for X ~ Poisson(mean)."""
    if k <= 0:
        return mean - k
    if mean <= 0 or k > mean + 12 * math.sqrt(mean) + 12:
        return 0.0  # beyond any mass that counts (and O(1) for a big floor)
    # E[(X - k)+] = mean - k + sum_{j<k} (k - j) P(X = j)
    pj = math.exp(-mean)
    below = 0.0
    for j in range(k):
        below += (k - j) * pj
        pj *= mean / (j + 1)
    return max(0.0, mean - k + below)
