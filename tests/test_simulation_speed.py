"""What `dialer simulate` does to be fast must not change what it finds: the
pacer inputs its look-ahead derives from a round (instead of gathering again)
are what a fresh gather reads, and the figures are the same either way; a
round asking the pure pacer what the look-ahead asked it already gets the
same answer as when the pacer is asked every time."""

from __future__ import annotations

from dialer.calls.pacer import PacerDecision, PacerInputs, pace
from dialer.simulation import Shares, SimConfig, run_simulation

# Many callbacks, so promise calls (reserved, placed before the pacer is
# asked) come due within the run; a high answer rate for waiting calls too.
FLOOR = SimConfig(
    agents=6,
    minutes=40,
    pacer="predictive",
    seed=7,
    answer_rate=0.35,
    talk=(60.0, 30.0),
    outcomes=Shares(converted=0.1, callback=0.6, not_interested=0.2, refused=0.1),
)


def _figures(checked: bool) -> dict[str, object]:
    out = run_simulation(FLOOR, check_inputs=checked).to_json()
    out.pop("timing")
    return out


def test_the_derived_pacer_inputs_are_what_a_gather_reads() -> None:
    checked = _figures(True)  # raises at the first derived input that differs
    assert checked["calls_placed"] > 0 and checked["promises_kept"] + checked["promises_missed"] > 0
    assert checked == _figures(False)


def test_the_foreseen_decision_is_the_pacers_own() -> None:
    """The runtime's pacer is remembered from the look-ahead; a pacer given is
    asked every time (it may keep state): the same pure rule given must find
    the same floor, and be asked more often."""
    asked: list[PacerInputs] = []

    def every_time(inputs: PacerInputs) -> PacerDecision:
        asked.append(inputs)
        return pace(inputs)

    remembered = run_simulation(FLOOR).to_json()
    given = run_simulation(FLOOR, pacer=every_time).to_json()
    rounds = remembered["timing"]["rounds"]
    for out in (remembered, given):
        out.pop("timing")
    assert remembered == given
    assert len(asked) > rounds
