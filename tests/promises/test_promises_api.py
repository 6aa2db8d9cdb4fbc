"""Promises over HTTP on the simulated clock: booked, due for their owner only,
kept, followed up, missed and reassigned, replaced, cancelled, refused."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from helpers import Api, expect_error

ONE = "name,phone\nYamada,090-7777-0001\n"
TWO = "name,phone\nYamada,090-7777-0001\nSato,090-7777-0002\n"


def _floor(api: Api, csv_text: str = ONE, **campaign: Any) -> tuple[dict[str, Any], ...]:
    c = api.campaign(**campaign)
    assert api.import_csv(c["id"], csv_text).status_code == 201
    owner = api.agent([c["id"]], name="Sato")
    other = api.agent([c["id"]], name="Suzuki")
    return c, owner, other


def _talk(api: Api, agent: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The agent takes its next lead and the customer answers."""
    got = api.next(agent)
    assert got.status_code == 200, got.text
    lead = got.json()["lead"]
    api.post(
        "/api/admin/sim/outcomes",
        json={"phone": lead["phones"][0]["number"], "outcomes": ["answered"]},
    )
    r = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={})
    assert r.status_code == 201, r.text
    return lead, r.json()


def _callback(api: Api, agent: dict[str, Any], call: dict[str, Any], **promise: Any) -> Any:
    return api.post(
        f"/api/calls/{call['id']}/disposition",
        token=agent["token"],
        json={"outcome": "callback", "promise": promise},
    )


def _lead(api: Api, lead_id: int) -> dict[str, Any]:
    return dict(api.get(f"/api/leads/{lead_id}").json())


def _promise(api: Api, lead_id: int) -> dict[str, Any]:
    return dict(_lead(api, lead_id)["promises"][-1])


def _dial(api: Api, agent: dict[str, Any], lead_id: int, outcome: str | None = None) -> Any:
    if outcome is not None:
        phone = _lead(api, lead_id)["phones"][0]["number"]
        api.post("/api/admin/sim/outcomes", json={"phone": phone, "outcomes": [outcome]})
    r = api.post(f"/api/leads/{lead_id}/calls", token=agent["token"], json={})
    assert r.status_code == 201, r.text
    return r.json()


def test_ten_minute_promise_is_first_for_its_owner_and_kept(api: Api) -> None:
    _c, owner, other = _floor(api)
    lead, call = _talk(api, owner)
    r = _callback(api, owner, call, in_minutes=10, note="needs the invoice")
    assert r.status_code == 200, r.text
    promise = _promise(api, lead["id"])
    assert promise["status"] == "scheduled"
    assert promise["agent_id"] == owner["id"]
    assert promise["due_at"] == "2026-12-01T10:10:00+09:00"
    assert promise["window_end"] == "2026-12-01T10:15:00+09:00"  # + grace 5 min
    assert promise["call_id"] == call["id"]
    assert _lead(api, lead["id"])["status"] == "scheduled"
    # Until due_at the lead goes to nobody, not even its owner.
    api.advance(9 * 60 + 59)
    assert api.next(owner).status_code == 204
    assert api.next(other).status_code == 204
    api.advance(1)
    # From due_at, only to its owner.
    assert api.next(other).status_code == 204
    got = api.next(owner).json()
    assert got["reason"] == "promise" and got["lead"]["id"] == lead["id"]
    assert got["promise"]["id"] == promise["id"]
    kept_call = _dial(api, owner, lead["id"])
    kept = _promise(api, lead["id"])
    assert kept["status"] == "kept" and kept["kept_call_id"] == kept_call["id"]
    # A promise call is customer-requested: counted as an attempt, not against the caps.
    assert _lead(api, lead["id"])["attempts"] == 2


