"""The scheduler's health as every web replica sees it (the lease row's
heartbeat), its figures in /metrics, skipped runs counted and not flooding the
log, and the event stream's tickets."""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from fastapi.testclient import TestClient
from helpers import Api, expect_error
from sqlalchemy import update

from dialer import scheduler as scheduler_module
from dialer.agents import tickets
from dialer.agents.models import Agent, Claim
from dialer.clock import wall_now
from dialer.errors import Unauthorized
from dialer.scheduler import Ticker, install, try_lead
from dialer.system import HEARTBEAT_STALE_AFTER

# --- /healthz ---------------------------------------------------------------------


def _runtime(client: TestClient) -> Any:
    return client.app.state.runtime  # type: ignore[attr-defined]


def test_healthz_reports_the_leaders_heartbeat_and_degrades_when_it_is_stale(
    client: TestClient,
) -> None:
    db = _runtime(client).db
    # The leader beat just now.
    assert try_lead(db, holder="host-a:1:aa", now=wall_now())
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["db"] == "ok"
    assert body["scheduler"]["leader"] == "host-a:1:aa"
    assert body["scheduler"]["status"] == "ok"
    # Real seconds since the beat: short, though a loaded machine may take a few.
    assert 0 <= body["scheduler"]["heartbeat_age_seconds"] < HEARTBEAT_STALE_AFTER.total_seconds()

    # Its last beat was a few renewals ago and its lease still runs: stale,
    # though it still holds the lease.
    stale_at = wall_now() - HEARTBEAT_STALE_AFTER - timedelta(seconds=1)
    assert try_lead(db, holder="host-a:1:aa", now=stale_at, ttl=timedelta(minutes=5))
    r = client.get("/healthz")
    # Reported, not 503: load balancers take replicas out on 503, which would not
    # bring the scheduler back (docs/API.md, Health).
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "degraded" and body["db"] == "ok"
    assert body["scheduler"]["status"] == "stale"
    assert body["scheduler"]["leader"] == "host-a:1:aa"
    assert body["scheduler"]["heartbeat_age_seconds"] > HEARTBEAT_STALE_AFTER.total_seconds()

    # The leader died long ago: its lease ran out too, nobody leads.
    assert try_lead(db, holder="host-a:1:aa", now=wall_now() - timedelta(minutes=10))
    body = client.get("/healthz").json()
    assert body["scheduler"]["leader"] is None
    assert body["scheduler"]["status"] == "stale" and body["status"] == "degraded"

    # A standby takes over and beats: healthy again.
    assert try_lead(db, holder="host-c:3:cc", now=wall_now())
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["scheduler"]["leader"] == "host-c:3:cc"


# --- /metrics ---------------------------------------------------------------------

_SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$", re.MULTILINE)


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for m in _SAMPLE.finditer(text):
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m["labels"] or ""))
        found[(m["name"], labels)] = float(m["value"])
    return found


def _value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


def test_metrics_export_the_scheduler_heartbeat_ticks_and_due_rows(
    client: TestClient, api: Api
) -> None:
    runtime = _runtime(client)
    text = client.get("/metrics").text
    assert _value(text, "dialer_db_up") == 1
    assert "# TYPE dialer_scheduler_leader gauge" in text
    assert "dialer_scheduler_heartbeat_age_seconds" not in text  # never beat
    for job in ("provider_reports", "promise_due", "promise_windows", "claim_expiry"):
        assert _value(text, "dialer_due_rows", job=job) == 0
        assert _value(text, "dialer_due_oldest_seconds", job=job) == 0

    # A claim whose expiry passed 90 s ago (domain clock) with no tick since.
    c = api.campaign()
    api.import_csv(c["id"], "name,phone\nA,090-7777-0101\n")
    agent = api.agent([c["id"]])
    assert api.next(agent).status_code == 200
    with runtime.db.write() as session:
        now = runtime.now_in(session)
        session.execute(update(Claim).values(claim_expires_at=now - timedelta(seconds=90)))
    text = client.get("/metrics").text
    assert _value(text, "dialer_due_rows", job="claim_expiry") == 1
    assert _value(text, "dialer_due_oldest_seconds", job="claim_expiry") == 90

    # One tick of a leader: it beats, records its tick, and does the due work.
    ticker = Ticker(runtime)
    ticker.tick()
    ticker.tick()  # its figures are written with the next renewal
    ticker._renewed_at = None  # renew now rather than in a second
    ticker.tick()
    text = client.get("/metrics").text
    assert _value(text, "dialer_scheduler_leader", holder=ticker.holder) == 1
    age = _value(text, "dialer_scheduler_heartbeat_age_seconds")
    assert age is not None and 0 <= age < 5
    tick = _value(text, "dialer_scheduler_tick_seconds", holder=ticker.holder)
    assert tick is not None and 0 < tick < 5
    assert _value(text, "dialer_scheduler_tick_lag_seconds", holder=ticker.holder) is not None
    assert _value(text, "dialer_scheduler_leader_ticks_total", holder=ticker.holder) == 2
    assert _value(text, "dialer_scheduler_leader_skipped_runs_total", holder=ticker.holder) == 0
    assert _value(text, "dialer_due_rows", job="claim_expiry") == 0
    ticker.stop()
    text = client.get("/metrics").text
    assert (("dialer_scheduler_leader", frozenset({("holder", ticker.holder)}))) not in samples(
        text
    )


