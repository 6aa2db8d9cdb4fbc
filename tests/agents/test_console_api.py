"""What the agent console reads and does beyond the dialing API: pause codes and
the state's fields, releasing a claim, hanging up, the filled script, the
service clock, and customers named in alerts and promises."""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers import Api, expect_error

CALLER_ID = "+81312345678"
LEADS = (
    "name,company,phone,current_provider,contract_number,プラン\n"
    "山田太郎,山田クリニック,090-5555-0001,東京電力,,従量電灯B\n"
    "佐藤次郎,,090-5555-0002,,,\n"
)


def _floor(api: Api, **campaign: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    campaign.setdefault("caller_id", CALLER_ID)
    c = api.campaign(**campaign)
    assert api.import_csv(c["id"], LEADS).status_code == 201
    return c, api.agent([c["id"]], name="佐藤")


def _state(api: Api, agent: dict[str, Any], **body: Any) -> Any:
    return api.put(f"/api/agents/{agent['id']}/state", token=agent["token"], json=body)


def _answered(api: Api, agent: dict[str, Any], lead: dict[str, Any]) -> dict[str, Any]:
    phone = lead["phones"][0]["number"]
    api.post("/api/admin/sim/outcomes", json={"phone": phone, "outcomes": ["answered"]})
    r = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _events(api: Api, agent_id: int) -> list[dict[str, Any]]:
    from dialer.agents import events

    runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    campaigns = api.get(f"/api/agents/{agent_id}").json()["campaign_ids"]
    with runtime.db.read() as session:
        found = events.events_since(session, agent_id=agent_id, campaign_ids=campaigns, after_id=0)
    return [json.loads(e.data) for e in found]


def _history(api: Api, lead_id: int) -> list[dict[str, Any]]:
    return list(api.get(f"/api/leads/{lead_id}").json()["events"])


# --- campaign fields ---


def test_campaign_pause_codes_and_wrapup_default_and_change(api: Api) -> None:
    c = api.campaign()
    assert c["pause_codes"] == ["休憩", "研修", "打ち合わせ"] and c["wrapup_seconds"] == 0
    r = api.patch(
        f"/api/campaigns/{c['id']}", json={"pause_codes": [" 昼食 ", "研修"], "wrapup_seconds": 30}
    )
    assert r.status_code == 200, r.text
    assert r.json()["pause_codes"] == ["昼食", "研修"] and r.json()["wrapup_seconds"] == 30
    # Left out: kept.
    r = api.patch(f"/api/campaigns/{c['id']}", json={"cps": 2})
    assert r.json()["pause_codes"] == ["昼食", "研修"] and r.json()["wrapup_seconds"] == 30
    created = api.campaign(pause_codes=["会議"], wrapup_seconds=3600)
    assert created["pause_codes"] == ["会議"] and created["wrapup_seconds"] == 3600


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pause_codes", []),
        ("pause_codes", ["x"] * 0 + [f"c{i}" for i in range(21)]),
        ("pause_codes", [""]),
        ("pause_codes", ["   "]),
        ("pause_codes", ["あ" * 41]),
        ("pause_codes", ["休憩", " 休憩"]),
        ("pause_codes", [1]),
        ("pause_codes", "休憩"),
        ("pause_codes", None),
        ("wrapup_seconds", -1),
        ("wrapup_seconds", 3601),
        ("wrapup_seconds", None),
    ],
)
def test_campaign_console_fields_are_bounded(api: Api, field: str, value: Any) -> None:
    c = api.campaign()
    r = api.patch(f"/api/campaigns/{c['id']}", json={field: value})
    if value is None:
        # null on PATCH leaves the field as it is, like the other settings.
        assert r.status_code == 200 and r.json()[field] == c[field]
        return
    body = expect_error(r, 422)
    assert body["field"].startswith(field), body
    assert api.get(f"/api/campaigns/{c['id']}").json()[field] == c[field]


