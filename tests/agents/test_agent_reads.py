"""What an agent may read: its campaigns with their call scripts, its own figures
for the day, and why nothing is callable for it now (its queue, and `next`
asked to explain). Another agent's figures or a campaign it is not on: refused."""

from __future__ import annotations

from typing import Any

from helpers import Api, expect_error

THREE = "name,phone\nA,090-1111-0001\nB,090-1111-0002\nC,090-1111-0003\n"
ALL_DAY = [{"days": "daily", "start": "00:00", "end": "24:00"}]


def _floor(
    api: Api, csv_text: str = THREE, **campaign: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    c = api.campaign(**campaign)
    r = api.import_csv(c["id"], csv_text)
    assert r.status_code == 201, r.text
    return c, api.agent([c["id"]])


def _explain(api: Api, agent: dict[str, Any]) -> Any:
    return api.post(f"/api/agents/{agent['id']}/next?explain=true", token=agent["token"])


def _queue(api: Api, agent: dict[str, Any], token: str | None = None) -> Any:
    return api.get(f"/api/agents/{agent['id']}/queue", token=token or agent["token"])


def _call(api: Api, agent: dict[str, Any], outcome: str) -> tuple[dict[str, Any], dict[str, Any]]:
    got = api.next(agent)
    assert got.status_code == 200, got.text
    lead = got.json()["lead"]
    phone = lead["phones"][0]["number"]
    api.post("/api/admin/sim/outcomes", json={"phone": phone, "outcomes": [outcome]})
    r = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={})
    assert r.status_code == 201, r.text
    return lead, r.json()


# --- campaigns -------------------------------------------------------------------


def test_an_agent_reads_its_campaigns_with_their_scripts_and_no_other(api: Api) -> None:
    mine = api.campaign(name="Mine", script="Good morning, this is Kanto Power.")
    other = api.campaign(name="Other", script="not for Sato")
    agent = api.agent([mine["id"]])
    listing = api.get("/api/campaigns", token=agent["token"])
    assert listing.status_code == 200, listing.text
    assert [c["name"] for c in listing.json()["items"]] == ["Mine"]
    one = api.get(f"/api/campaigns/{mine['id']}", token=agent["token"])
    assert one.status_code == 200, one.text
    assert one.json()["script"] == "Good morning, this is Kanto Power."
    assert one.json() == api.get(f"/api/campaigns/{mine['id']}").json()
    expect_error(
        api.get(f"/api/campaigns/{other['id']}", token=agent["token"]), 403, "not_your_campaign"
    )
    expect_error(api.get("/api/campaigns/999", token=agent["token"]), 404, "campaign_not_found")
    # Reading is all: the campaign stays the manager's to change.
    expect_error(
        api.patch(f"/api/campaigns/{mine['id']}", token=agent["token"], json={"script": "x"}), 403
    )
    assert api.get(f"/api/campaigns/{mine['id']}").json()["script"].startswith("Good morning")
    # The manager still sees everything; an agent on no campaign sees none.
    assert [c["name"] for c in api.get("/api/campaigns").json()["items"]] == ["Mine", "Other"]
    loner = api.agent([], name="Loner")
    assert api.get("/api/campaigns", token=loner["token"]).json()["items"] == []
    # Reassigned: it reads the new campaign at once, and no longer the old one.
    api.patch(f"/api/agents/{agent['id']}", json={"campaign_ids": [other["id"]]})
    assert api.get(f"/api/campaigns/{other['id']}", token=agent["token"]).status_code == 200
    expect_error(api.get(f"/api/campaigns/{mine['id']}", token=agent["token"]), 403)


# --- its own figures -------------------------------------------------------------


