"""`GET /api/floor`: a campaign's live floor as the manager console shows it, field
by field, on the simulated clock (Tuesday 1 December 2026, 10:00 in Tokyo)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from helpers import Api, block_dialing, expect_error

from dialer.calls.models import Call
from dialer.telephony.faults import FAULTS

CALLER_ID = "+81312345678"
LEADS = (
    "name,company,phone\n"
    "山田太郎,山田クリニック,090-5555-0001\n"
    "佐藤次郎,,090-5555-0002\n"
    "鈴木花子,鈴木商店,090-5555-0003\n"
)


def _set_up(api: Api, **campaign: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    campaign.setdefault("caller_id", CALLER_ID)
    c = api.campaign(**campaign)
    assert api.import_csv(c["id"], LEADS).status_code == 201
    return c, api.agent([c["id"]], name="佐藤")


def _floor(api: Api, campaign_id: int, **kw: Any) -> dict[str, Any]:
    r = api.get(f"/api/floor?campaign_id={campaign_id}", **kw)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _lead_id(api: Api, phone: str) -> int:
    r = api.get("/api/leads", params={"phone": phone})
    assert r.status_code == 200, r.text
    return int(r.json()["items"][0]["id"])


def _agent(floor: dict[str, Any], agent_id: int) -> dict[str, Any]:
    (found,) = [a for a in floor["agents"] if a["id"] == agent_id]
    return dict(found)


def test_the_snapshot_names_the_campaign_and_its_idle_agents_by_name(api: Api) -> None:
    c, sato = _set_up(api)
    abe = api.agent([c["id"]], name="Abe")
    api.agent([api.campaign()["id"]], name="Elsewhere")
    gone = api.agent([c["id"]], name="Gone")
    assert api.post(f"/api/agents/{gone['id']}/deactivate", json={}).status_code == 200
    api.post("/api/agents", json={"name": "Boss", "campaign_ids": [c["id"]], "role": "manager"})
    floor = _floor(api, c["id"])
    assert {k: floor[k] for k in ("campaign_id", "campaign_name", "timezone", "as_of")} == {
        "campaign_id": c["id"],
        "campaign_name": c["name"],
        "timezone": "Asia/Tokyo",
        "as_of": "2026-12-01T10:00:00+09:00",
    }
    assert (floor["dial_mode"], floor["status"]) == ("preview", "active")
    # Active agents of the campaign only (no manager, no deactivated one), by name.
    assert [a["id"] for a in floor["agents"]] == [abe["id"], sato["id"]]
    idle = _agent(floor, sato["id"])
    assert idle == {
        "id": sato["id"],
        "name": "佐藤",
        "state": "available",
        "pause_code": None,
        "state_reason": None,
        "state_changed_at": "2026-12-01T10:00:00+09:00",
        "wrapup_until": None,
        "connected": None,
        "activity": "available",
        "activity_since": "2026-12-01T10:00:00+09:00",
        "level": "ok",
        "lead": None,
        "call": None,
    }
    assert floor["thresholds"]["available"] == [300, 900]
    assert floor["thresholds"]["not_answering"] == [0, 60]
    assert floor["calls_live"] == [] and floor["dialing_blocked"] is None
    assert floor["promises_due_soon"] == [] and floor["promises_missed_today"] == []
    # A preview campaign has no pacing.
    assert floor["pacing"] is None


def test_time_in_state_is_coloured_past_the_thresholds(api: Api) -> None:
    c, sato = _set_up(api)
    api.advance(299)
    assert _agent(_floor(api, c["id"]), sato["id"])["level"] == "ok"
    api.advance(1)
    assert _agent(_floor(api, c["id"]), sato["id"])["level"] == "warn"
    api.advance(600)
    assert _agent(_floor(api, c["id"]), sato["id"])["level"] == "alert"


def test_a_paused_agent_shows_its_state_and_pause_code(api: Api) -> None:
    c, sato = _set_up(api)
    api.advance(60)
    r = api.put(
        f"/api/agents/{sato['id']}/state",
        token=sato["token"],
        json={"state": "paused", "pause_code": "休憩"},
    )
    assert r.status_code == 200, r.text
    shown = _agent(_floor(api, c["id"]), sato["id"])
    assert (shown["state"], shown["pause_code"], shown["activity"]) == ("paused", "休憩", "paused")
    assert shown["state_changed_at"] == shown["activity_since"] == "2026-12-01T10:01:00+09:00"


def test_a_claim_shows_the_lead_and_a_live_call_shows_everywhere(api: Api) -> None:
    c, sato = _set_up(api)
    lead = api.next(sato).json()["lead"]
    shown = _agent(_floor(api, c["id"]), sato["id"])
    assert shown["activity"] == "working"
    assert shown["lead"] == {
        "id": lead["id"],
        "campaign_id": c["id"],
        "name": "山田太郎",
        "company": "山田クリニック",
        "claimed_at": "2026-12-01T10:00:00+09:00",
    }
    assert shown["call"] is None
    api.advance(5)
    phone = lead["phones"][0]["number"]
    api.post("/api/admin/sim/outcomes", json={"phone": phone, "outcomes": ["answered"]})
    call = api.post(f"/api/leads/{lead['id']}/calls", token=sato["token"], json={}).json()
    floor = _floor(api, c["id"])
    shown = _agent(floor, sato["id"])
    assert shown["activity"] == "talking"
    assert shown["call"] == {
        "id": call["id"],
        "status": "in-progress",
        "lead_id": lead["id"],
        "campaign_id": c["id"],
        "to": "+819055550001",
        "created_at": "2026-12-01T10:00:05+09:00",
        "answered_at": "2026-12-01T10:00:05+09:00",
    }
    assert floor["calls_live"] == [
        {
            "id": call["id"],
            "lead_id": lead["id"],
            "lead_name": "山田太郎",
            "agent_id": sato["id"],
            "agent_name": "佐藤",
            "status": "in-progress",
            "to": "+819055550001",
            "created_at": "2026-12-01T10:00:05+09:00",
            "answered_at": "2026-12-01T10:00:05+09:00",
        }
    ]
    # Hung up: no longer live; the agent is back on its lead until the disposition.
    assert api.post(f"/api/calls/{call['id']}/hangup", token=sato["token"]).status_code == 200
    floor = _floor(api, c["id"])
    assert floor["calls_live"] == []
    assert _agent(floor, sato["id"])["call"] is None
    assert _agent(floor, sato["id"])["activity"] == "working"


def test_promises_due_soon_and_missed_today(api: Api) -> None:
    c, _sato = _set_up(api)
    first, second = _lead_id(api, "090-5555-0001"), _lead_id(api, "090-5555-0002")
    soon = api.post(f"/api/leads/{first}/promises", json={"in_minutes": 10})
    later = api.post(f"/api/leads/{second}/promises", json={"in_minutes": 35})
    assert soon.status_code == 201 and later.status_code == 201, (soon.text, later.text)
    floor = _floor(api, c["id"])
    assert [p["id"] for p in floor["promises_due_soon"]] == [soon.json()["id"]]
    due = floor["promises_due_soon"][0]
    # The promise object, with the customer named.
    assert due["lead_name"] == "山田太郎" and due["company"] == "山田クリニック"
    assert due["due_at"] == "2026-12-01T10:10:00+09:00" and due["status"] == "scheduled"
    # Due and inside its window: still to keep, still shown.
    api.advance(600)
    assert [p["id"] for p in _floor(api, c["id"])["promises_due_soon"]] == [
        soon.json()["id"],
        later.json()["id"],
    ]
    # Its window passed with no call: missed today.
    api.advance(301)
    floor = _floor(api, c["id"])
    assert [p["id"] for p in floor["promises_missed_today"]] == [soon.json()["id"]]
    assert floor["promises_missed_today"][0]["status"] == "missed"
    assert [p["id"] for p in floor["promises_due_soon"]] == [later.json()["id"]]
    # Tomorrow (the campaign's local day) it is no longer today's.
    api.advance(24 * 3600)
    assert _floor(api, c["id"])["promises_missed_today"] == []


def test_a_dialing_block_is_shown(api: Api) -> None:
    c, _sato = _set_up(api)
    db = api.client.app.state.runtime.db  # type: ignore[attr-defined]
    block_dialing(db, provider_code=21210, campaign_id=c["id"])
    assert _floor(api, c["id"])["dialing_blocked"] == {
        "scope": "campaign",
        "code": "caller_id_unverified",
        "provider_code": 21210,
        "detail": FAULTS[21210].meaning,
        "call_id": None,
        "since": "2026-12-01T10:00:00+09:00",
    }


def _calls(api: Api, campaign_id: int, lead_id: int, rows: list[dict[str, Any]]) -> None:
    """Calls of the day as the pacing counts them, written as the flows leave them."""
    db = api.client.app.state.runtime.db  # type: ignore[attr-defined]
    start = datetime.fromisoformat("2026-12-01T09:30:00+09:00")
    with db.write() as session:
        for n, row in enumerate(rows):
            session.add(
                Call(
                    lead_id=lead_id,
                    campaign_id=campaign_id,
                    to="+819055550009",
                    provider="simulated",
                    status=row.get("status", "completed"),
                    created_at=row.get("at", start + timedelta(seconds=n)),
                    answered_by=row.get("answered_by"),
                    disposition=row.get("disposition"),
                )
            )


def test_pacing_of_a_progressive_campaign(api: Api) -> None:
    c, sato = _set_up(
        api, dial_mode="progressive", status="paused", abandon_policy={"max_rate": 0.05}
    )
    suzuki = api.agent([c["id"]], name="鈴木")
    api.put(f"/api/agents/{suzuki['id']}/state", token=suzuki["token"], json={"state": "paused"})
    lead_id = _lead_id(api, "090-5555-0003")
    yesterday = datetime.fromisoformat("2026-11-30T23:59:00+09:00")
    _calls(
        api,
        c["id"],
        lead_id,
        [
            # Abandoned without machine detection: a person answered all the same.
            {"answered_by": "unknown", "disposition": "abandoned"},
            {"answered_by": "human", "disposition": "not_interested"},
            {"answered_by": "human", "disposition": "converted"},
            {"answered_by": "machine", "disposition": "machine"},
            {"status": "no-answer", "disposition": "no_answer"},
            # Before the campaign's local midnight: yesterday's.
            {"answered_by": "human", "disposition": "abandoned", "at": yesterday},
            # Ringing now, for nobody yet.
            {"status": "ringing"},
        ],
    )
    floor = _floor(api, c["id"])
    assert floor["pacing"] == {
        "dial_level": 1.0,  # one line ringing, one agent waiting (the other paused)
        "calls_in_flight": 1,
        "agents_available": 1,
        "abandoned_today": 1,
        "answered_today": 3,
        "abandon_rate": 0.3333,
        "abandon_cap": 0.05,  # the campaign's abandon_policy.max_rate
    }
    # The abandon window (30 days) counts yesterday's abandoned call too.
    assert floor["abandon_window"] == {
        "abandoned": 2,
        "answered": 4,
        "rate": 0.5,
        "max_rate": 0.05,
        "window_days": 30,
        "since_at": "2026-11-01T10:00:00+09:00",
        "over": True,
    }
    assert sato["id"] != suzuki["id"]


def test_pacing_before_any_call(api: Api) -> None:
    c, sato = _set_up(api, dial_mode="progressive", status="paused")
    api.put(f"/api/agents/{sato['id']}/state", token=sato["token"], json={"state": "paused"})
    floor = _floor(api, c["id"])
    pacing = floor["pacing"]
    assert pacing["dial_level"] is None and pacing["agents_available"] == 0
    assert pacing["abandon_rate"] is None and pacing["answered_today"] == 0
    assert pacing["abandon_cap"] == 0.03
    window = floor["abandon_window"]
    assert (window["answered"], window["rate"], window["over"]) == (0, None, False)


def test_the_queue_diagnosis_comes_with_when_it_was_computed(api: Api) -> None:
    c, _sato = _set_up(api)
    deadline = time.monotonic() + 10
    floor = _floor(api, c["id"])
    while floor["queue"] is None:
        # Computed in the background; a small campaign's is in at once.
        assert time.monotonic() < deadline, "the queue diagnosis never came"
        time.sleep(0.05)
        floor = _floor(api, c["id"])
    queue = floor["queue"]
    assert queue["as_of"] == "2026-12-01T10:00:00+09:00"
    assert queue["campaign_id"] == c["id"] and queue["callable_now"] == 3
    assert queue == {**api.get(f"/api/campaigns/{c['id']}/queue").json(), "as_of": queue["as_of"]}


def test_refusals(api: Api) -> None:
    c, sato = _set_up(api)
    expect_error(api.get("/api/floor?campaign_id=999999"), 404, "campaign_not_found")
    body = expect_error(api.get("/api/floor"), 422)
    assert body["field"] == "campaign_id"
    for bad in ("0", "abc", str(2**63)):
        assert expect_error(api.get(f"/api/floor?campaign_id={bad}"), 422)["field"] == "campaign_id"
    expect_error(api.get(f"/api/floor?campaign_id={c['id']}", token=sato["token"]), 403)
    expect_error(api.get(f"/api/floor?campaign_id={c['id']}", token="nope"), 401)
    expect_error(api.get(f"/api/floor/events?campaign_id={c['id']}", token=sato["token"]), 403)
    expect_error(api.get("/api/floor/events?campaign_id=999999"), 404, "campaign_not_found")


def test_wrapping_up_then_idle_since_the_wrapup_ended(api: Api) -> None:
    c, sato = _set_up(api, wrapup_seconds=60)
    lead = api.next(sato).json()["lead"]
    phone = lead["phones"][0]["number"]
    api.post("/api/admin/sim/outcomes", json={"phone": phone, "outcomes": ["answered"]})
    call = api.post(f"/api/leads/{lead['id']}/calls", token=sato["token"], json={}).json()
    api.advance(30)
    r = api.post(
        f"/api/calls/{call['id']}/disposition",
        token=sato["token"],
        json={"outcome": "not_interested"},
    )
    assert r.status_code == 200, r.text
    shown = _agent(_floor(api, c["id"]), sato["id"])
    assert (shown["activity"], shown["activity_since"]) == ("wrapup", "2026-12-01T10:00:30+09:00")
    assert shown["wrapup_until"] == "2026-12-01T10:01:30+09:00"
    assert shown["lead"] is None and shown["call"] is None
    api.advance(60)
    shown = _agent(_floor(api, c["id"]), sato["id"])
    assert (shown["activity"], shown["activity_since"]) == (
        "available",
        "2026-12-01T10:01:30+09:00",
    )


def test_connected_follows_the_agents_own_stream(api: Api) -> None:
    from dialer.agents import presence

    c, sato = _set_up(api)
    runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    assert _agent(_floor(api, c["id"]), sato["id"])["connected"] is None  # never opened
    connection = presence.connected(runtime.db, agent_id=sato["id"])
    assert _agent(_floor(api, c["id"]), sato["id"])["connected"] is True
    presence.disconnected(
        runtime.db, agent_id=sato["id"], connection=connection, now_in=runtime.now_in
    )
    assert _agent(_floor(api, c["id"]), sato["id"])["connected"] is False


def test_the_queue_diagnosis_is_recomputed_at_most_every_15_seconds(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dialer.views import floor

    c, _sato = _set_up(api)
    runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    cache = runtime.floor.queues
    ran: list[int] = []
    real = floor.queue_diagnosis

    def counted(session: Any, *, campaign_id: int, now: datetime) -> Any:
        ran.append(campaign_id)
        return real(session, campaign_id=campaign_id, now=now)

    at = [1000.0]
    monkeypatch.setattr(floor, "queue_diagnosis", counted)
    monkeypatch.setattr(floor, "monotonic", lambda: at[0])
    first = cache.fresh(c["id"], wait=10)
    assert first is not None and first.out.callable_now == 3 and ran == [c["id"]]
    api.next(_sato)  # one lead claimed: the diagnosis would change
    at[0] += 14.9
    assert cache.fresh(c["id"], wait=10) is first and ran == [c["id"]]
    at[0] += 0.2
    cache.fresh(c["id"], wait=10)
    deadline = time.monotonic() + 10
    while cache.current(c["id"]) is first:
        assert time.monotonic() < deadline, "no second diagnosis"
        time.sleep(0.02)
    assert ran == [c["id"]] * 2
    assert cache.current(c["id"]).out.callable_now == 2