def test_the_edges_of_the_ranges_are_accepted(api: Api) -> None:
    codes = ["あ" * 40] + [f"c{i}" for i in range(19)]
    c = api.campaign(pause_codes=codes, wrapup_seconds=0)
    assert c["pause_codes"] == codes


# --- state with a pause code, and the account's fields ---


def test_pause_with_a_code_of_the_agents_campaigns(api: Api) -> None:
    c, agent = _floor(api, pause_codes=["休憩", "研修"])
    other = api.campaign(pause_codes=["会議"])
    fresh = api.get(f"/api/agents/{agent['id']}", token=agent["token"]).json()
    assert fresh["pause_code"] is None and fresh["wrapup_until"] is None
    assert fresh["state_reason"] is None and fresh["state_changed_at"] == fresh["created_at"]
    api.advance(60)
    r = _state(api, agent, state="paused", pause_code="研修")
    assert r.status_code == 200, r.text
    paused = r.json()
    assert paused["state"] == "paused" and paused["pause_code"] == "研修"
    assert paused["state_changed_at"] > fresh["state_changed_at"]
    assert paused["state_changed_at"].endswith("+00:00")
    # Another code: a new time in state.
    api.advance(60)
    again = _state(api, agent, state="paused", pause_code="休憩").json()
    assert again["pause_code"] == "休憩" and again["state_changed_at"] > paused["state_changed_at"]
    # The same again: nothing moves.
    api.advance(60)
    same = _state(api, agent, state="paused", pause_code="休憩").json()
    assert same["state_changed_at"] == again["state_changed_at"]
    # Without a code; and back to available clears it.
    assert _state(api, agent, state="paused").json()["pause_code"] is None
    back = _state(api, agent, state="available").json()
    assert back["state"] == "available" and back["pause_code"] is None
    # A code of a campaign the agent is not on; with another state; unknown.
    for body in (
        {"state": "paused", "pause_code": "会議"},
        {"state": "paused", "pause_code": "昼寝"},
        {"state": "available", "pause_code": "休憩"},
        {"state": "offline", "pause_code": "休憩"},
        {"state": "paused", "pause_code": "x" * 201},
        {"state": "paused", "pause_code": 5},
    ):
        err = expect_error(_state(api, agent, **body), 422)
        assert err["field"] == "pause_code", err
    assert api.get(f"/api/agents/{agent['id']}").json()["state"] == "available"
    # Joining the other campaign makes its codes good; managers may set it too.
    api.patch(f"/api/agents/{agent['id']}", json={"campaign_ids": [c["id"], other["id"]]})
    r = api.put(f"/api/agents/{agent['id']}/state", json={"state": "paused", "pause_code": "会議"})
    assert r.status_code == 200 and r.json()["pause_code"] == "会議"
    listed = api.get("/api/agents").json()["items"]
    assert [a["pause_code"] for a in listed if a["id"] == agent["id"]] == ["会議"]


def test_an_agent_on_no_campaign_has_no_pause_codes(api: Api) -> None:
    agent = api.agent([], name="Nobody")
    err = expect_error(_state(api, agent, state="paused", pause_code="休憩"), 422)
    assert err["code"] == "unknown_pause_code" and err["field"] == "pause_code"
    assert _state(api, agent, state="paused").status_code == 200


# --- releasing a claim ---


