"""POST /api/agents/{id}/next: order, claims, and every rule that withholds a lead."""

from __future__ import annotations

from typing import Any

from helpers import Api

THREE = "name,phone,priority\nA,090-1111-0001,0\nB,090-1111-0002,9\nC,090-1111-0003,0\n"


def _setup(
    api: Api, csv_text: str = THREE, **campaign: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    c = api.campaign(**campaign)
    r = api.import_csv(c["id"], csv_text)
    assert r.status_code == 201, r.text
    return c, api.agent([c["id"]])


def _fail_call(api: Api, agent: dict[str, Any], lead_id: int, phone: str) -> None:
    api.post("/api/admin/sim/outcomes", json={"phone": phone, "outcomes": ["busy"]})
    r = api.post(f"/api/leads/{lead_id}/calls", token=agent["token"], json={})
    assert r.status_code == 201, r.text
    api.advance(25)


def test_new_leads_by_priority_then_import_order(api: Api) -> None:
    campaign, agent = _setup(api)
    second = api.agent([campaign["id"]], name="Suzuki")
    third = api.agent([campaign["id"]], name="Tanaka")
    names = [api.next(a).json()["lead"]["name"] for a in (agent, second, third)]
    assert names == ["B", "A", "C"]
    assert api.next(api.agent([campaign["id"]], name="Ito")).status_code == 204


def test_claim_is_idempotent_and_exclusive(api: Api) -> None:
    campaign, agent = _setup(api)
    first = api.next(agent).json()
    again = api.next(agent).json()
    assert again["lead"]["id"] == first["lead"]["id"]
    assert again["claim_expires_at"] == first["claim_expires_at"]
    other = api.agent([campaign["id"]], name="Suzuki")
    assert api.next(other).json()["lead"]["id"] != first["lead"]["id"]
    lead = api.get(f"/api/leads/{first['lead']['id']}").json()
    assert lead["status"] == "claimed"


def test_due_retry_comes_before_new_leads(api: Api) -> None:
    _campaign, agent = _setup(api)
    got = api.next(agent).json()
    _fail_call(api, agent, got["lead"]["id"], "090-1111-0002")
    # busy ladder: 600 s. Meanwhile new leads are served.
    assert api.next(agent).json()["reason"] == "new"
    held = api.next(agent).json()["lead"]["id"]
    api.post(f"/api/leads/{held}/calls", token=agent["token"], json={})
    api.advance(600)
    retry = api.next(agent).json()
    assert retry["reason"] == "retry"
    assert retry["lead"]["name"] == "B"


def test_expired_claim_returns_lead_without_an_attempt(api: Api) -> None:
    _campaign, agent = _setup(api)
    lead_id = api.next(agent).json()["lead"]["id"]
    api.advance(15 * 60)
    lead = api.get(f"/api/leads/{lead_id}").json()
    assert lead["status"] == "new"
    assert lead["attempts"] == 0
    assert "claim_expired" in [e["kind"] for e in lead["events"]]
    # The agent gets a lead again, and the expired one is back in the pool (first, by priority).
    assert api.next(agent).json()["lead"]["id"] == lead_id


def test_nothing_outside_calling_hours_or_on_holidays(api: Api) -> None:
    _campaign, agent = _setup(api)
    api.post("/api/admin/clock", json={"to": "2026-12-01T20:00:00+09:00"})
    assert api.next(agent).status_code == 204
    api.post("/api/admin/clock", json={"to": "2026-12-02T09:00:00+09:00"})
    assert api.next(agent).status_code == 200


def test_holiday_skipped_only_when_the_campaign_says_so(api: Api) -> None:
    # 2027-01-01 is a Friday and a public holiday in Japan.
    _c, agent = _setup(api)
    _c2, agent2 = _setup(api, THREE.replace("090-1111", "090-2222"), skip_holidays=False)
    api.post("/api/admin/clock", json={"to": "2027-01-01T11:00:00+09:00"})
    assert api.next(agent).status_code == 204
    assert api.next(agent2).status_code == 200


def test_lead_local_time_zone_decides(api: Api) -> None:
    text = (
        "name,phone,timezone\n"
        "Tokyo,090-3333-0001,Asia/Tokyo\n"
        "Honolulu,090-3333-0002,Pacific/Honolulu\n"
    )
    campaign, agent = _setup(api, text)
    # 10:00 Tokyo is 15:00 the day before in Honolulu: both open, import order.
    assert api.next(agent).json()["lead"]["name"] == "Tokyo"
    # 19:00 Tokyo = 00:00 Honolulu: only the Tokyo lead (its claim long expired) is open.
    api.post("/api/admin/clock", json={"to": "2026-12-01T19:00:00+09:00"})
    other = api.agent([campaign["id"]], name="Suzuki")
    assert api.next(other).json()["lead"]["name"] == "Tokyo"
    assert api.next(api.agent([campaign["id"]], name="Ito")).status_code == 204


def test_paused_campaign_and_unassigned_campaign_give_nothing(api: Api) -> None:
    campaign, agent = _setup(api)
    api.patch(f"/api/campaigns/{campaign['id']}", json={"status": "paused"})
    assert api.next(agent).status_code == 204
    api.patch(f"/api/campaigns/{campaign['id']}", json={"status": "active"})
    outsider = api.agent([], name="Outsider")
    assert api.next(outsider).status_code == 204
    assert api.next(agent).status_code == 200


def test_agent_state_and_ownership(api: Api) -> None:
    campaign, agent = _setup(api)
    other = api.agent([campaign["id"]], name="Suzuki")
    r = api.post(f"/api/agents/{agent['id']}/next", token=other["token"])
    assert r.status_code == 403
    r = api.put(f"/api/agents/{agent['id']}/state", token=agent["token"], json={"state": "paused"})
    assert r.status_code == 200 and r.json()["state"] == "paused"
    r = api.next(agent)
    assert r.status_code == 409 and r.json()["code"] == "agent_not_available"
    r = api.put(f"/api/agents/{agent['id']}/state", token=agent["token"], json={"state": "lunch"})
    assert r.status_code == 422
    assert (
        api.put(f"/api/agents/{agent['id']}/state", json={"state": "available"}).status_code == 200
    )
    assert api.next(agent).status_code == 200
    assert api.post("/api/agents/999/next").status_code == 404


def test_agents_list_and_create_validation(api: Api) -> None:
    campaign, agent = _setup(api)
    listing = api.get("/api/agents").json()["items"]
    assert [a["name"] for a in listing] == ["Sato"]
    assert "token" not in listing[0]
    assert listing[0]["campaign_ids"] == [campaign["id"]]
    r = api.post("/api/agents", json={"name": "X", "campaign_ids": [999]})
    assert r.status_code == 422 and "campaign_ids[0]" in r.json()["detail"]
    r = api.post("/api/agents", json={"name": "X", "endpoint": "not a phone"})
    assert r.status_code == 422 and "endpoint" in r.json()["detail"]
    assert len(api.get("/api/agents").json()["items"]) == 1
    assert api.get("/api/agents", token=agent["token"]).status_code == 403


def test_exhausted_lead_never_comes_back(api: Api) -> None:
    _campaign, agent = _setup(
        api,
        "name,phone\nOnly,090-4444-0001\n",
        retry_policy={"busy": [60], "max_attempts": 2, "max_attempts_per_day": 5},
    )
    for _ in range(2):
        got = api.next(agent).json()
        _fail_call(api, agent, got["lead"]["id"], "090-4444-0001")
        api.advance(60)
    lead = api.get(f"/api/leads/{got['lead']['id']}").json()
    assert lead["status"] == "exhausted" and lead["attempts"] == 2
    assert api.next(agent).status_code == 204
    elig = api.get(f"/api/leads/{lead['id']}/eligibility").json()
    assert elig["callable"] is False
    assert [b["rule"] for b in elig["blocked_by"]] == ["terminal_status", "max_attempts"]


def test_daily_limit_moves_the_retry_to_the_next_local_day(api: Api) -> None:
    _c, agent = _setup(
        api,
        "name,phone\nOnly,090-4444-0002\n",
        retry_policy={"busy": [60], "max_attempts": 9, "max_attempts_per_day": 2},
    )
    for _ in range(2):
        got = api.next(agent).json()
        _fail_call(api, agent, got["lead"]["id"], "090-4444-0002")
        api.advance(60)
    lead = api.get(f"/api/leads/{got['lead']['id']}").json()
    assert lead["status"] == "scheduled"
    assert lead["next_attempt_at"] == "2026-12-02T09:00:00+09:00"  # Wed 09:00 Tokyo
    elig = api.get(f"/api/leads/{lead['id']}/eligibility").json()
    assert [b["rule"] for b in elig["blocked_by"]] == ["daily_limit"]
    assert elig["next_callable_at"] == "2026-12-02T09:00:00+09:00"
    assert api.next(agent).status_code == 204


def test_eligibility_and_queue_explain_an_empty_floor(api: Api) -> None:
    campaign, agent = _setup(api)
    held = api.next(agent).json()["lead"]["id"]
    queue = api.get(f"/api/campaigns/{campaign['id']}/queue").json()
    assert queue["callable_now"] == 2 and queue["blocked"] == {"claimed": 1}
    elig = api.get(f"/api/leads/{held}/eligibility").json()
    assert elig["blocked_by"][0]["rule"] == "claimed"
    # By 21:00 the claim has expired and the floor is closed.
    api.post("/api/admin/clock", json={"to": "2026-12-01T21:00:00+09:00"})
    queue = api.get(f"/api/campaigns/{campaign['id']}/queue").json()
    assert queue["callable_now"] == 0 and queue["blocked"] == {"calling_hours": 3}
    free = next(
        lead["id"]
        for lead in api.get(f"/api/campaigns/{campaign['id']}/leads").json()["items"]
        if lead["id"] != held
    )
    elig = api.get(f"/api/leads/{free}/eligibility").json()
    assert elig == {
        "lead_id": free,
        "callable": False,
        "next_callable_at": "2026-12-02T09:00:00+09:00",
        "blocked_by": [
            {
                "rule": "calling_hours",
                "until": "2026-12-02T09:00:00+09:00",
                "detail": "outside local calling hours; they open at 2026-12-02 09:00 Asia/Tokyo",
            }
        ],
    }
    api.patch(f"/api/campaigns/{campaign['id']}", json={"status": "paused"})
    queue = api.get(f"/api/campaigns/{campaign['id']}/queue").json()
    assert queue["blocked"] == {"campaign_paused": 3}
    assert api.get("/api/leads/999/eligibility").status_code == 404
    assert api.get(f"/api/leads/{free}/eligibility", token=agent["token"]).status_code == 403
