"""The demo prints `name / password` for the manager and each agent; each signs
in with it (the manager as `manager`), and a rerun prints the same passwords.
A password changed through the API is neither shown nor undone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import MANAGER_TOKEN, Api

from dialer import cli
from dialer.settings import get_settings

REPO = Path(__file__).resolve().parents[1]
LOGIN = re.compile(r"^    (\S+) / (\S+)$")


pytestmark = pytest.mark.usefixtures("cheap_hashing")


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("DIALER_CLOCK", "simulated")
    monkeypatch.setenv("DIALER_CLOCK_START", "2026-12-01T10:00:00+09:00")
    monkeypatch.setenv("DIALER_BOOTSTRAP_TOKEN", MANAGER_TOKEN)
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


def _demo(out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, dict[str, str]]:
    argv = ["demo", "--campaigns", str(REPO / "campaigns"), "--leads", "20", "--out", str(out)]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    logins = {}
    for line in text.splitlines():
        m = LOGIN.match(line)
        if m:
            logins[m[1]] = m[2]
    return text, logins


def _sign_in(api: Api, name: str, password: str) -> dict[str, object]:
    r = api.client.post("/api/session", json={"name": name, "password": password})
    api.client.cookies.clear()
    assert r.status_code == 200, (name, r.text)
    return dict(r.json()["agent"])


def test_the_demo_prints_a_password_for_everyone(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], api: Api
) -> None:
    out = tmp_path / "demo-data"
    text, logins = _demo(out, capsys)
    assert sorted(logins) == ["Sato", "Suzuki", "Takahashi", "manager"], text
    assert "sign in at http://127.0.0.1:8000/ (name / password):" in text
    for name, password in logins.items():
        agent = _sign_in(api, name, password)
        assert agent["name"] == name
        assert agent["role"] == ("manager" if name == "manager" else "agent")
    assert len(set(logins.values())) == 4

    _, again = _demo(out, capsys)
    assert again == logins
    managers = api.get("/api/agents?role=manager").json()["items"]
    assert [m["name"] for m in managers] == ["bootstrap manager", "manager"]

    # Changed through the API: kept, and not shown.
    sato = next(a for a in api.get("/api/agents").json()["items"] if a["name"] == "Sato")
    r = api.put(f"/api/agents/{sato['id']}/password", json={"password": "sato's own password"})
    assert r.status_code == 204
    third_text, third = _demo(out, capsys)
    assert "Sato" not in third and third["Suzuki"] == logins["Suzuki"]
    assert "Sato / (changed through the API" in third_text
    _sign_in(api, "Sato", "sato's own password")