def test_releasing_the_claim_puts_the_lead_back(api: Api) -> None:
    c, agent = _floor(api)
    lead = api.next(agent).json()["lead"]
    assert lead["status"] == "claimed"
    other = api.agent([c["id"]], name="Suzuki")
    expect_error(api.delete(f"/api/agents/{agent['id']}/claim", token=other["token"]), 403)
    r = api.delete(f"/api/agents/{agent['id']}/claim", token=agent["token"])
    assert r.status_code == 204 and r.content == b""
    after = api.get(f"/api/leads/{lead['id']}").json()
    assert after["status"] == "new" and after["attempts"] == 0
    released = [e for e in after["events"] if e["kind"] == "claim_released"]
    assert len(released) == 1 and released[0]["actor"] == f"agent:{agent['id']}"
    assert released[0]["detail"]["why"] == "released_by_agent"
    assert api.get(f"/api/agents/{agent['id']}/queue").json()["claimed_lead_id"] is None
    # No claim: nothing changes.
    before = len(_history(api, lead["id"]))
    assert api.delete(f"/api/agents/{agent['id']}/claim", token=agent["token"]).status_code == 204
    assert len(_history(api, lead["id"])) == before
    # A manager releases an agent's claim; the actor is the manager.
    held = api.next(agent).json()["lead"]
    assert api.delete(f"/api/agents/{agent['id']}/claim").status_code == 204
    kinds = [(e["kind"], e["actor"]) for e in _history(api, held["id"])]
    assert kinds[-2] == ("claim_released", "manager:1")
    expect_error(api.delete("/api/agents/999999/claim"), 404)


def test_a_claim_with_a_live_call_is_kept(api: Api) -> None:
    _c, agent = _floor(api)
    lead = api.next(agent).json()["lead"]
    call = _answered(api, agent, lead)
    expect_error(
        api.delete(f"/api/agents/{agent['id']}/claim", token=agent["token"]), 409, "call_live"
    )
    assert api.get(f"/api/leads/{lead['id']}").json()["status"] == "claimed"
    r = api.post(f"/api/calls/{call['id']}/hangup", token=agent["token"])
    assert r.status_code == 200, r.text
    # Ended, not dispositioned: the claim may go now (the lead is not retried).
    assert api.delete(f"/api/agents/{agent['id']}/claim", token=agent["token"]).status_code == 204


def test_a_promise_lead_released_goes_back_to_scheduled(api: Api) -> None:
    _c, agent = _floor(api)
    lead = api.next(agent).json()["lead"]
    call = _answered(api, agent, lead)
    r = api.post(
        f"/api/calls/{call['id']}/disposition",
        token=agent["token"],
        json={"outcome": "callback", "promise": {"in_minutes": 10}},
    )
    assert r.status_code == 200, r.text
    api.advance(600)
    got = api.next(agent).json()
    assert got["reason"] == "promise" and got["lead"]["id"] == lead["id"]
    assert api.delete(f"/api/agents/{agent['id']}/claim", token=agent["token"]).status_code == 204
    after = api.get(f"/api/leads/{lead['id']}").json()
    assert after["status"] == "scheduled"
    assert [p["status"] for p in after["promises"]] == ["scheduled"]
    # Still the agent's own promise, first in its queue.
    assert api.next(agent).json()["lead"]["id"] == lead["id"]


# --- hanging up ---


def test_hanging_up_an_answered_call(api: Api) -> None:
    c, agent = _floor(api)
    lead = api.next(agent).json()["lead"]
    call = _answered(api, agent, lead)
    other = api.agent([c["id"]], name="Suzuki")
    expect_error(api.post(f"/api/calls/{call['id']}/hangup", token=other["token"]), 403)
    api.advance(42)
    r = api.post(f"/api/calls/{call['id']}/hangup", token=agent["token"])
    assert r.status_code == 200, r.text
    ended = r.json()
    assert ended["status"] == "completed" and ended["disposition"] is None
    assert ended["duration"] == 42
    kinds = [e["kind"] for e in _history(api, lead["id"])]
    assert kinds.index("hangup_requested") < len(kinds) - 1
    assert kinds[-1] == "call_status"
    statuses = [e["status"] for e in _events(api, agent["id"]) if e["kind"] == "call_status"]
    assert statuses[-1] == "completed"
    # Not live any more; the disposition is still the agent's.
    expect_error(
        api.post(f"/api/calls/{call['id']}/hangup", token=agent["token"]), 409, "call_not_live"
    )
    r = api.post(
        f"/api/calls/{call['id']}/disposition",
        token=agent["token"],
        json={"outcome": "not_interested"},
    )
    assert r.status_code == 200, r.text
    expect_error(api.post("/api/calls/999999/hangup"), 404)


