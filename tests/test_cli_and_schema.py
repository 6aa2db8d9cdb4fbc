"""The `dialer` command, the campaign TOML files, and the migrations."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from helpers import MANAGER_TOKEN, Api
from sqlmodel import SQLModel

import dialer.models  # noqa: F401
from dialer import cli
from dialer.db import make_engine
from dialer.settings import get_settings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("DIALER_CLOCK", "simulated")
    monkeypatch.setenv("DIALER_CLOCK_START", "2026-12-01T10:00:00+09:00")
    monkeypatch.setenv("DIALER_BOOTSTRAP_TOKEN", MANAGER_TOKEN)
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


def test_db_upgrade_and_campaigns_apply(
    env: str, capsys: pytest.CaptureFixture[str], api: Api, tmp_path: Path
) -> None:
    assert cli.main(["db", "upgrade"]) == 0
    assert cli.main(["campaigns", "apply", str(REPO / "campaigns")]) == 0
    out = capsys.readouterr().out
    assert "created campaign" in out and "Kanto electricity switch-over" in out
    campaigns = {c["name"]: c for c in api.get("/api/campaigns").json()["items"]}
    kanto = campaigns["Kanto electricity switch-over"]
    assert kanto["caller_id"] == "+81312345678"
    assert kanto["contract_number_pattern"] == r"^(0[1-9]|10)\d{20}$"
    kansai = campaigns["Kansai gas for business"]
    # Partial policy in the file: given keys replace, missing keys keep defaults.
    assert kansai["retry_policy"]["no_answer"] == [3600, 86400]
    assert kansai["retry_policy"]["busy"] == [600, 1800, 7200]
    # Applying again updates by name.
    edited = tmp_path / "campaigns"
    shutil.copytree(REPO / "campaigns", edited)
    path = edited / "20-kansai-gas-business.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("attribution_days = 45", "attribution_days = 60"),
        encoding="utf-8",
    )
    assert cli.main(["campaigns", "apply", str(edited)]) == 0
    assert "updated campaign" in capsys.readouterr().out
    after = {c["name"]: c for c in api.get("/api/campaigns").json()["items"]}
    assert len(after) == 2 and after["Kansai gas for business"]["attribution_days"] == 60


def test_a_bad_campaign_file_applies_nothing(
    env: str, capsys: pytest.CaptureFixture[str], api: Api, tmp_path: Path
) -> None:
    (tmp_path / "a.toml").write_text('name = "Good"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text('name = "Bad"\ntimezone = "Mars/Base"\n', encoding="utf-8")
    assert cli.main(["campaigns", "apply", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "b.toml" in err and "timezone" in err
    assert api.get("/api/campaigns").json()["items"] == []


def test_campaign_files_carry_the_console_fields(
    env: str, capsys: pytest.CaptureFixture[str], api: Api, tmp_path: Path
) -> None:
    assert cli.main(["campaigns", "apply", str(REPO / "campaigns")]) == 0
    for campaign in api.get("/api/campaigns").json()["items"]:
        assert campaign["pause_codes"] == ["休憩", "研修", "打ち合わせ"]
        assert campaign["wrapup_seconds"] == 0
    (tmp_path / "a.toml").write_text(
        'name = "Console"\npause_codes = [" 休憩 ", "会議"]\nwrapup_seconds = 45\n',
        encoding="utf-8",
    )
    assert cli.main(["campaigns", "apply", str(tmp_path / "a.toml")]) == 0
    made = {c["name"]: c for c in api.get("/api/campaigns").json()["items"]}["Console"]
    assert made["pause_codes"] == ["休憩", "会議"] and made["wrapup_seconds"] == 45
    capsys.readouterr()
    for bad, field in (
        ('pause_codes = ["休憩", "休憩"]', "pause_codes"),
        ("pause_codes = []", "pause_codes"),
        ("wrapup_seconds = 3601", "wrapup_seconds"),
    ):
        (tmp_path / "b.toml").write_text(f'name = "Console"\n{bad}\n', encoding="utf-8")
        assert cli.main(["campaigns", "apply", str(tmp_path / "b.toml")]) == 2
        err = capsys.readouterr().err
        assert "b.toml" in err and field in err, err
    again = {c["name"]: c for c in api.get("/api/campaigns").json()["items"]}["Console"]
    assert again["pause_codes"] == ["休憩", "会議"] and again["wrapup_seconds"] == 45


def test_migrations_match_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_demo_seed(env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], api: Api) -> None:
    assert (
        cli.main(
            [
                "demo",
                "--campaigns",
                str(REPO / "campaigns"),
                "--leads",
                "60",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    agents = [line.split() for line in out.splitlines() if line.startswith("  agent ")]
    assert len(agents) == 3 and "imported 59 leads (1 invalid" in out
    agent_id, token = int(agents[0][1]), agents[0][3]
    assert "  promise: lead " in out
    promises = api.get(f"/api/agents/{agent_id}/promises?status=scheduled", token=token).json()
    assert len(promises["items"]) == 1
    r = api.post(f"/api/agents/{agent_id}/next", token=token)
    assert r.status_code == 200, r.text
    assert r.json()["lead"]["id"] != promises["items"][0]["lead_id"]  # not due yet


def test_campaign_files_carry_the_predictive_fields(
    env: str, capsys: pytest.CaptureFixture[str], api: Api, tmp_path: Path
) -> None:
    (tmp_path / "p.toml").write_text(
        'name = "Predictive"\ndial_mode = "predictive"\nretry_timing = "best_hour"\n'
        "[abandon_policy]\nmax_rate = 0.01\nno_recall_hours = 24\n",
        encoding="utf-8",
    )
    assert cli.main(["campaigns", "apply", str(tmp_path / "p.toml")]) == 0
    made = {c["name"]: c for c in api.get("/api/campaigns").json()["items"]}["Predictive"]
    assert made["dial_mode"] == "predictive" and made["retry_timing"] == "best_hour"
    assert made["abandon_policy"] == {
        "max_rate": 0.01,
        "window_days": 30,
        "connect_seconds": 2,
        "no_recall_hours": 24,
    }
    capsys.readouterr()
    (tmp_path / "p.toml").write_text(
        'name = "Predictive"\n[abandon_policy]\nmax_rate = 0.5\n', encoding="utf-8"
    )
    assert cli.main(["campaigns", "apply", str(tmp_path / "p.toml")]) == 2
    assert "abandon_policy.max_rate" in capsys.readouterr().err
