"""Webhook URL edge cases: the URL Twilio signed behind a proxy that strips a path
prefix (`uvicorn --root-path`), a secondary auth token during a rotation, and
twilio mode refusing to start with a public URL Twilio cannot use."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient
from helpers import Api, LiveServer, expect_error, make_settings
from twilio.request_validator import RequestValidator

from dialer import cli
from dialer.app import create_app
from dialer.settings import SettingsRefused, get_settings

TOKEN = "current-auth-token"
OLD_TOKEN = "previous-auth-token"
PREFIX = "/dialer"
# Where Twilio reaches the app: the proxy's host and the prefix it strips.
PUBLIC = "https://dialer.example.com" + PREFIX


def _ringing_call(api: Api) -> dict[str, Any]:
    c = api.campaign()
    api.import_csv(c["id"], "name,phone\nYamada,090-4444-0001\n")
    agent = api.agent([c["id"]])
    lead = api.next(agent).json()["lead"]
    api.post("/api/admin/sim/outcomes", json={"phone": "090-4444-0001", "outcomes": ["no-answer"]})
    call = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={}).json()
    assert call["status"] == "ringing", call
    return dict(call)


def _answered(call: dict[str, Any], seq: int = 1) -> dict[str, str]:
    return {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": call["provider_sid"],
        "CallStatus": "in-progress",
        "AnsweredBy": "human",
        "SequenceNumber": str(seq),
        "To": call["to"],
        "CallerName": "",
    }


def _headers(*, token: str, url: str, params: dict[str, str]) -> dict[str, str]:
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": RequestValidator(token).compute_signature(url, params),
    }


# --- root path -------------------------------------------------------------------


@pytest.fixture
def behind_proxy(db_url: str) -> Iterator[Api]:
    settings = make_settings(db_url, TWILIO_AUTH_TOKEN=TOKEN, DIALER_PUBLIC_URL=PUBLIC)
    with TestClient(create_app(settings), root_path=PREFIX) as client:
        yield Api(client)


def test_under_a_root_path_the_signed_url_is_the_public_url_and_the_apps_path(
    behind_proxy: Api,
) -> None:
    call = _ringing_call(behind_proxy)
    hook = f"/webhooks/twilio/status?call={call['id']}"
    params = _answered(call)
    # Signed for the URL the dialer gave Twilio, the prefix once. The ASGI path
    # carries the prefix as uvicorn's --root-path hands it over.
    doubled = _headers(token=TOKEN, url=PUBLIC + PREFIX + hook, params=params)
    r = behind_proxy.client.post(PREFIX + hook, content=urlencode(params), headers=doubled)
    expect_error(r, 403, "bad_signature")
    assert behind_proxy.get(f"/api/calls/{call['id']}").json()["status"] == "ringing"
    signed = _headers(token=TOKEN, url=PUBLIC + hook, params=params)
    r = behind_proxy.client.post(PREFIX + hook, content=urlencode(params), headers=signed)
    assert r.status_code == 204, r.text
    assert behind_proxy.get(f"/api/calls/{call['id']}").json()["status"] == "in-progress"


def test_uvicorn_with_root_path_accepts_what_twilio_signed(db_url: str) -> None:
    """Real uvicorn `--root-path /dialer`, called as the proxy does: prefix stripped."""
    settings = make_settings(db_url, TWILIO_AUTH_TOKEN=TOKEN, DIALER_PUBLIC_URL=PUBLIC)
    live = LiveServer(settings, root_path=PREFIX)
    try:
        call = _ringing_via(live)
        hook = f"/webhooks/twilio/status?call={call['id']}"
        params = _answered(call)
        r = httpx.post(
            live.url + hook,
            content=urlencode(params),
            headers=_headers(token=TOKEN, url=PUBLIC + hook, params=params),
        )
        assert r.status_code == 204, r.text
        assert live.http.get(f"/api/calls/{call['id']}").json()["status"] == "in-progress"
    finally:
        live.close()


def test_dialer_serve_hands_uvicorn_the_root_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    ran: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: ran.append(kwargs))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    get_settings.cache_clear()
    try:
        assert cli.main(["serve", "--port", "0", "--root-path", PREFIX]) == 0
    finally:
        get_settings.cache_clear()
    assert [kwargs["root_path"] for kwargs in ran] == [PREFIX]


@pytest.mark.parametrize("bad", ["dialer", "/dialer/", "/"])
def test_a_root_path_is_a_prefix(bad: str) -> None:
    with pytest.raises(SystemExit, match="--root-path must start with /"):
        cli.main(["web", "--root-path", bad])


def _ringing_via(live: LiveServer) -> dict[str, Any]:
    http = live.http
    c = http.post("/api/campaigns", json={"name": "Behind a proxy"}).json()
    files = {"file": ("l.csv", b"name,phone\nYamada,090-4444-0001\n", "text/csv")}
    assert http.post(f"/api/campaigns/{c['id']}/imports", files=files).status_code == 201
    agent = http.post(
        "/api/agents", json={"name": "Sato", "campaign_ids": [c["id"]], "endpoint": "client:sato"}
    ).json()
    auth = {"Authorization": f"Bearer {agent['token']}"}
    lead = http.post(f"/api/agents/{agent['id']}/next", headers=auth).json()["lead"]
    http.post("/api/admin/sim/outcomes", json={"phone": "090-4444-0001", "outcomes": ["no-answer"]})
    call = http.post(f"/api/leads/{lead['id']}/calls", headers=auth, json={}).json()
    assert call["status"] == "ringing", call
    return dict(call)


# --- auth-token rotation -----------------------------------------------------------


@pytest.mark.parametrize(
    ("secondary", "signed_with", "accepted"),
    [
        (OLD_TOKEN, TOKEN, True),
        (OLD_TOKEN, OLD_TOKEN, True),
        (OLD_TOKEN, "some-other-token", False),
        (None, OLD_TOKEN, False),
        (None, TOKEN, True),
    ],
)
def test_a_secondary_auth_token_is_accepted_during_a_rotation(
    db_url: str, secondary: str | None, signed_with: str, accepted: bool
) -> None:
    settings = make_settings(
        db_url,
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_AUTH_TOKEN_SECONDARY=secondary,
        DIALER_PUBLIC_URL="https://dialer.example.com",
    )
    with TestClient(create_app(settings)) as client:
        api = Api(client)
        call = _ringing_call(api)
        hook = f"/webhooks/twilio/status?call={call['id']}"
        params = _answered(call)
        headers = _headers(
            token=signed_with, url="https://dialer.example.com" + hook, params=params
        )
        r = client.post(hook, content=urlencode(params), headers=headers)
        status = api.get(f"/api/calls/{call['id']}").json()["status"]
    if accepted:
        assert r.status_code == 204, r.text
        assert status == "in-progress"
    else:
        expect_error(r, 403, "bad_signature")
        assert status == "ringing"


# --- the public URL at start-up ------------------------------------------------------

TWILIO = {
    "DIALER_TELEPHONY": "twilio",
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": TOKEN,
    "TWILIO_API_BASE": "http://127.0.0.1:9",  # never asked: nothing is dialled here
}


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://localhost:8000", "is not https"),  # the default
        ("http://dialer.example.com", "is not https"),
        ("ftp://dialer.example.com", "is not https"),
        ("https://localhost:8443", "localhost"),
        ("https://LOCALHOST./dialer", "localhost"),
        ("https://app.localhost", "localhost"),
        ("https://127.0.0.1", "loopback"),
        ("https://127.8.9.10:8443", "loopback"),
        ("https://[::1]:8443/", "loopback"),
        ("https://0.0.0.0", "loopback"),
        ("https://", "names no host"),
        ("https://dialer.example.com", None),
        ("https://dialer.example.com/dialer", None),
        ("https://203.0.113.7:8443", None),
        ("https://[2001:db8::1]", None),
        ("https://localhost-dialer.example.com", None),
    ],
)
def test_twilio_mode_refuses_a_public_url_twilio_cannot_use(url: str, why: str | None) -> None:
    settings = make_settings("sqlite://", DIALER_PUBLIC_URL=url, **TWILIO)
    if why is None:
        settings.check_public_url()
    else:
        with pytest.raises(SettingsRefused, match=why) as refused:
            settings.check_public_url()
        message = str(refused.value)
        assert "\n" not in message
        assert url in message and "DIALER_ALLOW_INSECURE_PUBLIC_URL=true" in message
    # The allow flag (a local Twilio-compatible test server), or simulated mode:
    # nothing is refused.
    make_settings(
        "sqlite://", DIALER_PUBLIC_URL=url, DIALER_ALLOW_INSECURE_PUBLIC_URL=True, **TWILIO
    ).check_public_url()
    make_settings("sqlite://", DIALER_PUBLIC_URL=url).check_public_url()


def test_the_app_refuses_to_start_before_touching_the_database(tmp_path: Path) -> None:
    db = tmp_path / "never.db"
    settings = make_settings(f"sqlite:///{db}", DIALER_AUTO_UPGRADE=True, **TWILIO)
    with (
        pytest.raises(SettingsRefused, match="DIALER_PUBLIC_URL"),
        TestClient(create_app(settings)),
    ):
        pass
    assert not db.exists() or db.stat().st_size == 0
    allowed = make_settings(
        f"sqlite:///{db}", DIALER_AUTO_UPGRADE=True, DIALER_ALLOW_INSECURE_PUBLIC_URL=True, **TWILIO
    )
    with TestClient(create_app(allowed)) as client:
        assert client.get("/healthz").json()["db"] == "ok"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIALER_", "TWILIO_"))}
    env.update({k: str(v) for k, v in TWILIO.items()}, PYTHONUNBUFFERED="1", **extra)
    return env


def test_the_cli_refuses_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in _env(DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}").items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DIALER_PUBLIC_URL", raising=False)
    get_settings.cache_clear()
    try:
        assert cli.main(["campaigns", "apply", str(tmp_path)]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: DIALER_PUBLIC_URL 'http://localhost:8000' is not https")


@pytest.mark.parametrize(
    "command",
    [["-m", "dialer.scheduler"], ["-m", "dialer.cli", "web", "--port", "0", "--workers", "2"]],
    ids=["scheduler", "web"],
)
def test_the_processes_refuse_in_one_line(tmp_path: Path, command: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, *command],
        env=_env(DATABASE_URL=f"sqlite:///{tmp_path / 'sched.db'}"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "DIALER_PUBLIC_URL" in line]
    assert len(lines) == 1, proc.stderr
    assert "is not https" in lines[0]
