"""What test modules share besides fixtures: the manager's client wrapper, error and
time helpers, settings for a test database, a live uvicorn server.

Test modules import these with `from helpers import ...` (tests/ is on sys.path via
`pythonpath` in pyproject.toml, in every xdist worker too); conftest.py keeps only
fixtures, so a fixture change never reaches the helpers' importers and vice versa."""

from __future__ import annotations

import itertools
import re
import socket
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from dialer.app import create_app
from dialer.db import Database
from dialer.settings import Settings

MANAGER_TOKEN = "manager-token-for-tests"
# Tuesday 1 December 2026, 10:00 in Tokyo: an ordinary working morning.
CLOCK_START = "2026-12-01T10:00:00+09:00"

JST = ZoneInfo("Asia/Tokyo")

_names = itertools.count()


def jst(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=JST)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def expect_error(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """Every error is JSON with a string `detail` (a sentence) and a string `code`."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body = r.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("detail"), str) and body["detail"].strip(), body
    assert isinstance(body.get("code"), str) and re.fullmatch(r"[a-z][a-z0-9_]*", body["code"]), (
        body
    )
    if code is not None:
        assert body["code"] == code, body
    return dict(body)


def make_settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": db_url,
        "DIALER_CLOCK": "simulated",
        "DIALER_CLOCK_START": CLOCK_START,
        "DIALER_TELEPHONY": "simulated",
        "DIALER_SIM_ANSWER_RATE": 0.0,
        "DIALER_SIM_SEED": 0,
        "DIALER_BOOTSTRAP_TOKEN": MANAGER_TOKEN,
        "DIALER_AUTO_UPGRADE": False,
    }
    values.update(overrides)
    return Settings(**values)


def live_twilio(db_url: str, *, account: str, token: str, api_base: str, **overrides: Any) -> Any:
    """A live server (real HTTP) in twilio mode against the local Twilio test
    server at `api_base`, its public URL its own plain-HTTP loopback address
    (allowed explicitly: production refuses one)."""
    port = free_port()
    settings = make_settings(
        db_url,
        DIALER_TELEPHONY="twilio",
        TWILIO_ACCOUNT_SID=account,
        TWILIO_AUTH_TOKEN=token,
        TWILIO_API_BASE=api_base,
        DIALER_PUBLIC_URL=f"http://127.0.0.1:{port}",
        DIALER_ALLOW_INSECURE_PUBLIC_URL=True,
        **overrides,
    )
    return LiveServer(settings, port=port)


class Api:
    """A test client that speaks as the manager unless told otherwise."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.manager = {"Authorization": f"Bearer {MANAGER_TOKEN}"}

    def _h(self, token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"} if token else self.manager

    def get(self, path: str, *, token: str | None = None, **kw: Any) -> Any:
        return self.client.get(path, headers=self._h(token), **kw)

    def post(self, path: str, *, token: str | None = None, **kw: Any) -> Any:
        return self.client.post(path, headers=self._h(token), **kw)

    def put(self, path: str, *, token: str | None = None, **kw: Any) -> Any:
        return self.client.put(path, headers=self._h(token), **kw)

    def patch(self, path: str, *, token: str | None = None, **kw: Any) -> Any:
        return self.client.patch(path, headers=self._h(token), **kw)

    def delete(self, path: str, *, token: str | None = None, **kw: Any) -> Any:
        return self.client.delete(path, headers=self._h(token), **kw)

    # Helpers for the common set-up steps.
    def campaign(self, **fields: Any) -> dict[str, Any]:
        fields.setdefault("name", f"Campaign {next(_names)}")
        r = self.post("/api/campaigns", json=fields)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def agent(self, campaign_ids: list[int], name: str = "Sato") -> dict[str, Any]:
        r = self.post(
            "/api/agents",
            json={"name": name, "campaign_ids": campaign_ids, "endpoint": f"client:{name.lower()}"},
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    def import_csv(self, campaign_id: int, text: str, *, encoding: str = "utf-8") -> Any:
        return self.post(
            f"/api/campaigns/{campaign_id}/imports",
            files={"file": ("leads.csv", text.encode(encoding), "text/csv")},
        )

    def advance(self, seconds: float) -> str:
        r = self.post("/api/admin/clock", json={"advance_seconds": seconds})
        assert r.status_code == 200, r.text
        return str(r.json()["now"])

    def next(self, agent: dict[str, Any]) -> Any:
        return self.post(f"/api/agents/{agent['id']}/next", token=agent["token"])


def free_port() -> int:
    # Racy by nature (another process may take the port before the server binds it);
    # the kernel hands out ephemeral ports in turn, so parallel workers rarely meet.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The app served by uvicorn on a free port, in a thread: for what needs a real
    HTTP server (event streams, provider callbacks). Its own Runtime, so two of
    them on one database are two web workers."""

    def __init__(self, settings: Settings, *, port: int | None = None, root_path: str = "") -> None:
        import threading
        import time

        import httpx
        import uvicorn

        from dialer.runtime import Runtime

        if port is None:
            port = free_port()
        self.runtime = Runtime(settings)
        config = uvicorn.Config(
            create_app(settings, runtime=self.runtime),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=1,
            # `uvicorn --root-path`: served behind a proxy that strips this prefix.
            root_path=root_path,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while not self.server.started:
            # A start-up refusal (schema, settings) ends the thread at once: say so
            # now rather than after the deadline.
            assert self.thread.is_alive(), "uvicorn stopped during start-up (see its log)"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        self.http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {MANAGER_TOKEN}"}, timeout=30
        )

    def close(self) -> None:
        self.http.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.runtime.close()


def ringing_call(
    live: LiveServer, fake: Any, *, phone: str, **campaign: Any
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """On a Twilio-mode live server: a campaign (`campaign` fields), one lead on
    `phone`, one agent on `client:a0` holding it, and its call placed and
    reported ringing by the test server `fake`. Returns (campaign, agent, call)."""
    fields = {"caller_id": "+81312345678", **campaign}
    c = live.http.post("/api/campaigns", json=fields)
    assert c.status_code == 201, c.text
    files = {"file": ("l.csv", f"name,phone\nYamada,{phone}\n".encode(), "text/csv")}
    assert (
        live.http.post(f"/api/campaigns/{c.json()['id']}/imports", files=files).status_code == 201
    )
    agent = live.http.post(
        "/api/agents",
        json={"name": "A0", "campaign_ids": [c.json()["id"]], "endpoint": "client:a0"},
    ).json()
    auth = {"Authorization": f"Bearer {agent['token']}"}
    lead = live.http.post(f"/api/agents/{agent['id']}/next", headers=auth).json()["lead"]
    r = live.http.post(f"/api/leads/{lead['id']}/calls", headers=auth, json={})
    assert r.status_code == 201, r.text
    call = r.json()
    assert fake.send_status(call["provider_sid"], "ringing").status_code == 204
    return c.json(), agent, call


def block_dialing(db: Database, *, provider_code: int, campaign_id: int) -> None:
    """Dialing blocked as Twilio's `provider_code` on a create blocks it (the
    campaign's, or the account's for an account fault), at 10:00 Tokyo."""
    from dialer.telephony import blocks
    from dialer.telephony.faults import FAULTS

    with db.write() as session:
        blocks.raise_block(
            session,
            fault=FAULTS[provider_code],
            campaign_id=campaign_id,
            detail=FAULTS[provider_code].meaning,
            call_id=None,
            now=datetime.fromisoformat("2026-12-01T01:00:00+00:00"),
        )