def test_hanging_up_a_ringing_call_ends_it_unanswered(api: Api) -> None:
    _c, agent = _floor(api)
    lead = api.next(agent).json()["lead"]
    phone = lead["phones"][0]["number"]
    api.post("/api/admin/sim/outcomes", json={"phone": phone, "outcomes": ["no-answer"]})
    call = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={}).json()
    assert call["status"] == "ringing"
    # A manager may hang up too.
    r = api.post(f"/api/calls/{call['id']}/hangup")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "canceled" and r.json()["disposition"] == "no_answer"
    # The simulated outcome due later does not come back.
    api.advance(60)
    assert api.get(f"/api/calls/{call['id']}").json()["status"] == "canceled"
    after = api.get(f"/api/leads/{lead['id']}").json()
    assert after["status"] == "scheduled" and after["attempts"] == 1


# --- the script ---


SCRIPT = (
    "{seller_name}の{agent_name}です。{company}の{name}様でしょうか。"
    "現在{current_provider}とご契約の件、{call_reason}。{extra.プラン} {contract_number} {foo}"
)


def test_the_script_filled_for_the_lead(api: Api) -> None:
    c, agent = _floor(api, script=SCRIPT, seller_name="○○でんき", call_reason="電気料金のご案内")
    lead = api.next(agent).json()["lead"]
    assert lead["name"] == "山田太郎"
    r = api.get(f"/api/leads/{lead['id']}/script", token=agent["token"])
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["lead_id"] == lead["id"] and got["campaign_id"] == c["id"]
    assert got["text"] == (
        "○○でんきの佐藤です。山田クリニックの山田太郎様でしょうか。"
        "現在東京電力とご契約の件、電気料金のご案内。従量電灯B {contract_number} {foo}"
    )
    assert got["unfilled"] == ["{contract_number}", "{foo}"]
    assert got["opening"] == [
        {"key": "seller", "value": "○○でんき"},
        {"key": "agent_name", "value": "佐藤"},
        {"key": "purpose", "value": "電気料金のご案内"},
    ]
    # A manager reads it with the holder's name.
    assert api.get(f"/api/leads/{lead['id']}/script").json()["text"] == got["text"]
    # Another agent may not; nor anyone once the claim is gone.
    other = api.agent([c["id"]], name="Suzuki")
    expect_error(api.get(f"/api/leads/{lead['id']}/script", token=other["token"]), 403)
    expect_error(api.get("/api/leads/999999/script"), 404)


def test_the_script_without_seller_or_reason(api: Api) -> None:
    c, agent = _floor(api, script="{seller_name} {call_reason} {phone}", name="関東切替")
    lead = api.next(agent).json()["lead"]
    got = api.get(f"/api/leads/{lead['id']}/script", token=agent["token"]).json()
    assert got["text"] == f"関東切替 {{call_reason}} {lead['phones'][0]['number']}"
    assert got["unfilled"] == ["{call_reason}"]
    assert got["opening"][0] == {"key": "seller", "value": "関東切替"}
    assert got["opening"][2] == {"key": "purpose", "value": None}
    assert c["script"] == "{seller_name} {call_reason} {phone}"


# --- the clock ---


def test_the_service_clock_for_anyone_signed_in(api: Api) -> None:
    _c, agent = _floor(api)
    r = api.get("/api/clock", token=agent["token"])
    assert r.status_code == 200, r.text
    assert r.json() == {"now": "2026-12-01T01:00:00+00:00", "mode": "simulated"}
    api.advance(90)
    assert api.get("/api/clock").json()["now"] == "2026-12-01T01:01:30+00:00"
    expect_error(api.client.get("/api/clock"), 401)


# --- customers named ---


