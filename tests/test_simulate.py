"""`dialer simulate` and its Python API: a tiny floor (2 agents, 30 simulated
minutes) through the real queue, dial rounds, provider reports and dispositions;
bad options refused with the option named, before anything runs."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from dialer.calls.pacer import PacerDecision, PacerInputs, PacerMode, progressive_pace
from dialer.cli import main
from dialer.simulation import SimConfig, SimError, parse_pair, parse_rates, parse_shares
from dialer.simulation import run_simulation as run

TINY = ["simulate", "--agents", "2", "--minutes", "30", "--seed", "3"]


def test_a_tiny_floor_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*TINY, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dial_mode"] == "progressive"
    assert out["agents"] == 2 and out["days"] == 1
    assert out["signed_in_hours"] == pytest.approx(1.0)
    assert out["calls_placed"] > 0
    # Answered calls rang first (--ring) and reached their agent: they talked.
    assert 0 < out["contacts"] <= out["answered_by_person"] <= out["calls_placed"]
    assert 0 < out["occupancy"] < 1
    # Progressive dials one call per waiting agent: nobody is abandoned.
    assert out["abandoned"] == 0 and out["abandon_rate"] == 0
    assert out["mean_wait_seconds"] > 0
    # One point per 15 minutes of the day, for the plot, in the campaign's zone.
    assert [p["at"][11:] for p in out["series"]] == ["09:00:00+09:00", "09:15:00+09:00"]
    assert sum(p["answered"] for p in out["series"]) == out["answered_by_person"]
    assert out["timing"]["total"] > 0 and out["timing"]["steps"] > 0


def test_the_text_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*TINY, "--agents", "1", "--minutes", "15"]) == 0
    text = capsys.readouterr().out
    for figure in ("occupancy", "abandon rate", "calls placed", "contacts", "promises"):
        assert figure in text


def test_the_python_api_is_reproducible() -> None:
    config = SimConfig(agents=2, minutes=20, seed=5)
    first, again = run(config), run(config)
    assert first.calls_placed > 0
    keep = ("calls_placed", "contacts", "conversions", "occupancy", "mean_wait_seconds")
    assert {k: getattr(first, k) for k in keep} == {k: getattr(again, k) for k in keep}


def test_answer_rates_follow_the_leads_local_hour() -> None:
    # The built-in campaign opens at 09:00 Tokyo: 20 minutes of hour 9.
    nobody = run(SimConfig(agents=2, minutes=20, answer_rate=1.0, answer_rates={9: 0.0}))
    assert nobody.calls_placed > 0 and nobody.answered_by_person == 0
    everyone = run(SimConfig(agents=2, minutes=20, answer_rate=0.0, answer_rates={9: 1.0}))
    assert everyone.answered_by_person > 0


def test_a_campaign_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = Path(__file__).parents[1] / "campaigns" / "10-kanto-electricity-switch.toml"
    assert main([*TINY, "--campaign", str(path), "--wrapup", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # A preview campaign is run progressive: nobody presses dial on a simulated floor.
    assert out["dial_mode"] == "progressive"
    assert out["calls_placed"] > 0
    assert out["occupancy_limit"] == pytest.approx(180 / 185, abs=1e-3)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--agents", "0"], "--agents must be 1 to 500"),
        (["--agents", "501"], "--agents must be 1 to 500"),
        (["--days", "31"], "--days must be 1 to 30"),
        (["--leads", "0"], "--leads must be"),
        (["--answer-rate", "1.5"], "--answer-rate must be 0 to 1"),
        (["--answer-rates", "9=0.2,ten=0.3"], "--answer-rates: write hour=rate"),
        (["--answer-rates", "25=0.2"], "--answer-rates: hour 0-23"),
        (["--ring", "10"], "--ring: write mean,sd"),
        (["--ring", "0,1"], "--ring mean must be above 0"),
        (["--talk", "nan,1"], "--talk: numbers"),
        (["--wrapup", "-1"], "--wrapup must be 0 to 3600"),
        (["--outcomes", "sold=1"], "--outcomes: write name=share"),
        (["--outcomes", "converted=0"], "--outcomes shares"),
        (["--pacer", "vicidial"], "--pacer must be progressive or predictive"),
        (["--retry-timing", "soon"], "--retry-timing must be fixed or best_hour"),
        (["--minutes", "0"], "--minutes must be 1 to 1440"),
        (["--campaign", "/nonexistent/campaign.toml"], "--campaign: cannot read"),
    ],
)
def test_bad_options_are_refused_naming_the_option(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*TINY, *args]) == 2
    assert says in capsys.readouterr().err


def test_a_bad_campaign_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\nwrapup_seconds = 99999\n', encoding="utf-8")
    assert main([*TINY, "--campaign", str(path)]) == 2
    assert "wrapup_seconds" in capsys.readouterr().err


def test_option_parsers() -> None:
    assert parse_rates("9=0.2, 10=0.3,") == {9: 0.2, 10: 0.3}
    assert parse_pair("180,90", option="--talk") == (180.0, 90.0)
    shares = parse_shares("converted=0.5,refused=0.5")
    assert (shares.converted, shares.callback, shares.refused) == (0.5, 0.0, 0.5)
    with pytest.raises(SimError):
        parse_shares("converted=lots")


def test_a_predictive_floor_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*TINY, "--minutes", "20", "--pacer", "predictive", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dial_mode"] == "predictive"
    assert out["calls_placed"] > 0 and out["contacts"] > 0
    assert out["abandon_rate"] is not None and out["abandon_rate"] <= 0.03


def test_the_pacer_given_is_the_one_asked() -> None:
    asked: list[datetime] = []

    def one_per_free_agent(inputs: PacerInputs) -> PacerDecision:
        asked.append(inputs.now)
        return progressive_pace(inputs)

    result = run(SimConfig(agents=2, minutes=20, pacer="predictive"), pacer=one_per_free_agent)
    assert result.dial_mode == "predictive" and result.contacts > 0
    # Asked on whole seconds of the scheduler's tick, also between events.
    assert asked and all(at.microsecond == 0 for at in asked)
    # One call per free agent: every answered call found its agent.
    assert result.abandoned == 0


def test_an_overdialling_pacer_abandons_and_it_is_counted() -> None:
    def every_line(inputs: PacerInputs) -> PacerDecision:
        return PacerDecision(
            calls=inputs.max_calls, mode=PacerMode.predictive, expected_free=0.0, detail="all"
        )

    result = run(
        SimConfig(agents=1, minutes=10, leads=40, answer_rate=0.9, pacer="predictive"),
        pacer=every_line,
    )
    assert result.abandoned > 0
    assert result.abandon_rate == pytest.approx(result.abandoned / result.answered_by_person, 1e-3)
    assert sum(p.abandoned for p in result.series) == result.abandoned
