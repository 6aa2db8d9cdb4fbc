"""The demo run twice on one database: the same agents, the same tokens, the
campaigns and leads not doubled; a token changed through the API meanwhile is
kept, not replaced."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import MANAGER_TOKEN, Api

from dialer import cli
from dialer.demo import demo_tokens_path
from dialer.settings import get_settings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("DIALER_CLOCK", "simulated")
    monkeypatch.setenv("DIALER_CLOCK_START", "2026-12-01T10:00:00+09:00")
    monkeypatch.setenv("DIALER_BOOTSTRAP_TOKEN", MANAGER_TOKEN)
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


def _demo(out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, dict[str, list[str]]]:
    argv = ["demo", "--campaigns", str(REPO / "campaigns"), "--leads", "40", "--out", str(out)]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    agents = {
        parts[2].rstrip(":"): parts
        for parts in (line.split() for line in text.splitlines() if line.startswith("  agent "))
    }
    return text, agents


def test_a_restarted_demo_keeps_its_agents_and_tokens(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], api: Api
) -> None:
    out = tmp_path / "demo-data"
    first_text, first = _demo(out, capsys)
    assert sorted(first) == ["Sato", "Suzuki", "Takahashi"]
    tokens_file = demo_tokens_path(env, out=out)
    if env.startswith("sqlite"):
        assert tokens_file.parent == Path(env.removeprefix("sqlite:///")).parent
    # Credentials: readable by their owner only.
    assert stat.S_IMODE(tokens_file.stat().st_mode) == 0o600
    campaign_ids = [c["id"] for c in api.get("/api/campaigns").json()["items"]]
    leads_before = [api.get(f"/api/campaigns/{c}/leads?limit=1000").json() for c in campaign_ids]

    second_text, second = _demo(out, capsys)
    assert second == first  # same ids, same tokens
    assert "imported" not in second_text and "imported" in first_text
    assert [
        api.get(f"/api/campaigns/{c}/leads?limit=1000").json() for c in campaign_ids
    ] == leads_before
    assert len(api.get("/api/agents").json()["items"]) == 3
    assert [c["id"] for c in api.get("/api/campaigns").json()["items"]] == campaign_ids
    for parts in second.values():
        agent_id, token = parts[1], parts[3]
        assert api.get(f"/api/agents/{agent_id}", token=token).status_code == 200

    # A token changed through the API is not undone (nor replaced) by a restart.
    sato_id, sato_token = first["Sato"][1], first["Sato"][3]
    rotated = api.post(f"/api/agents/{sato_id}/token", token=sato_token).json()["token"]
    third_text, third = _demo(out, capsys)
    assert "token not in" in third_text and third["Suzuki"] == first["Suzuki"]
    assert api.get(f"/api/agents/{sato_id}", token=rotated).status_code == 200
    assert api.get(f"/api/agents/{sato_id}", token=sato_token).status_code == 401
    assert len(api.get("/api/agents").json()["items"]) == 3
