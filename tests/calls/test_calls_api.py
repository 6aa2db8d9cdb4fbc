"""Calls and dispositions: dial-time rules, unanswered calls, every outcome."""

from __future__ import annotations

from typing import Any

from helpers import Api

LEADS = "name,phone,phone2\nYamada,090-5555-0001,080-5555-0001\nSato,090-5555-0002,\n"


def _claimed(api: Api, **campaign: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    c = api.campaign(**campaign)
    assert api.import_csv(c["id"], LEADS).status_code == 201
    agent = api.agent([c["id"]])
    got = api.next(agent).json()
    return c, agent, got["lead"]


def _answered_call(api: Api, agent: dict[str, Any], lead: dict[str, Any]) -> dict[str, Any]:
    api.post(
        "/api/admin/sim/outcomes",
        json={"phone": lead["phones"][0]["number"], "outcomes": ["answered"]},
    )
    r = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "in-progress"
    return dict(r.json())


def _dispose(api: Api, agent: dict[str, Any], call: dict[str, Any], **body: Any) -> Any:
    return api.post(f"/api/calls/{call['id']}/disposition", token=agent["token"], json=body)


def test_dial_needs_the_claim_and_one_live_call(api: Api) -> None:
    c, agent, lead = _claimed(api)
    other = api.agent([c["id"]], name="Suzuki")
    r = api.post(f"/api/leads/{lead['id']}/calls", token=other["token"], json={})
    assert r.status_code == 409 and r.json()["code"] == "not_claimed"
    first = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={})
    assert first.status_code == 201
    assert first.json()["provider_sid"].startswith("SIM")
    r = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={})
    assert r.status_code == 409 and r.json()["code"] == "call_live"
    assert len(api.get(f"/api/leads/{lead['id']}").json()["calls"]) == 1
    assert api.post("/api/leads/999/calls", token=agent["token"], json={}).status_code == 404
    assert api.get(f"/api/calls/{first.json()['id']}", token=other["token"]).status_code == 403
    assert api.get(f"/api/calls/{first.json()['id']}", token=agent["token"]).status_code == 200


def test_dnc_and_calling_hours_are_checked_again_at_dial_time(api: Api) -> None:
    _c, agent, lead = _claimed(api)
    for phone in (p["number"] for p in lead["phones"]):
        api.post("/api/dnc", json={"phone": phone, "reason": "asked on the web form"})
    r = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={})
    assert r.status_code == 409 and r.json()["code"] == "dnc"
    # Still held: the claim is not the DNC list's to release. Another lead, other rule:
    api.post("/api/admin/clock", json={"to": "2026-12-01T19:55:00+09:00"})
    got = api.next(agent).json()["lead"]
    api.post("/api/admin/clock", json={"to": "2026-12-01T20:00:00+09:00"})
    r = api.post(f"/api/leads/{got['id']}/calls", token=agent["token"], json={})
    assert r.status_code == 409 and r.json()["code"] == "outside_calling_hours"
    assert r.json()["next_opening"] == "2026-12-02T09:00:00+09:00"
    assert api.get(f"/api/leads/{got['id']}").json()["calls"] == []


def test_choosing_a_phone(api: Api) -> None:
    _c, agent, lead = _claimed(api)
    r = api.post(
        f"/api/leads/{lead['id']}/calls", token=agent["token"], json={"phone": "090-0000-0000"}
    )
    assert r.status_code == 422 and r.json()["field"] == "phone"
    api.post("/api/dnc", json={"phone": "080-5555-0001"})
    r = api.post(
        f"/api/leads/{lead['id']}/calls", token=agent["token"], json={"phone": "080-5555-0001"}
    )
    assert r.status_code == 409 and r.json()["code"] == "dnc"
    r = api.post(
        f"/api/leads/{lead['id']}/calls", token=agent["token"], json={"phone": "090 5555 0001"}
    )
    assert r.status_code == 201 and r.json()["to"] == "+819055550001"


def test_unanswered_outcomes_are_dispositioned_by_the_system(api: Api) -> None:
    _c, agent, lead = _claimed(api)
    api.post("/api/admin/sim/outcomes", json={"phone": "090-5555-0001", "outcomes": ["machine"]})
    call = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={}).json()
    api.advance(24)
    assert api.get(f"/api/calls/{call['id']}").json()["status"] == "ringing"
    api.advance(1)
    call = api.get(f"/api/calls/{call['id']}").json()
    assert call["status"] == "completed" and call["answered_by"] == "machine"
    assert call["disposition"] == "machine"
    lead = api.get(f"/api/leads/{lead['id']}").json()
    assert lead["status"] == "scheduled"
    # machine ladder starts at 4 h, counted from the final status at 10:00:25.
    assert lead["next_attempt_at"] == "2026-12-01T14:00:25+09:00"
    assert _dispose(api, agent, call, outcome="converted").status_code == 409


