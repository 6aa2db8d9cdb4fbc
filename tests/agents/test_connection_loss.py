"""Connection loss: the agent's own event stream records presence, and an
available agent whose console has been gone DIALER_CONSOLE_LOSS_SECONDS is
paused (told on its stream, not signed out)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from helpers import Api, LiveServer, expect_error, make_settings
from pydantic import ValidationError

from dialer.agents import events, presence
from dialer.agents.models import Agent
from dialer.failing import FailingRows
from dialer.runtime import Runtime


def _runtime(api: Api) -> Runtime:
    runtime: Runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


def _row(runtime: Runtime, agent_id: int) -> Agent:
    with runtime.db.read() as session:
        agent = session.get(Agent, agent_id)
        assert agent is not None
        session.expunge(agent)
        return agent


def _events(runtime: Runtime, agent_id: int) -> list[dict[str, Any]]:
    with runtime.db.read() as session:
        found = events.events_since(session, agent_id=agent_id, campaign_ids=[], after_id=0)
    return [json.loads(e.data) for e in found]


def _setup(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    c = api.campaign()
    return api.agent([c["id"]], name="Sato"), api.agent([c["id"]], name="Suzuki")


def _lose(runtime: Runtime, agent_id: int) -> None:
    """The console opens its stream, then goes away (now, on the clock)."""
    connection = presence.connected(runtime.db, agent_id=agent_id)
    assert presence.disconnected(
        runtime.db, agent_id=agent_id, connection=connection, now_in=runtime.now_in
    )


def test_an_available_agent_gone_too_long_is_paused_and_told(api: Api) -> None:
    runtime = _runtime(api)
    sato, suzuki = _setup(api)
    _lose(runtime, sato["id"])
    lost_at = _row(runtime, sato["id"]).stream_lost_at
    assert lost_at is not None
    api.advance(59)
    assert api.get(f"/api/agents/{sato['id']}").json()["state"] == "available"
    api.advance(1)
    me = api.get(f"/api/agents/{sato['id']}", token=sato["token"])
    assert me.status_code == 200, "paused, not signed out"
    assert me.json()["state"] == "paused" and me.json()["state_reason"] == "connection_lost"
    assert me.json()["pause_code"] is None
    assert me.json()["state_changed_at"] == "2026-12-01T01:01:00+00:00"
    told = [e for e in _events(runtime, sato["id"]) if e["kind"] == "agent_paused"]
    assert len(told) == 1
    assert told[0]["why"] == "connection_lost" and told[0]["state"] == "paused"
    assert told[0]["lost_at"] == "2026-12-01T01:00:00+00:00"
    history = api.get(f"/api/agents/{sato['id']}/history").json()["items"]
    assert [(h["kind"], h["actor"]) for h in history][-1] == ("paused_connection_lost", "system")
    assert history[-1]["detail"]["lost_at"] == "2026-12-01T01:00:00+00:00"
    # The others are left alone, and it happens once.
    assert api.get(f"/api/agents/{suzuki['id']}").json()["state"] == "available"
    api.advance(600)
    assert len([e for e in _events(runtime, sato["id"]) if e["kind"] == "agent_paused"]) == 1
    expect_error(api.next(sato), 409, "agent_not_available")
    # Back: it sets available itself; a person's state clears the reason.
    presence.connected(runtime.db, agent_id=sato["id"])
    back = api.put(
        f"/api/agents/{sato['id']}/state", token=sato["token"], json={"state": "available"}
    )
    assert back.json()["state_reason"] is None and back.json()["state"] == "available"
    api.advance(600)
    assert api.get(f"/api/agents/{sato['id']}").json()["state"] == "available"


def test_only_available_agents_with_a_lost_stream_are_paused(api: Api) -> None:
    runtime = _runtime(api)
    sato, suzuki = _setup(api)
    never = api.agent([], name="Never")  # never opened its stream
    api.put(f"/api/agents/{suzuki['id']}/state", json={"state": "paused", "pause_code": "研修"})
    for agent in (sato, suzuki):
        _lose(runtime, agent["id"])
    api.put(f"/api/agents/{sato['id']}/state", json={"state": "offline"})
    api.advance(3600)
    assert api.get(f"/api/agents/{sato['id']}").json()["state"] == "offline"
    kept = api.get(f"/api/agents/{suzuki['id']}").json()
    assert (
        kept["state"] == "paused" and kept["pause_code"] == "研修" and kept["state_reason"] is None
    )
    assert api.get(f"/api/agents/{never['id']}").json()["state"] == "available"
    # A deactivated agent is not paused either (it is offline).
    api.put(f"/api/agents/{sato['id']}/state", json={"state": "available"})
    api.post(f"/api/agents/{sato['id']}/deactivate")
    api.advance(3600)
    assert not [e for e in _events(runtime, sato["id"]) if e["kind"] == "agent_paused"]


def test_a_reconnect_before_the_loss_keeps_the_agent(api: Api) -> None:
    runtime = _runtime(api)
    sato, _ = _setup(api)
    _lose(runtime, sato["id"])
    api.advance(30)
    presence.connected(runtime.db, agent_id=sato["id"])
    assert _row(runtime, sato["id"]).stream_lost_at is None
    api.advance(3600)
    assert api.get(f"/api/agents/{sato['id']}").json()["state"] == "available"


def test_only_the_latest_connection_marks_the_stream_lost(api: Api) -> None:
    runtime = _runtime(api)
    sato, _ = _setup(api)
    old = presence.connected(runtime.db, agent_id=sato["id"])
    new = presence.connected(runtime.db, agent_id=sato["id"])
    assert old != new
    # The old tab closes after the new one opened: still present.
    assert not presence.disconnected(
        runtime.db, agent_id=sato["id"], connection=old, now_in=runtime.now_in
    )
    assert _row(runtime, sato["id"]).stream_lost_at is None
    api.advance(3600)
    assert api.get(f"/api/agents/{sato['id']}").json()["state"] == "available"
    assert presence.disconnected(
        runtime.db, agent_id=sato["id"], connection=new, now_in=runtime.now_in
    )
    assert _row(runtime, sato["id"]).stream_lost_at is not None


def test_a_newer_tab_closing_leaves_an_older_open_one_present(api: Api) -> None:
    runtime = _runtime(api)
    sato, _ = _setup(api)
    old = presence.connected(runtime.db, agent_id=sato["id"])
    new = presence.connected(runtime.db, agent_id=sato["id"])
    assert presence.disconnected(
        runtime.db, agent_id=sato["id"], connection=new, now_in=runtime.now_in
    )
    # The old tab's next keep-alive: still open, so present again, and the latest.
    assert presence.still_here(runtime.db, agent_id=sato["id"], connection=old)
    assert _row(runtime, sato["id"]).stream_lost_at is None
    assert not presence.still_here(runtime.db, agent_id=sato["id"], connection=old)
    api.advance(3600)
    assert api.get(f"/api/agents/{sato['id']}").json()["state"] == "available"
    assert presence.disconnected(
        runtime.db, agent_id=sato["id"], connection=old, now_in=runtime.now_in
    )


def test_the_loss_job_is_due_when_the_earliest_loss_is(api: Api) -> None:
    runtime = _runtime(api)
    sato, suzuki = _setup(api)
    job = next(j for j in runtime.due_jobs if j.name == "connection_loss")
    with runtime.db.read() as session:
        assert job.due_at(session) is None
    _lose(runtime, sato["id"])
    api.advance(10)
    _lose(runtime, suzuki["id"])
    with runtime.db.read() as session:
        now = runtime.now_in(session)
        assert job.due_at(session) == now - timedelta(seconds=10) + timedelta(seconds=60)


def test_a_failing_agent_is_benched_and_the_others_are_paused(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = _runtime(api)
    sato, suzuki = _setup(api)
    for agent in (sato, suzuki):
        _lose(runtime, agent["id"])
    real = presence._pause

    def pause(session: Any, agent: Agent, *, now: Any) -> None:
        if agent.id == sato["id"]:
            raise RuntimeError("this agent's row is broken")
        real(session, agent, now=now)

    monkeypatch.setattr(presence, "_pause", pause)
    failing = FailingRows("connection_loss_test")
    with runtime.db.write() as session:
        now = runtime.now_in(session) + timedelta(seconds=60)
        assert (
            presence.pause_lost(session, now=now, loss=timedelta(seconds=60), failing=failing) == 1
        )
    assert failing.benched() == {sato["id"]}
    assert api.get(f"/api/agents/{suzuki['id']}").json()["state"] == "paused"
    assert api.get(f"/api/agents/{sato['id']}").json()["state"] == "available"
    assert not [e for e in _events(runtime, sato["id"]) if e["kind"] == "agent_paused"]


@pytest.mark.parametrize("value", [9, 3601])
def test_the_loss_setting_is_bounded(value: int) -> None:
    with pytest.raises(ValidationError, match="DIALER_CONSOLE_LOSS_SECONDS"):
        make_settings("sqlite://", DIALER_CONSOLE_LOSS_SECONDS=value)
    assert make_settings("sqlite://", DIALER_CONSOLE_LOSS_SECONDS=10).console_loss_seconds == 10


# --- over real HTTP: the stream itself ---


@pytest.fixture
def live(db_url: str) -> Iterator[LiveServer]:
    server = LiveServer(make_settings(db_url))
    try:
        yield server
    finally:
        server.close()


class RawStream:
    """An event stream on a plain socket, so the test decides when it drops."""

    def __init__(self, live: LiveServer, agent_id: int, *, token: str, last: str | None = None):
        host, port = live.url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        extra = f"Last-Event-ID: {last}\r\n" if last else ""
        self.sock.sendall(
            (
                f"GET /api/agents/{agent_id}/events HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {token}\r\n{extra}Accept: text/event-stream\r\n\r\n"
            ).encode()
        )
        self.buffer = b""

    def read_until(self, marker: bytes) -> bytes:
        deadline = time.monotonic() + 10
        while marker not in self.buffer:
            assert time.monotonic() < deadline, self.buffer
            self.buffer += self.sock.recv(65536)
        return self.buffer

    def close(self) -> None:
        self.sock.close()


def _wait(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + 10
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_the_agents_stream_drops_and_the_console_is_paused_then_told(live: LiveServer) -> None:
    c = live.http.post("/api/campaigns", json={"name": "Loss"}).json()
    agent = live.http.post("/api/agents", json={"name": "Sato", "campaign_ids": [c["id"]]}).json()
    manager_watch = RawStream(live, agent["id"], token=live.http.headers["Authorization"][7:])
    manager_watch.read_until(b"retry: 2000")
    manager_watch.close()
    # A manager watching counts for nothing.
    time.sleep(0.2)
    assert _row(live.runtime, agent["id"]).stream_connection is None

    stream = RawStream(live, agent["id"], token=agent["token"])
    head = stream.read_until(b"retry: 2000\n")
    assert b"200 OK" in head and b"text/event-stream" in head
    row = _row(live.runtime, agent["id"])
    assert row.stream_connection is not None and row.stream_lost_at is None
    stream.close()
    _wait(lambda: _row(live.runtime, agent["id"]).stream_lost_at is not None, "loss recorded")
    live.http.post("/api/admin/clock", json={"advance_seconds": 60})
    got = live.http.get(f"/api/agents/{agent['id']}").json()
    assert got["state"] == "paused" and got["state_reason"] == "connection_lost"
    # The console comes back: presence again, and the pause is replayed.
    again = RawStream(live, agent["id"], token=agent["token"], last="0")
    text = again.read_until(b"event: agent_paused").decode()
    assert "retry: 2000" in text and '"why": "connection_lost"' in text
    assert _row(live.runtime, agent["id"]).stream_lost_at is None
    again.close()


def test_the_services_due_jobs_end_with_the_connection_loss(api: Api) -> None:
    runtime = _runtime(api)
    assert [job.name for job in runtime.due_jobs] == [
        "provider_reports",
        "connect_waiting",
        "promise_due",
        "promise_windows",
        "claim_expiry",
        "connection_loss",
    ]