def test_promises_and_their_alerts_name_the_customer(api: Api) -> None:
    _c, agent = _floor(api)
    lead = api.next(agent).json()["lead"]
    call = _answered(api, agent, lead)
    api.post(
        f"/api/calls/{call['id']}/disposition",
        token=agent["token"],
        json={"outcome": "callback", "promise": {"in_minutes": 10}},
    )
    promise = api.get(f"/api/agents/{agent['id']}/promises").json()["items"][0]
    assert promise["lead_name"] == "山田太郎" and promise["company"] == "山田クリニック"
    one = api.get(f"/api/promises/{promise['id']}").json()
    assert (one["lead_name"], one["company"]) == ("山田太郎", "山田クリニック")
    detail = api.get(f"/api/leads/{lead['id']}").json()["promises"][0]
    assert detail["lead_name"] == "山田太郎"
    assert api.get("/api/promises").json()["items"][0]["company"] == "山田クリニック"
    api.advance(600)
    due = [e for e in _events(api, agent["id"]) if e["kind"] == "promise_due"]
    assert len(due) == 1
    assert due[0]["lead_name"] == "山田太郎" and due[0]["company"] == "山田クリニック"
    api.advance(600)  # the window ends unkept
    missed = [e for e in _events(api, agent["id"]) if e["kind"] == "promise_missed"]
    assert len(missed) == 1 and missed[0]["lead_name"] == "山田太郎"
    reassigned = [e for e in _events(api, agent["id"]) if e.get("reassigned")]
    assert reassigned and reassigned[0]["company"] == "山田クリニック"


def test_incoming_calls_name_the_customer(api: Api) -> None:
    _c, agent = _floor(api)
    r = api.post("/api/admin/sim/incoming", json={"from": "090-5555-0002", "to": CALLER_ID})
    assert r.status_code == 201, r.text
    pop = [e for e in _events(api, agent["id"]) if e["kind"] == "incoming_call"]
    assert len(pop) == 1 and pop[0]["lead_name"] == "佐藤次郎" and pop[0]["company"] is None
    # A caller matching no lead: named by nobody (the agent free again first).
    assert api.delete(f"/api/agents/{agent['id']}/claim", token=agent["token"]).status_code == 204
    r = api.post("/api/admin/sim/incoming", json={"from": "090-9999-0000", "to": CALLER_ID})
    assert r.status_code == 201, r.text
    pops = [e for e in _events(api, agent["id"]) if e["kind"] == "incoming_call"]
    assert pops[-1]["lead_id"] is None and pops[-1]["lead_name"] is None
    # Nobody free: the missed call is booked, and named.
    _state(api, agent, state="paused")
    r = api.post("/api/admin/sim/incoming", json={"from": "090-5555-0001", "to": CALLER_ID})
    assert r.status_code == 201, r.text
    missed = [e for e in _events(api, agent["id"]) if e["kind"] == "incoming_call_missed"]
    assert (
        missed and missed[0]["lead_name"] == "山田太郎" and missed[0]["company"] == "山田クリニック"
    )


# --- wrap-up ---