def test_unanswered_promise_call_is_followed_up_by_the_same_agent(api: Api) -> None:
    _c, owner, other = _floor(api, retry_policy={"no_answer": [1800]})
    lead, call = _talk(api, owner)
    assert _callback(api, owner, call, in_minutes=10).status_code == 200
    api.advance(600)
    api.next(owner)
    _dial(api, owner, lead["id"], "no-answer")
    api.advance(25)  # the call ends unanswered at 10:10:25
    after = _lead(api, lead["id"])
    assert after["status"] == "scheduled"
    assert after["next_attempt_at"] == "2026-12-01T10:20:25+09:00"  # + no_answer_retry[0]
    assert after["reserved_agent_id"] == owner["id"]
    assert _promise(api, lead["id"])["status"] == "kept"
    api.advance(600)
    assert api.next(other).status_code == 204
    got = api.next(owner).json()
    assert got["reason"] == "promise" and got["lead"]["id"] == lead["id"]
    _dial(api, owner, lead["id"], "busy")
    api.advance(25)  # 10:20:50, second follow-up after 1200 s
    assert _lead(api, lead["id"])["next_attempt_at"] == "2026-12-01T10:40:50+09:00"
    api.advance(1200)
    assert api.next(owner).json()["reason"] == "promise"
    _dial(api, owner, lead["id"], "no-answer")
    api.advance(25)  # follow-ups used up: the retry policy decides (no_answer 1800 s)
    after = _lead(api, lead["id"])
    assert after["next_attempt_at"] == "2026-12-01T11:11:15+09:00"
    assert after["reserved_agent_id"] is None and after["promise_id"] is None
    assert _promise(api, lead["id"])["followups"] == 2
    api.advance(1800)
    assert api.next(other).json()["reason"] == "retry"
    # Four promise calls and follow-ups, one unsolicited call.
    lead_now = _lead(api, lead["id"])
    assert lead_now["attempts"] == 4
    eligibility = api.get(f"/api/leads/{lead['id']}/eligibility").json()
    assert not any(b["rule"] == "max_attempts" for b in eligibility["blocked_by"])


def test_taken_slot_is_refused_with_the_next_free_times(api: Api) -> None:
    c, owner, _other = _floor(api, TWO + "Ito,090-7777-0003\n")
    lead, call = _talk(api, owner)
    assert _callback(api, owner, call, at="2026-12-01T10:30:00+09:00").status_code == 200
    # The manager books the second lead into the same agent's calendar.
    leads = api.get(f"/api/campaigns/{c['id']}/leads").json()["items"]
    second = next(x for x in leads if x["id"] != lead["id"])
    r = api.post(
        f"/api/leads/{second['id']}/promises",
        json={"at": "2026-12-01T10:32:00+09:00", "agent_id": owner["id"]},
    )
    body = expect_error(r, 409, "slot_taken")
    assert body["suggestions"] == [
        "2026-12-01T10:35:00+09:00",
        "2026-12-01T10:40:00+09:00",
        "2026-12-01T10:45:00+09:00",
    ]
    assert _lead(api, second["id"])["promises"] == []
    # The same slot for anyone else, or at a suggested time, is fine.
    r = api.post(
        f"/api/leads/{second['id']}/promises",
        json={"at": body["suggestions"][0], "agent_id": owner["id"]},
    )
    assert r.status_code == 201, r.text
    # A refused callback refuses the disposition with it: the call stays open.
    third_lead, third_call = _talk(api, owner)
    r = _callback(api, owner, third_call, at="2026-12-01T10:34:59+09:00")
    body = expect_error(r, 409, "slot_taken")
    assert body["suggestions"][0] == "2026-12-01T10:40:00+09:00"
    assert api.get(f"/api/calls/{third_call['id']}").json()["disposition"] is None
    assert _lead(api, third_lead["id"])["status"] == "claimed"


def test_booking_after_hours_suggests_the_next_opening(api: Api) -> None:
    _c, owner, _other = _floor(api)
    api.post("/api/admin/clock", json={"to": "2026-12-01T19:50:00+09:00"})
    lead, call = _talk(api, owner)
    api.post("/api/admin/clock", json={"to": "2026-12-01T19:52:00+09:00"})
    r = _callback(api, owner, call, in_minutes=15)
    body = expect_error(r, 409, "outside_calling_hours")
    # Wednesday 09:00 in Tokyo, then the following slots.
    assert body["suggestions"] == [
        "2026-12-02T09:00:00+09:00",
        "2026-12-02T09:05:00+09:00",
        "2026-12-02T09:10:00+09:00",
    ]
    assert api.get(f"/api/calls/{call['id']}").json()["disposition"] is None
    r = _callback(api, owner, call, at=body["suggestions"][0])
    assert r.status_code == 200, r.text


