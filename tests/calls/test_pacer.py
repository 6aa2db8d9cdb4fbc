"""The predictive pacer as a pure function: a floor's snapshot in, calls to place out."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from helpers import utc

from dialer.calls import pacer
from dialer.calls.pacer import PacerInputs, PacerMode, pace, progressive_pace, target_rate

# Observed distributions of a busy floor: rings of 4-12 s, talks of 60-300 s.
RINGS = tuple(float(4 + (i % 9)) for i in range(200))
TALKS = tuple(float(60 + (i * 37) % 241) for i in range(200))


def floor(**overrides: Any) -> PacerInputs:
    """Twenty agents on calls of every age, enough data, a clean abandon window."""
    base = PacerInputs(
        now=utc(2026, 12, 1, 1, 0),
        agents_signed_in=20,
        agents_waiting=0,
        wrapup_left=(),
        talking_for=tuple(float(10 * i) for i in range(20)),
        calls_ringing=0,
        calls_waiting=0,
        answer_rate=0.25,
        answer_samples=400,
        ring_seconds=RINGS,
        talk_seconds=TALKS,
        wrapup_seconds=20,
        abandoned=0,
        answered_by_person=400,
        max_rate=0.03,
        closes_in=None,
        max_calls=50,
    )
    return replace(base, **overrides)


@pytest.mark.parametrize(
    ("inputs", "mode", "calls"),
    [
        pytest.param(
            floor(agents_signed_in=0, agents_waiting=0), PacerMode.idle, 0, id="nobody-signed-in"
        ),
        pytest.param(
            floor(max_calls=0, agents_waiting=3), PacerMode.predictive, 0, id="no-calls-allowed"
        ),
        pytest.param(
            floor(talking_for=(1.0,) * 20),
            PacerMode.predictive,
            0,
            id="no-free-agents-all-just-started",
        ),
        pytest.param(
            floor(agents_waiting=2, answer_samples=10),
            PacerMode.progressive_fallback,
            2,
            id="thin-answer-data",
        ),
        pytest.param(
            floor(agents_waiting=2, answer_rate=None, answer_samples=0),
            PacerMode.progressive_fallback,
            2,
            id="no-answer-rate",
        ),
        pytest.param(
            floor(agents_waiting=2, ring_seconds=RINGS[:3]),
            PacerMode.progressive_fallback,
            2,
            id="thin-ring-data",
        ),
        pytest.param(
            floor(agents_waiting=3, calls_ringing=1, answer_samples=5),
            PacerMode.progressive_fallback,
            2,
            id="thin-data-counts-calls-in-flight",
        ),
        pytest.param(
            floor(agents_waiting=2, abandoned=12, answered_by_person=400),  # 3%: at the cap
            PacerMode.progressive_fallback,
            2,
            id="near-the-cap",
        ),
        pytest.param(
            # A window's early abandons are judged over MIN_WINDOW_ANSWERS: 3 of 50
            # answered is the whole budget of 100.
            floor(agents_waiting=2, abandoned=3, answered_by_person=50),
            PacerMode.progressive_fallback,
            2,
            id="early-abandons-spend-the-budget",
        ),
        pytest.param(
            floor(agents_waiting=2, abandoned=20, answered_by_person=400),  # 5% > 3%
            PacerMode.progressive_fallback,
            2,
            id="cap-breached",
        ),
        pytest.param(
            floor(agents_waiting=2, closes_in=60.0),
            PacerMode.progressive_fallback,
            2,
            id="closing-soon",
        ),
        pytest.param(
            floor(agents_waiting=2, answer_rate=0.0),
            PacerMode.progressive_fallback,
            2,
            id="nothing-answered",
        ),
    ],
)
def test_mode_and_calls(inputs: PacerInputs, mode: PacerMode, calls: int) -> None:
    decision = pace(inputs)
    assert (decision.mode, decision.calls) == (mode, calls), decision.detail
    assert decision.detail


@pytest.mark.parametrize(
    ("inputs", "words"),
    [
        pytest.param(floor(answer_samples=10), "thin data", id="thin"),
        pytest.param(floor(abandoned=12), "near its cap", id="near"),
        pytest.param(floor(abandoned=20), "over its cap", id="over"),
        pytest.param(floor(closes_in=60.0), "calling hours close", id="closing"),
    ],
)
def test_fallback_says_why(inputs: PacerInputs, words: str) -> None:
    assert words in pace(inputs).detail


@pytest.mark.parametrize(
    ("abandoned", "answered", "mode"),
    [
        # A window's rate is judged over at least 100 answers: 3% of them is a
        # budget of 3 abandons, and 80% of it is spent at the third.
        pytest.param(1, 20, PacerMode.predictive, id="first-abandon-of-a-new-window"),
        pytest.param(2, 20, PacerMode.predictive, id="second-abandon"),
        pytest.param(3, 20, PacerMode.progressive_fallback, id="third-abandon-stops-it"),
        pytest.param(9, 400, PacerMode.predictive, id="2.25%-of-a-long-window"),
        pytest.param(11, 400, PacerMode.predictive, id="2.75%-of-a-long-window"),
        pytest.param(12, 400, PacerMode.progressive_fallback, id="3%-of-a-long-window"),
    ],
)
def test_the_budget_is_judged_over_a_window_not_a_handful(
    abandoned: int, answered: int, mode: PacerMode
) -> None:
    inputs = floor(agents_waiting=4, abandoned=abandoned, answered_by_person=answered)
    assert pace(inputs).mode == mode


def test_thin_talk_data_counts_no_talking_agent_as_about_to_be_free() -> None:
    # The first minutes of a day: answers and rings known, few talks ended yet.
    ending = floor(wrapup_seconds=0, talking_for=(290.0,) * 10 + (1.0,) * 10)
    thin = replace(ending, talk_seconds=TALKS[:3])
    assert pace(thin).mode == PacerMode.predictive
    assert pace(thin).expected_free == 0
    assert pace(ending).expected_free > 0
    # Free agents and wrap-ups still are dialled ahead for.
    soon = replace(thin, agents_waiting=4, wrapup_left=(1.0, 1.0))
    assert pace(soon).calls > 6
    assert pace(replace(thin, talk_seconds=())).mode == PacerMode.predictive


def test_closing_later_than_a_call_keeps_predicting() -> None:
    # A call placed now ends in about 8 s of ring + 180 s of talk: an hour is plenty.
    assert pace(floor(agents_waiting=2, closes_in=3000.0)).mode == PacerMode.predictive


def test_dials_ahead_for_agents_about_to_be_free() -> None:
    # Nobody is free now, but five wrap-ups end within two seconds: calls go out
    # for them, more than one per agent (a quarter of calls are answered).
    soon = floor(talking_for=(1.0,) * 15, wrapup_left=(1.0, 1.0, 2.0, 2.0, 2.0))
    decision = pace(soon)
    assert decision.mode == PacerMode.predictive
    assert decision.calls > 5
    assert decision.expected_free >= 5
    # Progressive would place none: nobody is free yet.
    assert progressive_pace(soon).calls == 0


def test_agents_near_the_end_of_long_calls_count_as_about_to_be_free() -> None:
    # Calls of 290 s outlast nearly every observed talk time (60-300 s); with no
    # wrap-up, their agents are free within a ring time. (With 20 s of wrap-up the
    # wrap-up's countdown says it better: see the test above.)
    ending = floor(wrapup_seconds=0, talking_for=(290.0,) * 10 + (1.0,) * 10)
    starting = floor(wrapup_seconds=0, talking_for=(1.0,) * 20)
    assert pace(ending).expected_free > pace(starting).expected_free
    assert pace(ending).calls > pace(starting).calls


@pytest.mark.parametrize(
    ("waiting", "ahead"), [(1, False), (2, False), (4, True), (8, True), (16, True)]
)
def test_more_free_agents_more_calls_never_fewer_than_progressive(
    waiting: int, ahead: bool
) -> None:
    inputs = floor(agents_waiting=waiting, talking_for=(1.0,) * (20 - waiting))
    decision = pace(inputs)
    assert decision.mode == PacerMode.predictive
    assert decision.calls >= progressive_pace(inputs).calls == waiting
    # One or two free agents: a second call per agent answered too would find
    # nobody more often than the cap allows. More agents pool the risk.
    assert (decision.calls > waiting) == ahead
    if waiting > 1:
        fewer = floor(agents_waiting=waiting - 1, talking_for=(1.0,) * (21 - waiting))
        assert pace(fewer).calls <= decision.calls


def test_calls_in_flight_are_counted() -> None:
    idle = floor(agents_waiting=4, talking_for=(1.0,) * 16)
    busy = replace(idle, calls_ringing=30)
    assert pace(busy).calls < pace(idle).calls


def test_answered_calls_waiting_take_the_free_agents_first() -> None:
    decision = pace(floor(agents_waiting=2, calls_waiting=3, talking_for=(1.0,) * 18))
    assert decision.calls == 0


@pytest.mark.parametrize("max_calls", [1, 3, 5])
def test_max_calls_clamps(max_calls: int) -> None:
    inputs = floor(agents_waiting=15, talking_for=(1.0,) * 5, max_calls=max_calls)
    assert pace(inputs).calls == max_calls
    assert progressive_pace(inputs).calls == max_calls


def test_the_plan_stays_under_the_target() -> None:
    inputs = floor(agents_waiting=3, wrapup_left=(3.0, 6.0), talking_for=(200.0,) * 15)
    decision = pace(inputs)
    model = pacer._Model(inputs)
    target = target_rate(inputs)
    assert model.abandon_ratio(decision.calls) <= target
    assert model.abandon_ratio(decision.calls + 1) > target
    assert target < inputs.max_rate


def test_ringing_ages_refine_the_estimate() -> None:
    # Calls that have rung longer than any answered call will not be answered:
    # the agents they were meant for are still to be dialled for.
    base = floor(agents_waiting=4, talking_for=(1.0,) * 16, calls_ringing=8)
    fresh = replace(base, ringing_for=(0.0,) * 8)
    stale = replace(base, ringing_for=(20.0,) * 8)
    assert pace(stale).calls > pace(fresh).calls


@pytest.mark.parametrize(
    ("abandoned", "answered", "share"),
    [
        pytest.param(0, 0, pacer.TARGET_SHARE, id="no-answers-yet"),
        pytest.param(0, 400, pacer.TARGET_SHARE, id="untouched-budget"),
        pytest.param(6, 400, pacer.TARGET_SHARE, id="half-the-budget-spent"),
        pytest.param(9, 400, None, id="three-quarters"),
        pytest.param(12, 400, pacer.MIN_TARGET_SHARE, id="at-the-fallback-line"),
        pytest.param(40, 400, pacer.MIN_TARGET_SHARE, id="over"),
    ],
)
def test_target_tightens_as_the_budget_is_used(
    abandoned: int, answered: int, share: float | None
) -> None:
    target = target_rate(floor(abandoned=abandoned, answered_by_person=answered))
    if share is None:
        assert 0.03 * pacer.MIN_TARGET_SHARE < target < 0.03 * pacer.TARGET_SHARE
    else:
        assert target == pytest.approx(0.03 * share)


@pytest.mark.parametrize(
    ("waiting", "ringing", "answered_waiting", "max_calls", "calls", "mode"),
    [
        pytest.param(0, 0, 0, 10, 0, PacerMode.idle, id="nobody-free"),
        pytest.param(3, 0, 0, 10, 3, PacerMode.progressive_fallback, id="one-per-free-agent"),
        pytest.param(3, 1, 0, 10, 2, PacerMode.progressive_fallback, id="ringing-covers-one"),
        pytest.param(3, 1, 1, 10, 1, PacerMode.progressive_fallback, id="waiting-covers-one"),
        pytest.param(3, 5, 0, 10, 0, PacerMode.progressive_fallback, id="all-covered"),
        pytest.param(8, 0, 0, 2, 2, PacerMode.progressive_fallback, id="clamped"),
    ],
)
def test_progressive_pace(
    waiting: int, ringing: int, answered_waiting: int, max_calls: int, calls: int, mode: PacerMode
) -> None:
    decision = progressive_pace(
        floor(
            agents_waiting=waiting,
            calls_ringing=ringing,
            calls_waiting=answered_waiting,
            max_calls=max_calls,
        )
    )
    assert (decision.calls, decision.mode) == (calls, mode)


def _bernoulli_sum_excess(chances: list[float], k: int) -> float:
    """E[(X - k)+] for X a sum of independent Bernoulli chances, exactly."""
    pmf = [1.0]
    for q in chances:
        grown = [0.0] * (len(pmf) + 1)
        for j, pj in enumerate(pmf):
            grown[j] += pj * (1 - q)
            grown[j + 1] += pj * q
        pmf = grown
    return sum((j - k) * pj for j, pj in enumerate(pmf) if j > k)


@pytest.mark.parametrize(
    ("chances", "k"),
    [
        pytest.param([0.25] * 8, 2, id="eight-fresh-calls-two-agents"),
        pytest.param([0.25] * 8, 0, id="nobody-free"),
        pytest.param([0.05] * 30 + [0.2] * 10, 3, id="a-floor-of-ringing-calls"),
        pytest.param([0.9, 0.8, 0.1], 1, id="calls-about-to-answer"),
        pytest.param([0.25] * 4, 6, id="more-agents-than-calls"),
        pytest.param([], 2, id="no-calls"),
    ],
)
def test_demand_excess_is_close_to_the_exact_sum(chances: list[float], k: int) -> None:
    mean = sum(chances)
    var = sum(q * (1 - q) for q in chances)
    exact = _bernoulli_sum_excess(chances, k)
    got = pacer._demand_excess(mean, var, k)
    assert got == pytest.approx(exact, abs=0.02 + 0.1 * exact)
    # A Poisson of the mean overstates it (the spread the binomial removes).
    assert pacer._poisson_excess(mean, k) >= got - 1e-12


def test_demand_excess_with_no_spread_is_the_mean_over_the_agents() -> None:
    assert pacer._demand_excess(3.0, 0.0, 1) == pytest.approx(2.0)
    assert pacer._demand_excess(3.0, 0.0, 5) == 0.0


def test_nearing_the_cap_plans_tighter_but_still_dials_ahead() -> None:
    # 2.5% of a 3% cap: the target is tighter than a clean window's, the pacer
    # still predicts (a fallback short of the cap cost whole stretches of the
    # day), and places no more calls than with the budget untouched.
    clean = floor(agents_waiting=6, wrapup_left=(1.0, 2.0, 3.0), talking_for=(150.0,) * 11)
    near = replace(clean, abandoned=10)
    assert target_rate(near) < target_rate(clean)
    assert pace(near).mode == PacerMode.predictive
    assert progressive_pace(near).calls <= pace(near).calls <= pace(clean).calls
    assert pace(clean).calls > progressive_pace(clean).calls