def _dispose(api: Api, agent: dict[str, Any], call: dict[str, Any], **body: Any) -> Any:
    body.setdefault("outcome", "not_interested")
    r = api.post(f"/api/calls/{call['id']}/disposition", token=agent["token"], json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_wrapup_holds_the_next_lead_until_it_ends(api: Api) -> None:
    _c, agent = _floor(api, wrapup_seconds=30)
    lead = api.next(agent).json()["lead"]
    _dispose(api, agent, _answered(api, agent, lead))
    me = api.get(f"/api/agents/{agent['id']}", token=agent["token"]).json()
    assert me["wrapup_until"] == "2026-12-01T01:00:30+00:00" and me["state"] == "available"
    err = expect_error(api.next(agent), 409, "in_wrapup")
    assert err["wrapup_until"] == "2026-12-01T01:00:30+00:00"
    api.advance(29)
    expect_error(api.next(agent), 409, "in_wrapup")
    api.advance(1)
    assert api.next(agent).status_code == 200


def test_available_ends_the_wrapup_at_once(api: Api) -> None:
    _c, agent = _floor(api, wrapup_seconds=600)
    lead = api.next(agent).json()["lead"]
    _dispose(api, agent, _answered(api, agent, lead))
    expect_error(api.next(agent), 409, "in_wrapup")
    # Paused meanwhile: the wrap-up stays (paused is refused as not available).
    assert _state(api, agent, state="paused").json()["wrapup_until"] is not None
    expect_error(api.next(agent), 409, "agent_not_available")
    back = _state(api, agent, state="available").json()
    assert back["wrapup_until"] is None
    assert api.next(agent).status_code == 200


def test_no_wrapup_without_wrapup_seconds_or_for_a_managers_disposition(api: Api) -> None:
    _c, agent = _floor(api)
    lead = api.next(agent).json()["lead"]
    _dispose(api, agent, _answered(api, agent, lead))
    assert api.get(f"/api/agents/{agent['id']}").json()["wrapup_until"] is None
    assert api.next(agent).status_code == 200
    c2, sato = _floor(api, wrapup_seconds=60, name="Wrap")
    lead = api.next(sato).json()["lead"]
    call = _answered(api, sato, lead)
    r = api.post(f"/api/calls/{call['id']}/disposition", json={"outcome": "not_interested"})
    assert r.status_code == 200, r.text
    assert api.get(f"/api/agents/{sato['id']}").json()["wrapup_until"] is None
    assert c2["wrapup_seconds"] == 60


def test_an_unanswered_call_ended_by_the_system_starts_no_wrapup(api: Api) -> None:
    _c, agent = _floor(api, wrapup_seconds=60)
    lead = api.next(agent).json()["lead"]
    phone = lead["phones"][0]["number"]
    api.post("/api/admin/sim/outcomes", json={"phone": phone, "outcomes": ["busy"]})
    api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={})
    api.advance(30)
    assert api.get(f"/api/agents/{agent['id']}").json()["wrapup_until"] is None


def test_progressive_dialing_waits_for_the_wrapup(api: Api) -> None:
    c = api.campaign(dial_mode="progressive", wrapup_seconds=60)
    api.import_csv(c["id"], "name,phone\nA,090-4600-0001\nB,090-4600-0002\n")
    for phone in ("090-4600-0001", "090-4600-0002"):
        api.post("/api/admin/sim/outcomes", json={"phone": phone, "outcomes": ["answered"]})
    agent = api.agent([c["id"]])
    api.advance(1)
    held = api.next(agent).json()
    call = api.get(f"/api/leads/{held['lead']['id']}").json()["calls"][0]
    assert call["status"] == "in-progress"
    _dispose(api, agent, call)

    def calls() -> int:
        leads = api.get(f"/api/campaigns/{c['id']}/leads").json()["items"]
        return sum(len(api.get(f"/api/leads/{x['id']}").json()["calls"]) for x in leads)

    api.advance(59)
    assert calls() == 1, "no call while the agent wraps up"
    api.advance(1)
    assert calls() == 2


def test_a_customer_ringing_back_during_the_wrapup_is_handed_by_next(api: Api) -> None:
    _c, agent = _floor(api, wrapup_seconds=600)
    lead = api.next(agent).json()["lead"]
    _dispose(api, agent, _answered(api, agent, lead), outcome="callback",
             promise={"in_minutes": 30})  # fmt: skip
    expect_error(api.next(agent), 409, "in_wrapup")
    r = api.post("/api/admin/sim/incoming", json={"from": "090-5555-0001", "to": CALLER_ID})
    assert r.status_code == 201 and r.json()["claimed"] is True, r.text
    got = api.next(agent)
    assert got.status_code == 200 and got.json()["lead"]["id"] == lead["id"]
