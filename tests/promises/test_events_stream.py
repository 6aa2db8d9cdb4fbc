"""The agent event stream over real HTTP, with two web workers on one database:
events come from rows, not from the memory of the worker that caused them."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from helpers import MANAGER_TOKEN, LiveServer, make_settings
from sqlalchemy import func, select

from dialer.agents import events
from dialer.agents.models import AgentEvent
from dialer.app import create_app
from dialer.runtime import Runtime
from dialer.scheduler import Ticker

H = {"Authorization": f"Bearer {MANAGER_TOKEN}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def Worker(db_url: str) -> LiveServer:
    """One web worker: its own Runtime (and event hub) in a uvicorn thread."""
    return LiveServer(make_settings(db_url))


class Listener:
    """Reads one SSE connection in a thread; frames arrive on a queue."""

    def __init__(self, url: str, *, headers: dict[str, str] | None = None) -> None:
        self.frames: queue.Queue[dict[str, Any]] = queue.Queue()
        self.comments: queue.Queue[str] = queue.Queue()
        self.status: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url, headers or {}), daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while self.status is None:
            assert time.monotonic() < deadline, "the stream did not open"
            time.sleep(0.01)

    def _read(self, url: str, headers: dict[str, str]) -> None:
        try:
            self._read_frames(url, headers)
        except httpx.HTTPError:
            if not self._stop.is_set():
                raise

    def _read_frames(self, url: str, headers: dict[str, str]) -> None:
        with httpx.Client(timeout=httpx.Timeout(10, read=None)) as client:
            with client.stream("GET", url, headers=headers) as response:
                self.status = response.status_code
                self.content_type = response.headers.get("content-type", "")
                frame: dict[str, Any] = {}
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith(":"):
                        self.comments.put(line)
                    elif line == "":
                        if "data" in frame:
                            self.frames.put(frame)
                            frame = {}
                    else:
                        key, _, value = line.partition(": ")
                        frame[key] = value

    def next(self, timeout: float = 5) -> dict[str, Any]:
        frame = self.frames.get(timeout=timeout)
        frame["data"] = json.loads(frame["data"])
        return frame

    def nothing(self, wait: float = 0.5) -> bool:
        try:
            self.frames.get(timeout=wait)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        self._stop.set()


@pytest.fixture
def workers(db_url: str) -> Iterator[tuple[LiveServer, LiveServer]]:
    first = Worker(db_url)
    second = Worker(db_url)
    try:
        yield first, second
    finally:
        second.close()
        first.close()


def _setup(w: LiveServer) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    c = w.http.post("/api/campaigns", json={"name": "Stream"}).json()
    files = {"file": ("l.csv", b"name,phone\nYamada,090-6666-0001\n", "text/csv")}
    assert w.http.post(f"/api/campaigns/{c['id']}/imports", files=files).status_code == 201
    agents = []
    for name in ("Sato", "Suzuki"):
        r = w.http.post("/api/agents", json={"name": name, "campaign_ids": [c["id"]]})
        agents.append(r.json())
    return c, agents[0], agents[1]


def _ticket(worker: LiveServer, agent: dict[str, Any]) -> str:
    r = worker.http.post(
        f"/api/agents/{agent['id']}/events/ticket",
        headers={"Authorization": f"Bearer {agent['token']}"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["ticket"])


def test_promise_events_reach_the_agent_through_another_worker(
    workers: tuple[LiveServer, LiveServer],
) -> None:
    a, b = workers
    _c, owner, other = _setup(a)
    auth = {"Authorization": f"Bearer {owner['token']}"}
    # EventSource cannot send headers: a ticket, from one worker, works at the other.
    ticket = _ticket(a, owner)
    mine = Listener(f"{b.url}/api/agents/{owner['id']}/events?ticket={ticket}")
    theirs = Listener(
        f"{a.url}/api/agents/{other['id']}/events",
        headers={"Authorization": f"Bearer {other['token']}"},
    )
    try:
        assert mine.status == 200 and mine.content_type.startswith("text/event-stream")
        lead = a.http.post(f"/api/agents/{owner['id']}/next", headers=auth).json()["lead"]
        a.http.post(
            "/api/admin/sim/outcomes", json={"phone": "090-6666-0001", "outcomes": ["answered"]}
        )
        call = a.http.post(f"/api/leads/{lead['id']}/calls", headers=auth, json={}).json()
        status = mine.next()
        assert status["event"] == "call_status"
        assert status["data"]["call_id"] == call["id"]
        assert status["data"]["status"] == "in-progress"
        r = a.http.post(
            f"/api/calls/{call['id']}/disposition",
            headers=auth,
            json={"outcome": "callback", "promise": {"in_minutes": 10}},
        )
        assert r.status_code == 200, r.text
        mine.next()  # the call completes with the disposition
        a.http.post("/api/admin/clock", json={"advance_seconds": 599})
        assert mine.nothing(0.4)
        a.http.post("/api/admin/clock", json={"advance_seconds": 1})
        due = mine.next()
        assert due["event"] == "promise_due"
        assert due["data"]["lead_id"] == lead["id"]
        assert due["data"]["due_at"] == "2026-12-01T10:10:00+09:00"
        assert theirs.nothing(0.3), "someone else's promise is not announced to others"
        a.http.post("/api/admin/clock", json={"advance_seconds": 300})
        missed = mine.next()
        assert missed["event"] == "promise_missed"
        assert missed["data"]["promise_id"] == due["data"]["promise_id"]
        # Reassigned: everyone on the campaign hears it is due for them now.
        offered = theirs.next()
        assert offered["event"] == "promise_due" and offered["data"]["reassigned"] is True
    finally:
        mine.close()
        theirs.close()
    # Reconnecting with Last-Event-ID replays what came after, once each.
    again = Listener(
        f"{a.url}/api/agents/{owner['id']}/events",
        headers={**auth, "Last-Event-ID": status["id"]},
    )
    try:
        kinds = [again.next()["event"] for _ in range(4)]
        assert kinds == ["call_status", "promise_due", "promise_missed", "promise_due"]
        assert again.nothing(0.5)
    finally:
        again.close()
    # A new EventSource cannot send the header: the same id in the query replays
    # the same events; the header wins over it.
    by_query = Listener(
        f"{a.url}/api/agents/{owner['id']}/events?ticket={_ticket(a, owner)}"
        f"&last_event_id={status['id']}"
    )
    both = Listener(
        f"{a.url}/api/agents/{owner['id']}/events?last_event_id=0",
        headers={**auth, "Last-Event-ID": due["id"]},
    )
    try:
        kinds = [by_query.next()["event"] for _ in range(4)]
        assert kinds == ["call_status", "promise_due", "promise_missed", "promise_due"]
        assert [both.next()["event"] for _ in range(2)] == ["promise_missed", "promise_due"]
        assert both.nothing(0.5)
    finally:
        by_query.close()
        both.close()


def test_stream_auth_and_heartbeat(
    workers: tuple[LiveServer, LiveServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _b = workers
    _c, owner, other = _setup(a)
    r = httpx.get(f"{a.url}/api/agents/{owner['id']}/events", timeout=5)
    assert r.status_code == 401
    r = httpx.get(
        f"{a.url}/api/agents/{owner['id']}/events",
        headers={"Authorization": f"Bearer {other['token']}"},
        timeout=5,
    )
    assert r.status_code == 403
    # Tokens never go in the URL: refused, naming the field, even the right one.
    r = httpx.get(f"{a.url}/api/agents/{owner['id']}/events?token={owner['token']}", timeout=5)
    assert r.status_code == 400 and r.json()["code"] == "token_in_url"
    assert r.json()["field"] == "token"
    r = httpx.get(
        f"{a.url}/api/agents/{owner['id']}/events",
        headers={"Authorization": f"Bearer {owner['token']}", "Last-Event-ID": "x"},
        timeout=5,
    )
    assert r.status_code == 400
    monkeypatch.setattr(events, "HEARTBEAT_SECONDS", 0.2)
    listener = Listener(f"{a.url}/api/agents/{owner['id']}/events?ticket={_ticket(a, owner)}")
    try:
        assert listener.comments.get(timeout=5).startswith(": connected")
        assert listener.comments.get(timeout=5) == ": keep-alive"
    finally:
        listener.close()


def test_due_work_after_a_crash_announces_each_promise_once(db_url: str) -> None:
    """The process that booked is gone (kill -9 leaves only the rows); the clock
    stands past due and window end; two schedulers tick, then the clock moves."""
    settings = make_settings(db_url)
    first = Runtime(settings)
    app = create_app(settings, runtime=first)
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        c = client.post("/api/campaigns", headers=H, json={"name": "Crash"}).json()
        files = {"file": ("l.csv", b"name,phone\nA,090-6666-0002\nB,090-6666-0003\n", "text/csv")}
        client.post(f"/api/campaigns/{c['id']}/imports", headers=H, files=files)
        agent = client.post(
            "/api/agents", headers=H, json={"name": "Sato", "campaign_ids": [c["id"]]}
        ).json()
        leads = client.get(f"/api/campaigns/{c['id']}/leads", headers=H).json()["items"]
        for lead, minutes in zip(leads, (10, 20), strict=True):
            r = client.post(
                f"/api/leads/{lead['id']}/promises",
                headers=H,
                json={"in_minutes": minutes, "agent_id": agent["id"]},
            )
            assert r.status_code == 201, r.text
    first.close()

    second = Runtime(settings)
    with second.db.write() as session:
        second.simulated_clock.set_in(session, to=datetime(2026, 12, 1, 1, 30, tzinfo=UTC))  # type: ignore[union-attr]
    one, two = Ticker(second), Ticker(second)
    for ticker in (one, two, one, two):
        ticker.tick()
    second.advance_clock(to=datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    with second.db.read() as session:
        counts = dict(
            session.execute(
                select(AgentEvent.kind, func.count()).group_by(AgentEvent.kind)  # type: ignore[arg-type]
            ).all()
        )
    one.stop()
    second.close()
    # Two promises: each announced once, each missed once (and reassigned once).
    assert counts == {"promise_due": 4, "promise_missed": 2}