def test_an_agent_reads_its_own_figures_for_its_campaigns_local_day(api: Api) -> None:
    # Round-the-clock hours: the calls fall either side of midnight UTC.
    c, agent = _floor(api, calling_hours=ALL_DAY)
    other = api.agent([c["id"]], name="Suzuki")
    # 10:00 Tokyo, 1 December: an unanswered call, then a conversion.
    _call(api, agent, "busy")
    api.advance(25)
    _lead, call = _call(api, agent, "answered")
    api.advance(90)
    r = api.post(
        f"/api/calls/{call['id']}/disposition", token=agent["token"], json={"outcome": "converted"}
    )
    assert r.status_code == 200, r.text
    # 08:00 Tokyo, 2 December (23:00 UTC, 1 December): a callback booked.
    api.post("/api/admin/clock", json={"to": "2026-12-02T08:00:00+09:00"})
    _lead, call = _call(api, agent, "answered")
    api.advance(30)
    r = api.post(
        f"/api/calls/{call['id']}/disposition",
        token=agent["token"],
        json={"outcome": "callback", "promise": {"in_minutes": 30}},
    )
    assert r.status_code == 200, r.text

    today = api.get(f"/api/agents/{agent['id']}/stats", token=agent["token"])
    assert today.status_code == 200, today.text
    body = today.json()
    assert body["agent_id"] == agent["id"] and body["name"] == "Sato"
    [day] = body["campaigns"]
    assert (day["campaign_id"], day["timezone"], day["date"]) == (
        c["id"],
        "Asia/Tokyo",
        "2026-12-02",
    )
    assert day["since"] == "2026-12-02T00:00:00+09:00"
    assert day["until"] == "2026-12-03T00:00:00+09:00"
    assert (day["calls"], day["contacts"], day["talk_seconds"]) == (1, 1, 30)
    assert day["promises"] == {"made": 1, "kept": 0, "missed": 0, "kept_rate": None}
    assert day["conversions"]["total"] == 0
    assert body["total"]["calls"] == 1 and body["total"]["promises"]["made"] == 1

    before = api.get(
        f"/api/agents/{agent['id']}/stats?date=2026-12-01", token=agent["token"]
    ).json()
    [first] = before["campaigns"]
    assert (first["calls"], first["contacts"], first["talk_seconds"]) == (2, 1, 90)
    assert first["conversions"] == {"total": 1, "phone": 1, "external": 0, "cancelled": 0}
    assert first["conversion_rate"] == 1.0
    assert first["promises"]["made"] == 0
    # The same counting as the manager's report for that day.
    report = api.get(f"/api/reports/agents?campaign_id={c['id']}&since=2026-12-01&until=2026-12-01")
    row = next(r for r in report.json()["agents"] if r["agent_id"] == agent["id"])
    for key in ("calls", "contacts", "talk_seconds", "conversions", "promises"):
        assert row[key] == first[key], key

    # Someone else's figures: refused. A manager reads anyone's. Bad dates: 422.
    expect_error(api.get(f"/api/agents/{agent['id']}/stats", token=other["token"]), 403)
    assert (
        api.get(f"/api/agents/{other['id']}/stats", token=other["token"]).json()["total"]["calls"]
        == 0
    )
    assert api.get(f"/api/agents/{agent['id']}/stats").json() == body
    expect_error(api.get("/api/agents/999/stats"), 404)
    for bad in ("1999-12-31", "2101-01-01", "yesterday", "2026-02-30"):
        out = expect_error(api.get(f"/api/agents/{agent['id']}/stats?date={bad}"), 422)
        assert "date" in out["detail"], out


# --- why nothing is callable -------------------------------------------------------