def test_converted(api: Api) -> None:
    _c, agent, lead = _claimed(api, contract_number_pattern=r"^(0[1-9]|10)\d{20}$")
    call = _answered_call(api, agent, lead)
    bad = _dispose(api, agent, call, outcome="converted", contract_number="12345")
    assert bad.status_code == 422 and bad.json()["field"] == "contract_number"
    assert api.get(f"/api/calls/{call['id']}").json()["disposition"] is None
    ok = _dispose(api, agent, call, outcome="converted", contract_number="0312345678901234567890")
    assert ok.status_code == 200
    again = _dispose(api, agent, call, outcome="converted")
    assert again.status_code == 409 and again.json()["code"] == "already_dispositioned"
    detail = api.get(f"/api/leads/{lead['id']}").json()
    assert detail["status"] == "converted"
    assert detail["contract_number"] == "0312345678901234567890"
    assert [(c["channel"], c["agent_id"]) for c in detail["conversions"]] == [
        ("phone", agent["id"])
    ]
    # The claim is released: the agent gets the next lead.
    assert api.next(agent).json()["lead"]["id"] != lead["id"]


def test_refused_puts_every_phone_on_the_dnc_list_for_every_campaign(api: Api) -> None:
    c, agent, lead = _claimed(api)
    other_campaign = api.campaign()
    api.import_csv(other_campaign["id"], "name,phone\nSame household,080-5555-0001\n")
    call = _answered_call(api, agent, lead)
    assert _dispose(api, agent, call, outcome="refused", note="no thanks").status_code == 200
    assert api.get(f"/api/leads/{lead['id']}").json()["status"] == "refused"
    listed = {e["phone"]: e["reason"] for e in api.get("/api/dnc").json()["items"]}
    assert listed == {"+819055550001": "refused", "+818055550001": "refused"}
    other_leads = api.get(f"/api/campaigns/{other_campaign['id']}/leads").json()["items"]
    assert [lead["status"] for lead in other_leads] == ["dnc"]
    again = api.import_csv(c["id"], "name,phone\nAgain,080-5555-0001\n").json()
    assert again["accepted"] == 0


def test_dnc_outcome(api: Api) -> None:
    _c, agent, lead = _claimed(api)
    call = _answered_call(api, agent, lead)
    assert _dispose(api, agent, call, outcome="dnc").status_code == 200
    assert api.get(f"/api/leads/{lead['id']}").json()["status"] == "dnc"
    assert (
        api.get("/api/dnc", params={"phone": "09055550001"}).json()["items"][0]["reason"] == "dnc"
    )


def test_wrong_number_goes_on_with_the_other_phone_or_becomes_invalid(api: Api) -> None:
    _c, agent, lead = _claimed(api)
    call = _answered_call(api, agent, lead)
    assert _dispose(api, agent, call, outcome="wrong_number").status_code == 200
    detail = api.get(f"/api/leads/{lead['id']}").json()
    assert detail["status"] == "scheduled"
    assert detail["phones"] == [
        {"number": "+819055550001", "retired": True},
        {"number": "+818055550001", "retired": False},
    ]
    again = api.next(agent).json()
    assert again["lead"]["id"] == lead["id"] and again["reason"] == "retry"
    call = _answered_call(api, agent, again["lead"] | {"phones": [{"number": "+818055550001"}]})
    assert call["to"] == "+818055550001"
    assert _dispose(api, agent, call, outcome="wrong_number").status_code == 200
    assert api.get(f"/api/leads/{lead['id']}").json()["status"] == "invalid"


def test_not_interested_is_retried_by_policy(api: Api) -> None:
    _c, agent, lead = _claimed(api)
    call = _answered_call(api, agent, lead)
    api.advance(90)
    done = _dispose(api, agent, call, outcome="not_interested", note="maybe next week")
    assert done.status_code == 200 and done.json()["duration"] == 90
    detail = api.get(f"/api/leads/{lead['id']}").json()
    assert detail["status"] == "scheduled"
    # 7 days after 10:01:30 Tokyo (a Tuesday): the next Tuesday, inside calling hours.
    assert detail["next_attempt_at"] == "2026-12-08T10:01:30+09:00"
    kinds = [e["kind"] for e in detail["events"]]
    assert kinds.count("disposition") == 1 and "retry_scheduled" in kinds


def test_will_self_apply_waits_for_an_external_conversion(api: Api) -> None:
    _c, agent, lead = _claimed(api)
    call = _answered_call(api, agent, lead)
    assert _dispose(api, agent, call, outcome="will_self_apply").status_code == 200
    assert api.get(f"/api/leads/{lead['id']}").json()["status"] == "awaiting_external"


def test_agent_may_mark_an_answered_call_no_answer(api: Api) -> None:
    _c, agent, lead = _claimed(api)
    call = _answered_call(api, agent, lead)
    assert _dispose(api, agent, call, outcome="no_answer").status_code == 200
    detail = api.get(f"/api/leads/{lead['id']}").json()
    assert detail["status"] == "scheduled"
    assert detail["next_attempt_at"] == "2026-12-01T10:30:00+09:00"


def test_disposition_validation_and_ownership(api: Api) -> None:
    c, agent, lead = _claimed(api)
    call = _answered_call(api, agent, lead)
    other = api.agent([c["id"]], name="Suzuki")
    assert _dispose(api, other, call, outcome="converted").status_code == 403
    r = _dispose(api, agent, call, outcome="maybe")
    assert r.status_code == 422 and "outcome" in r.json()["detail"]
    assert (
        api.post(
            "/api/calls/999/disposition", token=agent["token"], json={"outcome": "busy"}
        ).status_code
        == 404
    )
    assert api.get(f"/api/calls/{call['id']}").json()["disposition"] is None