def test_holiday_is_outside_calling_hours(api: Api) -> None:
    _c, owner, _other = _floor(api)
    lead, call = _talk(api, owner)
    # 2026-12-23 is a Wednesday, not a holiday; 2027-01-01 is New Year's Day.
    r = _callback(api, owner, call, at="2027-01-01T10:00:00+09:00")
    body = expect_error(r, 409, "outside_calling_hours")
    assert body["suggestions"][0] == "2027-01-02T10:00:00+09:00"  # Saturday 10:00


def test_missed_promise_is_reassigned_to_anyone(api: Api) -> None:
    _c, owner, other = _floor(api)
    lead, call = _talk(api, owner)
    assert _callback(api, owner, call, in_minutes=10).status_code == 200
    api.advance(600)
    api.put(f"/api/agents/{owner['id']}/state", token=owner["token"], json={"state": "offline"})
    api.advance(299)
    assert api.next(other).status_code == 204  # still the owner's until window_end
    api.advance(1)
    promise = _promise(api, lead["id"])
    assert promise["status"] == "missed" and promise["agent_id"] == owner["id"]
    got = api.next(other).json()
    assert got["reason"] == "promise" and got["lead"]["id"] == lead["id"]
    _dial(api, other, lead["id"])
    # Missed is final: a later call does not make it kept.
    assert _promise(api, lead["id"])["status"] == "missed"
    missed = api.get(f"/api/agents/{owner['id']}/promises?status=missed", token=owner["token"])
    assert [p["id"] for p in missed.json()["items"]] == [promise["id"]]


def test_missed_promise_stays_with_its_owner_with_keep(api: Api) -> None:
    _c, owner, other = _floor(api, promise_policy={"on_missed": "keep"})
    lead, call = _talk(api, owner)
    assert _callback(api, owner, call, in_minutes=10).status_code == 200
    api.advance(3600)
    assert _promise(api, lead["id"])["status"] == "missed"
    assert api.next(other).status_code == 204
    assert api.next(owner).json()["lead"]["id"] == lead["id"]


def test_lunch_break_window(api: Api) -> None:
    _c, owner, other = _floor(api)
    lead, call = _talk(api, owner)
    r = _callback(
        api,
        owner,
        call,
        window={"start": "2026-12-01T12:00:00+09:00", "end": "2026-12-01T13:00:00+09:00"},
        made_by="customer",
    )
    assert r.status_code == 200, r.text
    promise = _promise(api, lead["id"])
    assert promise["kind"] == "window" and promise["made_by"] == "customer"
    assert promise["due_at"] == "2026-12-01T12:00:00+09:00"
    assert promise["window_end"] == "2026-12-01T13:00:00+09:00"
    api.post("/api/admin/clock", json={"to": "2026-12-01T12:40:00+09:00"})
    assert api.next(other).status_code == 204
    assert api.next(owner).json()["reason"] == "promise"
    _dial(api, owner, lead["id"])
    assert _promise(api, lead["id"])["status"] == "kept"


def test_one_open_promise_per_lead_replace_and_cancel(api: Api) -> None:
    _c, owner, other = _floor(api)
    lead, call = _talk(api, owner)
    first = api.post(
        f"/api/leads/{lead['id']}/promises", token=owner["token"], json={"in_minutes": 30}
    )
    assert first.status_code == 201, first.text
    # Moving it to its own slot is no conflict with itself.
    second = api.post(
        f"/api/leads/{lead['id']}/promises", token=owner["token"], json={"in_minutes": 31}
    )
    assert second.status_code == 201, second.text
    promises = _lead(api, lead["id"])["promises"]
    assert [p["status"] for p in promises] == ["rescheduled", "scheduled"]
    assert promises[0]["replaced_by_id"] == second.json()["id"]
    # `callback` without a body confirms the promise booked during this call.
    r = api.post(
        f"/api/calls/{call['id']}/disposition", token=owner["token"], json={"outcome": "callback"}
    )
    assert r.status_code == 200, r.text
    promise_id = second.json()["id"]
    expect_error(api.delete(f"/api/promises/{promise_id}", token=other["token"]), 403)
    r = api.delete(f"/api/promises/{promise_id}?reason=customer+called+in", token=owner["token"])
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    expect_error(api.delete(f"/api/promises/{promise_id}"), 409, "promise_closed")
    after = _lead(api, lead["id"])
    assert after["promise_id"] is None and after["status"] == "scheduled"
    assert api.next(other).json()["lead"]["id"] == lead["id"]  # back in the pool
    kinds = [e["kind"] for e in after["events"]]
    assert {"promise_booked", "promise_rescheduled", "promise_cancelled"} <= set(kinds)
    # Moved once, then cancelled: one promise made, neither kept nor missed.
    rows = api.get(f"/api/reports/agents?campaign_id={_c['id']}").json()["agents"]
    mine = next(r for r in rows if r["agent_id"] == owner["id"])
    assert mine["promises"] == {"made": 1, "kept": 0, "missed": 0, "kept_rate": None}