def test_after_hours_next_explains_when_the_lines_open(api: Api) -> None:
    c, agent = _floor(api)
    api.post("/api/admin/clock", json={"to": "2026-12-01T20:30:00+09:00"})
    # The default is the contract's bare 204.
    plain = api.next(agent)
    assert plain.status_code == 204 and plain.content == b""
    r = _explain(api, agent)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "lead": None,
        "reason": "calling_hours",
        "next_callable_at": "2026-12-02T00:00:00+00:00",  # Wednesday 09:00 Tokyo
        "retry_after": 45000,
        "detail": "outside local calling hours",
    }
    assert r.headers["retry-after"] == "45000"
    queue = _queue(api, agent).json()
    assert queue["waiting_on"] == "calling_hours"
    assert queue["next_callable_at"] == "2026-12-02T00:00:00+00:00"
    assert queue["callable_now"] == 0 and queue["claimed_lead_id"] is None
    [campaign] = queue["campaigns"]
    assert campaign["campaign_id"] == c["id"]
    assert campaign["blocked"] == {"calling_hours": 3}
    assert campaign["zones"] == [
        {
            "timezone": "Asia/Tokyo",
            "leads": 3,
            "open": False,
            "closed_by": "calling_hours",
            "holiday": None,
            "opens_at": "2026-12-02T09:00:00+09:00",
            "closes_at": None,
        }
    ]
    # With something callable, explain changes nothing: the lead is claimed as usual.
    api.post("/api/admin/clock", json={"to": "2026-12-02T09:00:00+09:00"})
    got = _explain(api, agent)
    assert got.status_code == 200 and got.json()["lead"]["name"] == "A"
    queue = _queue(api, agent).json()
    assert queue["claimed_lead_id"] == got.json()["lead"]["id"]
    assert queue["next_callable_at"] == "2026-12-02T00:00:00+00:00"  # now: two are callable
    assert queue["waiting_on"] is None and queue["callable_now"] == 2
    assert queue["campaigns"][0]["zones"][0]["closes_at"] == "2026-12-02T20:00:00+09:00"


def test_a_holiday_is_named_with_the_next_opening(api: Api) -> None:
    c, agent = _floor(api)
    api.post("/api/admin/clock", json={"to": "2027-01-01T11:00:00+09:00"})
    r = _explain(api, agent).json()
    assert r["reason"] == "holiday"
    assert r["detail"] == "a public holiday: New Year's Day"
    assert r["next_callable_at"] == "2027-01-02T01:00:00+00:00"  # Saturday 10:00 Tokyo
    queue = api.get(f"/api/campaigns/{c['id']}/queue").json()
    assert queue["blocked"] == {"holiday": 3}
    assert queue["waiting_on"] == "holiday"
    assert queue["zones"][0]["closed_by"] == "holiday"
    assert queue["zones"][0]["holiday"] == "New Year's Day"
    assert queue["zones"][0]["opens_at"] == "2027-01-02T10:00:00+09:00"
    lead = api.get(f"/api/campaigns/{c['id']}/leads").json()["items"][0]
    elig = api.get(f"/api/leads/{lead['id']}/eligibility").json()
    assert elig["blocked_by"] == [
        {
            "rule": "holiday",
            "until": "2027-01-02T10:00:00+09:00",
            "detail": "a public holiday: New Year's Day; they open at 2027-01-02 10:00 Asia/Tokyo",
        }
    ]


def test_a_pending_retry_gives_its_due_time(api: Api) -> None:
    _c, agent = _floor(api, "name,phone\nOnly,090-4444-0001\n", retry_policy={"busy": [600]})
    _call(api, agent, "busy")
    api.advance(25)  # the call ends busy: retry in 600 s from then
    r = _explain(api, agent)
    assert r.json()["reason"] == "retry_delay"
    assert r.json()["next_callable_at"] == "2026-12-01T01:10:25+00:00"
    assert r.headers["retry-after"] == "600"
    api.advance(599)
    assert _explain(api, agent).json()["retry_after"] == 1
    api.advance(1)
    assert _explain(api, agent).json()["lead"]["name"] == "Only"


def test_another_agents_claim_gives_its_expiry(api: Api) -> None:
    c, agent = _floor(api, "name,phone\nOnly,090-4444-0002\n")
    other = api.agent([c["id"]], name="Suzuki")
    assert api.next(other).status_code == 200
    r = _explain(api, agent).json()
    assert r["reason"] == "claimed"
    assert r["next_callable_at"] == "2026-12-01T01:15:00+00:00"  # the 15-minute claim


