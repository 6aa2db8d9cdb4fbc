"""The agent event stream opened with the session cookie, as a browser's
EventSource opens it (same origin, no header of its own), over real HTTP:
accepted for the signed-in agent's own stream, refused for another's and
without a live session, and ended when the account's password changes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers import LiveServer

PASSWORD = "correct horse battery"


pytestmark = pytest.mark.usefixtures("cheap_hashing")


def _agent(server: LiveServer, name: str) -> dict[str, Any]:
    c = server.http.post("/api/campaigns", json={"name": f"Stream {name}"}).json()
    agent = server.http.post("/api/agents", json={"name": name, "campaign_ids": [c["id"]]}).json()
    r = server.http.put(f"/api/agents/{agent['id']}/password", json={"password": PASSWORD})
    assert r.status_code == 204, r.text
    return dict(agent)


def _cookie(server: LiveServer, name: str) -> str:
    with httpx.Client(base_url=server.url) as browser:
        r = browser.post("/api/session", json={"name": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return str(r.cookies["dialer_session"])


def _frames(response: httpx.Response) -> Iterator[dict[str, str]]:
    frame: dict[str, str] = {}
    for line in response.iter_lines():
        if line == "":
            if "data" in frame:
                yield frame
            frame = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(": ")
            frame[key] = value


def test_the_cookie_opens_the_agents_own_stream_only(server: LiveServer) -> None:
    sato = _agent(server, "Sato")
    suzuki = _agent(server, "Suzuki")
    cookie = {"Cookie": f"dialer_session={_cookie(server, 'Sato')}"}
    with httpx.Client(base_url=server.url, timeout=httpx.Timeout(10, read=10)) as browser:
        path = f"/api/agents/{sato['id']}/events"
        with browser.stream("GET", path, headers=cookie) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            # A manager sets the password: this session ends, and so does its stream.
            r = server.http.put(
                f"/api/agents/{sato['id']}/password", json={"password": "a new password!"}
            )
            assert r.status_code == 204, r.text
            frames = list(_frames(response))
        assert [f["event"] for f in frames] == ["password_set"]
        assert isinstance(json.loads(frames[0]["data"]), dict) and frames[0]["id"].isdigit()
        # The reconnection is refused: the session was revoked.
        r = browser.get(path, headers=cookie)
        assert r.status_code == 401 and r.json()["code"] == "no_session"
        other = {"Cookie": f"dialer_session={_cookie(server, 'Suzuki')}"}
        r = browser.get(path, headers=other)
        assert r.status_code == 403 and r.json()["code"] == "not_your_resource"
        r = browser.get(path, headers={**other, "Origin": "https://evil.example"})
        assert r.status_code == 403 and r.json()["code"] == "cross_origin"
        assert suzuki["id"] != sato["id"]


def test_a_cookie_stream_ends_with_its_session(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signed out in one tab (or at another desk), the other tab's stream stops at
    its next keep-alive: no customer's name reaches a browser that signed out.
    A bearer stream of the same agent goes on."""
    from dialer.agents import events

    monkeypatch.setattr(events, "HEARTBEAT_SECONDS", 0.2)
    sato = _agent(server, "Sato")
    token = server.http.post(f"/api/agents/{sato['id']}/token").json()["token"]
    signed = _cookie(server, "Sato")
    cookie = {"Cookie": f"dialer_session={signed}"}
    path = f"/api/agents/{sato['id']}/events"
    timeout = httpx.Timeout(10, read=5)
    with (
        httpx.Client(base_url=server.url, timeout=timeout) as browser,
        httpx.Client(base_url=server.url, timeout=timeout) as program,
        browser.stream("GET", path, headers=cookie) as tab,
        program.stream("GET", path, headers={"Authorization": f"Bearer {token}"}) as bearer,
    ):
        assert tab.status_code == 200 and bearer.status_code == 200
        lines = tab.iter_lines()
        assert next(lines).startswith("retry:")
        r = browser.request(
            "DELETE",
            "/api/session",
            headers={**cookie, "X-CSRF-Token": _csrf(server, signed)},
        )
        assert r.status_code == 204, r.text
        # It ends by itself, within a keep-alive or two (each 0.2 s here).
        deadline = time.monotonic() + 5
        rest = []
        for line in lines:
            rest.append(line)
            assert time.monotonic() < deadline, "the signed-out tab's stream goes on"
        assert all(line == "" or line.startswith(":") for line in rest), rest
        more = bearer.iter_lines()
        seen = [next(more) for _ in range(4)]
        assert any(line.startswith(": keep-alive") for line in seen), seen


def _csrf(server: LiveServer, cookie: str) -> str:
    r = httpx.get(f"{server.url}/api/session", headers={"Cookie": f"dialer_session={cookie}"})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf_token"])