def test_callback_without_a_promise_needs_one(api: Api) -> None:
    _c, owner, _other = _floor(api)
    _lead_, call = _talk(api, owner)
    r = api.post(
        f"/api/calls/{call['id']}/disposition", token=owner["token"], json={"outcome": "callback"}
    )
    expect_error(r, 422, "promise_required")
    r = api.post(
        f"/api/calls/{call['id']}/disposition",
        token=owner["token"],
        json={"outcome": "not_interested", "promise": {"in_minutes": 5}},
    )
    expect_error(r, 422)


def test_dnc_added_after_booking_cancels_the_promise(api: Api) -> None:
    _c, owner, other = _floor(api)
    lead, call = _talk(api, owner)
    assert _callback(api, owner, call, in_minutes=10).status_code == 200
    api.post("/api/dnc", json={"phone": "090-7777-0001", "reason": "asked by letter"})
    promise = _promise(api, lead["id"])
    assert promise["status"] == "cancelled"
    assert "do-not-call" in promise["closed_reason"]
    api.advance(600)
    assert api.next(owner).status_code == 204
    assert _lead(api, lead["id"])["status"] == "dnc"
    # And a DNC phone cannot be booked at all.
    c2, owner2, _ = _floor(api, "name,phone\nIto,090-7777-0009\n")
    lead2, call2 = _talk(api, owner2)
    api.post("/api/dnc", json={"phone": "090-7777-0009"})
    expect_error(_callback(api, owner2, call2, in_minutes=10), 409, "dnc")