def test_nothing_without_end_is_named(api: Api) -> None:
    loner = api.agent([], name="Loner")
    r = _explain(api, loner).json()
    assert r == {
        "lead": None,
        "reason": "no_campaigns",
        "next_callable_at": None,
        "retry_after": None,
        "detail": "the agent is assigned to no campaign",
    }
    assert "retry-after" not in _explain(api, loner).headers
    c, agent = _floor(api, "name,phone\nOnly,090-4444-0003\n")
    api.patch(f"/api/campaigns/{c['id']}", json={"status": "paused"})
    assert _explain(api, agent).json()["reason"] == "campaign_paused"
    assert _queue(api, agent).json()["campaigns"][0]["waiting_on"] == "campaign_paused"
    api.patch(f"/api/campaigns/{c['id']}", json={"status": "active"})
    _lead, call = _call(api, agent, "answered")
    api.post(
        f"/api/calls/{call['id']}/disposition", token=agent["token"], json={"outcome": "refused"}
    )
    r = _explain(api, agent).json()
    assert (r["reason"], r["next_callable_at"]) == ("no_leads", None)


def test_promise_leads_as_each_agent_sees_them(api: Api) -> None:
    c, owner = _floor(api, "name,phone\nOnly,090-7777-0001\n")
    other = api.agent([c["id"]], name="Suzuki")
    _lead, call = _call(api, owner, "answered")
    r = api.post(
        f"/api/calls/{call['id']}/disposition",
        token=owner["token"],
        json={"outcome": "callback", "promise": {"in_minutes": 10}},
    )
    assert r.status_code == 200, r.text
    # Before due_at: the due time for its owner, the window's end for the other.
    for agent, at in ((owner, "2026-12-01T01:10:00+00:00"), (other, "2026-12-01T01:15:00+00:00")):
        r = _explain(api, agent).json()
        assert (r["reason"], r["next_callable_at"]) == ("promise_pending", at), agent["name"]
    api.advance(600)
    # Due: the owner's to keep; the other waits for the window to end (reassign).
    owners = _queue(api, owner).json()
    assert owners["callable_now"] == 1 and owners["promises_due"] == 1
    others = _queue(api, other).json()
    assert others["callable_now"] == 0 and others["promises_due"] == 0
    assert others["campaigns"][0]["blocked"] == {"promise_pending": 1}
    assert others["next_callable_at"] == "2026-12-01T01:15:00+00:00"
    manager_view = api.get(f"/api/campaigns/{c['id']}/queue").json()
    assert manager_view["promises_due"] == 1 and manager_view["callable_now"] == 1
    # The window ends uncalled: missed, no longer due, and the lead is anyone's.
    api.put(f"/api/agents/{owner['id']}/state", token=owner["token"], json={"state": "offline"})
    api.advance(300)
    manager_view = api.get(f"/api/campaigns/{c['id']}/queue").json()
    assert manager_view["promises_due"] == 0
    assert manager_view["callable_now"] == 1
    assert _queue(api, other).json()["callable_now"] == 1
    # Another agent's queue is not for this one to read.
    expect_error(_queue(api, owner, token=other["token"]), 403)
    expect_error(
        api.post(f"/api/agents/{owner['id']}/next?explain=true", token=other["token"]), 403
    )
    assert api.get(f"/api/agents/{owner['id']}/queue").status_code == 200  # a manager
    expect_error(api.get("/api/agents/999/queue"), 404)
    expect_error(
        api.post(f"/api/agents/{owner['id']}/next?explain=maybe", token=owner["token"]), 422
    )


def test_a_kept_owner_promise_never_lapses_to_others(api: Api) -> None:
    c, owner = _floor(api, "name,phone\nOnly,090-7777-0002\n", promise_policy={"on_missed": "keep"})
    other = api.agent([c["id"]], name="Suzuki")
    _lead, call = _call(api, owner, "answered")
    api.post(
        f"/api/calls/{call['id']}/disposition",
        token=owner["token"],
        json={"outcome": "callback", "promise": {"in_minutes": 10}},
    )
    api.advance(3600)
    r = _explain(api, other).json()
    assert (r["reason"], r["next_callable_at"]) == ("promise_pending", None)
    assert _queue(api, owner).json()["callable_now"] == 1
