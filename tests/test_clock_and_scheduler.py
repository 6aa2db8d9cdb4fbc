"""The simulated clock, due work in time order, and the scheduler's single leader."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from helpers import MANAGER_TOKEN, Api, make_settings
from sqlalchemy import func, select

from dialer.agents.models import Claim
from dialer.app import create_app
from dialer.clock import wall_now
from dialer.runtime import Runtime
from dialer.scheduler import Ticker, release_lead, try_lead

H = {"Authorization": f"Bearer {MANAGER_TOKEN}"}


def test_clock_get_and_advance(api: Api) -> None:
    assert api.get("/api/admin/clock").json() == {
        "now": "2026-12-01T01:00:00+00:00",
        "mode": "simulated",
    }
    assert api.advance(600) == "2026-12-01T01:10:00+00:00"
    r = api.post("/api/admin/clock", json={"to": "2026-12-01T12:00:00+09:00"})
    assert r.json()["now"] == "2026-12-01T03:00:00+00:00"
    r = api.post("/api/admin/clock", json={"to": "2026-12-01T09:00:00+09:00"})
    assert r.status_code == 422 and "backwards" in r.json()["detail"]
    r = api.post("/api/admin/clock", json={"to": "2026-12-01T09:00:00"})
    assert r.status_code == 422 and r.json()["field"] == "to"
    assert api.post("/api/admin/clock", json={"advance_seconds": -1}).status_code == 422
    assert api.post("/api/admin/clock", json={}).status_code == 422
    assert api.get("/api/admin/clock").json()["now"] == "2026-12-01T03:00:00+00:00"


def test_due_work_runs_in_time_order_within_one_advance(api: Api) -> None:
    """A no-answer at +25 s schedules a 30-minute retry from 10:00:25 exactly, even
    when the clock jumps an hour in one request."""
    c = api.campaign()
    api.import_csv(c["id"], "name,phone\nA,090-7777-0001\n")
    agent = api.agent([c["id"]])
    lead = api.next(agent).json()["lead"]
    api.post("/api/admin/sim/outcomes", json={"phone": "090-7777-0001", "outcomes": ["no-answer"]})
    api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={})
    api.advance(3600)
    detail = api.get(f"/api/leads/{lead['id']}").json()
    assert detail["next_attempt_at"] == "2026-12-01T10:30:25+09:00"
    events = {e["kind"]: e["at"] for e in detail["events"]}
    assert events["call_status"] == "2026-12-01T10:00:25+09:00"
    assert events["claim_released"] == "2026-12-01T10:00:25+09:00"


def test_clock_survives_a_restart(db_url: str) -> None:
    settings = make_settings(db_url)
    with TestClient(create_app(settings)) as client:
        client.post("/api/admin/clock", headers=H, json={"advance_seconds": 3600})
    later = make_settings(db_url, DIALER_CLOCK_START="2030-01-01T00:00:00+00:00")
    with TestClient(create_app(later)) as client:
        assert (
            client.get("/api/admin/clock", headers=H).json()["now"] == "2026-12-01T02:00:00+00:00"
        )


def test_a_second_scheduler_idles(db_url: str) -> None:
    runtime = Runtime(make_settings(db_url))
    runtime.start()
    now = wall_now()
    assert try_lead(runtime.db, holder="a", now=now)
    assert not try_lead(runtime.db, holder="b", now=now)
    assert try_lead(runtime.db, holder="a", now=now + timedelta(seconds=5))
    # The leader stops renewing: after the lease runs out the other one takes over.
    assert try_lead(runtime.db, holder="b", now=now + timedelta(seconds=21))
    assert not try_lead(runtime.db, holder="a", now=now + timedelta(seconds=22))
    release_lead(runtime.db, holder="b")
    assert try_lead(runtime.db, holder="a", now=wall_now())
    runtime.close()


def test_scheduler_tick_expires_claims_and_only_the_leader_acts(db_url: str) -> None:
    settings = make_settings(db_url)
    runtime = Runtime(settings)
    with TestClient(create_app(settings, runtime=runtime)) as client:
        api = Api(client)
        c = api.campaign()
        api.import_csv(c["id"], "name,phone\nA,090-7777-0002\n")
        agent = api.agent([c["id"]])
        api.next(agent)
        # Move the stored clock past the claim's expiry without running due work,
        # the way a restart after downtime finds it.
        with runtime.db.write() as session:
            runtime.simulated_clock.set_in(session, to=datetime(2026, 12, 1, 2, 0, tzinfo=UTC))  # type: ignore[union-attr]
        leader, follower = Ticker(runtime), Ticker(runtime)
        follower.holder = "someone-else"
        assert try_lead(runtime.db, holder=follower.holder, now=wall_now())
        leader.tick()
        with runtime.db.read() as session:
            assert session.scalar(select(func.count()).select_from(Claim)) == 1
        release_lead(runtime.db, holder=follower.holder)
        leader.tick()
        with runtime.db.read() as session:
            assert session.scalar(select(func.count()).select_from(Claim)) == 0
        leader.stop()


def test_clock_endpoints_404_with_the_system_clock(db_url: str) -> None:
    with TestClient(create_app(make_settings(db_url, DIALER_CLOCK="system"))) as client:
        r = client.get("/api/admin/clock", headers=H)
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        assert (
            client.post("/api/admin/clock", headers=H, json={"advance_seconds": 1}).status_code
            == 404
        )