def test_booking_rules_and_validation(api: Api) -> None:
    c, owner, other = _floor(api, TWO)
    lead, _call = _talk(api, owner)
    url = f"/api/leads/{lead['id']}/promises"
    expect_error(api.post(url, token=other["token"], json={"in_minutes": 10}), 409, "not_claimed")
    for body, field in (
        ({}, "body"),
        ({"in_minutes": 10, "at": "2026-12-01T12:00:00+09:00"}, "body"),
        ({"at": "2026-12-01T09:00:00+09:00"}, "at"),
        # No offset: a Tokyo wall time, 09:00 (past), not 09:00 UTC (18:00 Tokyo).
        ({"at": "2026-12-01T09:00:00"}, "at"),
        (
            {"window": {"start": "2026-12-01T13:00:00+09:00", "end": "2026-12-01T12:00:00+09:00"}},
            "window.end",
        ),
        ({"in_minutes": -1}, "in_minutes"),
        ({"in_minutes": 10, "owner": "boss"}, "owner"),
        ({"in_minutes": 10, "agent_id": other["id"]}, "agent_id"),
        ({"at": "2030-01-01T12:00:00+09:00"}, "at"),
    ):
        r = api.post(url, token=owner["token"], json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in r.json().get("field", "body"), (body, r.json())
    assert _lead(api, lead["id"])["promises"] == []
    # A manager books for anyone by default; `owner: me` means nothing for a manager.
    expect_error(api.post(url, json={"in_minutes": 10, "owner": "me"}), 422)
    r = api.post(url, json={"in_minutes": 10})
    assert r.status_code == 201 and r.json()["agent_id"] is None and r.json()["owner"] == "anyone"
    expect_error(api.post("/api/leads/999999/promises", json={"in_minutes": 10}), 404)
    stranger = api.agent([api.campaign()["id"]], name="Elsewhere")
    r = api.post(url, json={"in_minutes": 20, "agent_id": stranger["id"]})
    expect_error(r, 422, "agent_not_on_campaign")


def test_promise_for_anyone_goes_to_the_first_agent_to_ask(api: Api) -> None:
    _c, owner, other = _floor(api)
    lead, call = _talk(api, owner)
    assert _callback(api, owner, call, in_minutes=10, owner="anyone").status_code == 200
    api.advance(600)
    got = api.next(other).json()
    assert got["reason"] == "promise" and got["lead"]["id"] == lead["id"]
    _dial(api, other, lead["id"])
    assert _promise(api, lead["id"])["status"] == "kept"


def test_queue_serves_own_promise_anyone_promise_retry_then_new(api: Api) -> None:
    """The SQL tiers held to `dialer.agents.order`: all four kinds due at once."""
    csv_text = "name,phone\nA,090-7300-0001\nB,090-7300-0002\nC,090-7300-0003\nD,090-7300-0004\n"
    c, owner, b = _floor(api, csv_text)
    c2 = api.agent([c["id"]], name="Tanaka")
    d = api.agent([c["id"]], name="Ito")
    lead_a, call = _talk(api, owner)
    assert _callback(api, owner, call, in_minutes=10).status_code == 200
    lead_b, call = _talk(api, owner)
    assert _callback(api, owner, call, in_minutes=5, owner="anyone").status_code == 200
    lead_c = api.next(owner).json()["lead"]
    _dial(api, owner, lead_c["id"], "busy")
    api.advance(25)  # busy: retry in 600 s
    api.post("/api/admin/clock", json={"to": "2026-12-01T10:12:00+09:00"})
    assert api.next(b).json()["lead"]["id"] == lead_b["id"]  # not A: that one is Sato's
    got_c = api.next(c2).json()
    assert (got_c["reason"], got_c["lead"]["id"]) == ("retry", lead_c["id"])
    assert api.next(d).json()["reason"] == "new"
    got_a = api.next(owner).json()
    assert (got_a["reason"], got_a["lead"]["id"]) == ("promise", lead_a["id"])


def test_concurrent_bookings_never_overfill_a_slot(api: Api) -> None:
    csv_text = "name,phone\n" + "".join(f"L{i},090-7100-{i:04d}\n" for i in range(12))
    c, owner, _other = _floor(api, csv_text, promise_policy={"per_agent_per_slot": 2})
    leads = api.get(f"/api/campaigns/{c['id']}/leads").json()["items"]

    def book(lead: dict[str, Any]) -> int:
        r = api.post(
            f"/api/leads/{lead['id']}/promises",
            json={"at": "2026-12-01T11:00:00+09:00", "agent_id": owner["id"]},
        )
        return int(r.status_code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(book, leads))
    assert sorted(codes) == [201, 201] + [409] * 10, codes
    booked = api.get(f"/api/promises?status=scheduled&campaign_id={c['id']}").json()["items"]
    assert len(booked) == 2


def test_manager_lists_and_queue_summary(api: Api) -> None:
    c, owner, _other = _floor(api)
    lead, call = _talk(api, owner)
    assert _callback(api, owner, call, in_minutes=10).status_code == 200
    assert api.get(f"/api/campaigns/{c['id']}/queue").json()["promises_due"] == 0
    api.advance(600)
    assert api.get(f"/api/campaigns/{c['id']}/queue").json()["promises_due"] == 1
    items = api.get(f"/api/promises?campaign_id={c['id']}&status=scheduled").json()["items"]
    assert [p["lead_id"] for p in items] == [lead["id"]]
    expect_error(api.get("/api/promises", token=owner["token"]), 403)
    expect_error(api.get("/api/promises?status=lost"), 422)
    mine = api.get(f"/api/agents/{owner['id']}/promises", token=owner["token"]).json()["items"]
    assert len(mine) == 1
    other_agent = api.agent([c["id"]], name="Ito")
    expect_error(api.get(f"/api/agents/{owner['id']}/promises", token=other_agent["token"]), 403)


def test_report_counts_promises_made_kept_missed_per_agent(api: Api) -> None:
    c, owner, other = _floor(api, TWO + "Ito,090-7777-0003\n")
    # Owner books three: keeps the first, misses the second, the third is for anyone
    # and kept by the other agent.
    first, call1 = _talk(api, owner)
    assert _callback(api, owner, call1, in_minutes=10).status_code == 200
    second, call2 = _talk(api, owner)
    assert _callback(api, owner, call2, in_minutes=60).status_code == 200
    third, call3 = _talk(api, owner)
    assert _callback(api, owner, call3, in_minutes=30, owner="anyone").status_code == 200
    api.advance(600)
    assert api.next(owner).json()["lead"]["id"] == first["id"]
    kept_call = _dial(api, owner, first["id"], "answered")
    r = api.post(
        f"/api/calls/{kept_call['id']}/disposition",
        token=owner["token"],
        json={"outcome": "not_interested"},
    )
    assert r.status_code == 200, r.text
    api.advance(1200)  # 10:30: the anyone-promise is due
    got = api.next(other).json()
    assert got["lead"]["id"] == third["id"]
    _dial(api, other, third["id"], "no-answer")
    api.put(f"/api/agents/{owner['id']}/state", token=owner["token"], json={"state": "offline"})
    api.advance(3600)  # the second promise's window passes
    report = api.get(f"/api/reports/agents?campaign_id={c['id']}&since=2026-12-01&until=2026-12-01")
    assert report.status_code == 200, report.text
    rows = {row["agent_id"]: row for row in report.json()["agents"]}
    assert rows[owner["id"]]["promises"] == {"made": 3, "kept": 1, "missed": 1, "kept_rate": 0.5}
    assert rows[other["id"]]["promises"] == {"made": 0, "kept": 1, "missed": 0, "kept_rate": 1.0}
    assert rows[owner["id"]]["calls"] == 4 and rows[owner["id"]]["contacts"] == 4
    assert rows[other["id"]]["calls"] == 1 and rows[other["id"]]["contacts"] == 0
    # The next day holds none of it; bad bounds are a 400 naming the field.
    empty = api.get(f"/api/reports/agents?campaign_id={c['id']}&since=2026-12-02").json()
    assert all(r["promises"]["made"] == 0 and r["calls"] == 0 for r in empty["agents"])
    expect_error(api.get("/api/reports/agents?since=yesterday"), 400)
    expect_error(api.get("/api/reports/agents", token=owner["token"]), 403)


def test_promise_booked_before_dialing_survives_the_claim_expiring(api: Api) -> None:
    """The customer wrote in: the agent books a callback without calling, walks away,
    and the claim expires. The lead must wait for its promise, not go back to `new`."""
    _c, owner, other = _floor(api)
    lead = api.next(owner).json()["lead"]
    r = api.post(f"/api/leads/{lead['id']}/promises", token=owner["token"], json={"in_minutes": 30})
    assert r.status_code == 201 and r.json()["call_id"] is None
    api.advance(15 * 60)  # the claim's TTL
    after = _lead(api, lead["id"])
    assert after["status"] == "scheduled" and after["promise_id"] == r.json()["id"]
    assert api.next(other).status_code == 204
    api.advance(15 * 60)
    assert api.next(owner).json()["reason"] == "promise"


def test_a_disposition_other_than_callback_cancels_the_open_promise(api: Api) -> None:
    """The conversation supersedes the promise booked during it: a disposition
    settles the lead's open promise (cancelled, with the call in its reason);
    a lead with none is settled with nothing to cancel."""
    _c, owner, _other = _floor(api, TWO)
    lead, call = _talk(api, owner)
    booked = api.post(
        f"/api/leads/{lead['id']}/promises", token=owner["token"], json={"in_minutes": 30}
    )
    assert booked.status_code == 201, booked.text
    r = api.post(
        f"/api/calls/{call['id']}/disposition",
        token=owner["token"],
        json={"outcome": "not_interested"},
    )
    assert r.status_code == 200, r.text
    promise = _promise(api, lead["id"])
    assert promise["id"] == booked.json()["id"] and promise["status"] == "cancelled"
    assert promise["closed_reason"] == f"call {call['id']} dispositioned not_interested"
    assert _lead(api, lead["id"])["promise_id"] is None
    api.advance(60)
    second, call2 = _talk(api, owner)
    r = api.post(
        f"/api/calls/{call2['id']}/disposition",
        token=owner["token"],
        json={"outcome": "not_interested"},
    )
    assert r.status_code == 200, r.text
    after = _lead(api, second["id"])
    assert after["promises"] == [] and after["promise_id"] is None
    assert "promise_cancelled" not in [e["kind"] for e in after["events"]]