def test_skipped_runs_are_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tick slower than the interval: APScheduler skips the runs that fall due
    meanwhile (and would warn for each); one line, every skip counted."""
    release = threading.Event()
    started = threading.Event()

    class SlowTicker:
        skipped_runs = 0

        def tick(self) -> None:
            started.set()
            release.wait(5)

        def skipped(self, _event: object = None) -> None:
            self.skipped_runs += 1

    # A fresh filter: another test's scheduler may have let its one line through.
    target = logging.getLogger("apscheduler.scheduler")
    monkeypatch.setattr(target, "filters", [])
    ticker = SlowTicker()
    sched = BackgroundScheduler(timezone="UTC")
    install(sched, ticker, interval=0.02)  # type: ignore[arg-type]
    caplog.set_level(logging.WARNING, logger="apscheduler.scheduler")
    sched.start()
    try:
        assert started.wait(5)
        deadline = time.monotonic() + 5
        while ticker.skipped_runs < 5:
            assert time.monotonic() < deadline, "APScheduler skipped no run"
            time.sleep(0.02)
    finally:
        release.set()
        sched.shutdown(wait=True)
    lines = [r for r in caplog.records if "maximum number of running instances" in r.getMessage()]
    assert ticker.skipped_runs >= 5
    assert len(lines) == 1
    assert scheduler_module.SKIPPED_LOG_EVERY == 60


# --- stream tickets ---------------------------------------------------------------


def _ticket(api: Api, agent: dict[str, Any], *, token: str | None = None) -> dict[str, Any]:
    r = api.post(f"/api/agents/{agent['id']}/events/ticket", token=token or agent["token"])
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_a_ticket_opens_only_its_agents_stream_only_for_a_minute(api: Api) -> None:
    c = api.campaign()
    sato, suzuki = api.agent([c["id"]], "Sato"), api.agent([c["id"]], "Suzuki")
    given = _ticket(api, sato)
    assert set(given) == {"ticket", "expires_at"}
    # An agent asks only for its own stream; a manager for anyone's.
    expect_error(
        api.post(f"/api/agents/{sato['id']}/events/ticket", token=suzuki["token"]),
        403,
        "not_your_resource",
    )
    expect_error(api.client.post(f"/api/agents/{sato['id']}/events/ticket"), 401)
    assert _ticket(api, sato, token=api.manager["Authorization"].split()[1])

    ticket = given["ticket"]
    # Another agent's stream.
    r = api.client.get(f"/api/agents/{suzuki['id']}/events", params={"ticket": ticket})
    expect_error(r, 403, "ticket_not_for_this_stream")
    # Another purpose: a ticket is no bearer token, anywhere.
    auth = {"Authorization": f"Bearer {ticket}"}
    expect_error(api.client.get(f"/api/agents/{sato['id']}", headers=auth), 401, "unknown_token")
    expect_error(
        api.client.post(f"/api/agents/{sato['id']}/next", headers=auth), 401, "unknown_token"
    )
    expect_error(
        api.client.get(f"/api/agents/{sato['id']}/events", headers=auth), 401, "unknown_token"
    )
    # Tampered with: another agent's id, a later expiry.
    version, agent_id, principal, expires, mac = ticket.split(".")
    for forged in (
        f"{version}.{suzuki['id']}.{principal}.{expires}.{mac}",
        f"{version}.{agent_id}.{principal}.{int(expires) + 3600}.{mac}",
        f"{version}.{agent_id}.{principal}.{expires}.{mac[:-2]}AA",
        "st1.1.1.1.x",
        "nonsense",
    ):
        r = api.client.get(f"/api/agents/{sato['id']}/events", params={"ticket": forged})
        expect_error(r, 401, "invalid_ticket")
    r = api.client.get(f"/api/agents/{sato['id']}/events", params={"ticket": "x" * 201})
    assert expect_error(r, 422)["field"] == "ticket"


def test_an_expired_ticket_or_one_of_a_replaced_token_is_refused(api: Api) -> None:
    c = api.campaign()
    sato = api.agent([c["id"]])
    runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.db.read() as session:
        principal = session.get(Agent, sato["id"])
        assert principal is not None
        # Given 61 s ago: a minute is all a ticket lasts.
        old, expires_at = tickets.issue(
            principal=principal, agent_id=sato["id"], now=wall_now() - timedelta(seconds=61)
        )
        assert expires_at < wall_now()
        fresh, _ = tickets.issue(principal=principal, agent_id=sato["id"], now=wall_now())
        # The instant it lapses, to the second.
        at = wall_now()
        edge, edge_expiry = tickets.issue(principal=principal, agent_id=sato["id"], now=at)
        assert tickets.redeem(
            session, ticket=edge, agent_id=sato["id"], now=edge_expiry - timedelta(seconds=1)
        )
        with pytest.raises(Unauthorized) as refused:
            tickets.redeem(session, ticket=edge, agent_id=sato["id"], now=edge_expiry)
        assert refused.value.code == "ticket_expired"
    r = api.client.get(f"/api/agents/{sato['id']}/events", params={"ticket": old})
    expect_error(r, 401, "ticket_expired")
    # The agent's token is replaced: its tickets stop working at once.
    with runtime.db.write() as session:
        agent = session.get(Agent, sato["id"])
        assert agent is not None
        agent.token_hash = "0" * 64
    r = api.client.get(f"/api/agents/{sato['id']}/events", params={"ticket": fresh})
    expect_error(r, 401, "invalid_ticket")


def test_a_deactivated_agents_ticket_is_refused_at_once(api: Api) -> None:
    c = api.campaign()
    sato = api.agent([c["id"]])
    headers = {"Authorization": f"Bearer {sato['token']}"}
    r = api.client.post(f"/api/agents/{sato['id']}/events/ticket", headers=headers)
    assert r.status_code in (200, 201), r.text
    ticket = r.json()["ticket"]
    assert api.post(f"/api/agents/{sato['id']}/deactivate").status_code == 200
    r = api.client.get(f"/api/agents/{sato['id']}/events", params={"ticket": ticket})
    expect_error(r, 401, "account_deactivated")
