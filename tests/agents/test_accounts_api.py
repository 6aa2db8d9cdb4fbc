"""Accounts over HTTP: several managers, the filtered list, renaming, new tokens,
deactivation (token refused at once, claim released, promises handed over by
the campaign's `on_missed` rule), reactivation, the last manager, the
bootstrap manager, and each account's history."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import MANAGER_TOKEN, Api, expect_error, make_settings

from dialer.app import create_app

ONE = "name,phone\nYamada,090-7777-0001\n"


def _floor(api: Api, csv_text: str = ONE, **campaign: Any) -> tuple[dict[str, Any], ...]:
    c = api.campaign(**campaign)
    assert api.import_csv(c["id"], csv_text).status_code == 201
    owner = api.agent([c["id"]], name="Sato")
    other = api.agent([c["id"]], name="Suzuki")
    return c, owner, other


def _lead(api: Api, lead_id: int) -> dict[str, Any]:
    return dict(api.get(f"/api/leads/{lead_id}").json())


def _kinds(api: Api, lead_id: int) -> list[str]:
    return [e["kind"] for e in _lead(api, lead_id)["events"]]


def _event(api: Api, lead_id: int, kind: str) -> dict[str, Any]:
    found = [e for e in _lead(api, lead_id)["events"] if e["kind"] == kind]
    assert found, (kind, _kinds(api, lead_id))
    return dict(found[-1])


def _book(api: Api, agent: dict[str, Any], *, in_minutes: int = 10) -> dict[str, Any]:
    """The agent takes the lead and books a callback for itself on it."""
    got = api.next(agent)
    assert got.status_code == 200, got.text
    lead_id = got.json()["lead"]["id"]
    r = api.post(
        f"/api/leads/{lead_id}/promises", token=agent["token"], json={"in_minutes": in_minutes}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def _deactivate(api: Api, agent_id: int, **body: Any) -> Any:
    return api.post(f"/api/agents/{agent_id}/deactivate", json=body or None)


def _history(api: Api, agent_id: int) -> list[str]:
    r = api.get(f"/api/agents/{agent_id}/history")
    assert r.status_code == 200, r.text
    return [e["kind"] for e in r.json()["items"]]


# --- roles and the list ------------------------------------------------------------


def test_a_manager_created_through_the_api_manages(api: Api) -> None:
    r = api.post("/api/agents", json={"name": "Floor lead", "role": "manager"})
    assert r.status_code == 201, r.text
    manager = r.json()
    assert (manager["role"], manager["active"], manager["state"]) == ("manager", True, "offline")
    assert api.post(
        "/api/campaigns", json={"name": "Hers"}, token=manager["token"]
    ).status_code == (201)
    agent = api.agent([], name="Sato")
    assert agent["role"] == "agent" and agent["state"] == "available"
    expect_error(api.get("/api/promises", token=agent["token"]), 403, "manager_only")
    expect_error(api.post("/api/agents", json={"name": "X", "role": "boss"}), 422)


def test_the_list_filters_by_role_and_active_and_pages(api: Api) -> None:
    c = api.campaign()
    sato = api.agent([c["id"]], name="Sato")
    suzuki = api.agent([c["id"]], name="Suzuki")
    takahashi = api.agent([], name="Takahashi")
    boss = api.post("/api/agents", json={"name": "Boss", "role": "manager"}).json()
    assert _deactivate(api, suzuki["id"]).status_code == 200

    def names(query: str) -> list[str]:
        r = api.get(f"/api/agents{query}")
        assert r.status_code == 200, r.text
        return [a["name"] for a in r.json()["items"]]

    # Agents by default, as before: managers only when asked for.
    assert names("") == ["Sato", "Suzuki", "Takahashi"]
    assert names("?role=manager") == ["bootstrap manager", "Boss"]
    assert names("?role=any&active=true") == ["bootstrap manager", "Sato", "Takahashi", "Boss"]
    assert names("?active=false") == ["Suzuki"]
    listing = api.get("/api/agents?role=any").json()["items"]
    by_name = {a["name"]: a for a in listing}
    assert by_name["Suzuki"]["active"] is False and by_name["Suzuki"]["deactivated_at"]
    assert (
        by_name["Sato"]["campaign_ids"] == [c["id"]] and by_name["Takahashi"]["campaign_ids"] == []
    )
    assert by_name["Boss"]["role"] == "manager" and "token" not in by_name["Boss"]
    # Pages of two, by id.
    first = api.get("/api/agents?role=any&limit=2").json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = api.get(f"/api/agents?role=any&limit=2&cursor={first['next_cursor']}").json()
    third = api.get(f"/api/agents?role=any&limit=2&cursor={second['next_cursor']}").json()
    seen = [a["id"] for page in (first, second, third) for a in page["items"]]
    assert seen == sorted(a["id"] for a in listing) and third["next_cursor"] is None
    assert {sato["id"], takahashi["id"], boss["id"]} <= set(seen)
    for bad in ("?role=boss", "?active=maybe", "?limit=0", "?limit=1001", "?cursor=x"):
        r = api.get(f"/api/agents{bad}")
        assert r.status_code in (400, 422), (bad, r.text)
    expect_error(api.get("/api/agents", token=sato["token"]), 403)


# --- renaming ----------------------------------------------------------------------


def test_rename_changes_only_what_is_given(api: Api) -> None:
    c = api.campaign()
    agent = api.agent([c["id"]], name="Sato")
    r = api.patch(f"/api/agents/{agent['id']}", json={"name": "  Sato Hanako "})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Sato Hanako"
    assert r.json()["campaign_ids"] == [c["id"]] and r.json()["endpoint"] == "client:sato"
    r = api.patch(f"/api/agents/{agent['id']}", json={"endpoint": "+81312345678"})
    assert r.json()["endpoint"] == "+81312345678" and r.json()["name"] == "Sato Hanako"
    r = api.patch(f"/api/agents/{agent['id']}", json={"campaign_ids": []})
    assert r.json()["campaign_ids"] == []
    assert api.get(f"/api/agents/{agent['id']}", token=agent["token"]).json()["name"] == (
        "Sato Hanako"
    )
    for bad in ({"name": ""}, {"name": None}, {"name": "x" * 201}, {"campaign_ids": [2**63]},
                {"campaign_ids": None}, {"role": "manager"}):  # fmt: skip
        expect_error(api.patch(f"/api/agents/{agent['id']}", json=bad), 422)
    expect_error(
        api.patch(f"/api/agents/{agent['id']}", json={"name": "Me"}, token=agent["token"]), 403
    )
    expect_error(api.patch("/api/agents/999", json={"name": "X"}), 404, "agent_not_found")
    history = api.get(f"/api/agents/{agent['id']}/history").json()["items"]
    assert [e["kind"] for e in history] == [
        "created", "renamed", "endpoint_changed", "campaigns_changed",
    ]  # fmt: skip
    assert history[1]["detail"] == {"old": "Sato", "new": "Sato Hanako"}
    assert history[1]["actor"].startswith("manager:")
    assert "token" not in str(history)


# --- new tokens --------------------------------------------------------------------


def test_a_new_token_replaces_the_old_one_at_once(api: Api) -> None:
    c = api.campaign()
    agent = api.agent([c["id"]], name="Sato")
    other = api.agent([c["id"]], name="Suzuki")
    # An agent for itself.
    r = api.post(f"/api/agents/{agent['id']}/token", token=agent["token"])
    assert r.status_code == 200, r.text
    new = r.json()["token"]
    assert new != agent["token"] and r.json()["id"] == agent["id"]
    expect_error(api.get(f"/api/agents/{agent['id']}", token=agent["token"]), 401, "unknown_token")
    assert api.get(f"/api/agents/{agent['id']}", token=new).status_code == 200
    # A manager for anyone; an agent not for another.
    expect_error(api.post(f"/api/agents/{other['id']}/token", token=new), 403)
    r = api.post(f"/api/agents/{agent['id']}/token")
    assert r.status_code == 200
    expect_error(api.get(f"/api/agents/{agent['id']}", token=new), 401, "unknown_token")
    assert api.next({"id": agent["id"], "token": r.json()["token"]}).status_code in (200, 204)
    assert _history(api, agent["id"]).count("token_rotated") == 2
    # The bootstrap token is the environment's.
    boot = api.get("/api/agents?role=manager").json()["items"][0]
    expect_error(api.post(f"/api/agents/{boot['id']}/token"), 409, "bootstrap_manager")
    assert api.get("/api/agents").status_code == 200


# --- deactivation ------------------------------------------------------------------


def test_deactivation_refuses_the_token_and_releases_the_claim(api: Api) -> None:
    _c, owner, other = _floor(api)
    got = api.next(owner)
    assert got.status_code == 200
    lead_id = got.json()["lead"]["id"]
    r = _deactivate(api, owner["id"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["active"] is False and body["state"] == "offline"
    assert body["released_lead_id"] == lead_id and body["handed_over"] == []
    # The token is refused from the very next request, with a code of its own.
    expect_error(api.next(owner), 401, "account_deactivated")
    expect_error(api.get(f"/api/agents/{owner['id']}", token=owner["token"]), 401)
    # The lead is back where it was, with the reason in its history.
    lead = _lead(api, lead_id)
    assert lead["status"] == "new" and lead["attempts"] == 0
    assert _event(api, lead_id, "claim_released")["detail"]["why"] == "agent_deactivated"
    assert _event(api, lead_id, "status_changed")["detail"] == {
        "old": "claimed", "new": "new", "reason": "agent_deactivated",
    }  # fmt: skip
    # No lead for it, whoever asks; it cannot be made available again.
    expect_error(api.post(f"/api/agents/{owner['id']}/next"), 409, "account_deactivated")
    expect_error(
        api.put(f"/api/agents/{owner['id']}/state", json={"state": "available"}),
        409,
        "account_deactivated",
    )
    got = api.next(other)
    assert got.status_code == 200 and got.json()["lead"]["id"] == lead_id
    # Again: nothing more to do.
    again = _deactivate(api, owner["id"])
    assert again.status_code == 200 and again.json()["released_lead_id"] is None
    assert _history(api, owner["id"]) == ["created", "deactivated"]
    # A deactivated agent is booked no promise.
    r = api.post(f"/api/leads/{lead_id}/promises", json={"in_minutes": 10, "agent_id": owner["id"]})
    expect_error(r, 422, "account_deactivated")


def test_an_agent_on_a_call_is_not_deactivated(api: Api) -> None:
    _c, owner, _other = _floor(api)
    lead = api.next(owner).json()["lead"]
    api.post(
        "/api/admin/sim/outcomes",
        json={"phone": lead["phones"][0]["number"], "outcomes": ["answered"]},
    )
    call = api.post(f"/api/leads/{lead['id']}/calls", token=owner["token"], json={}).json()
    body = expect_error(_deactivate(api, owner["id"]), 409, "agent_on_call")
    assert body["call_id"] == call["id"]
    assert api.get(f"/api/agents/{owner['id']}", token=owner["token"]).json()["active"] is True
    r = api.post(
        f"/api/calls/{call['id']}/disposition",
        token=owner["token"],
        json={"outcome": "not_interested"},
    )
    assert r.status_code == 200, r.text
    assert _deactivate(api, owner["id"]).status_code == 200


def test_reassign_hands_the_promises_to_anyone(api: Api) -> None:
    c, owner, other = _floor(api, "name,phone\nYamada,090-7777-0001\nSato,090-7777-0002\n")
    promise = _book(api, owner)
    lead_id = promise["lead_id"]
    # Claimed while booking: the deactivation releases it, then hands the promise over.
    r = _deactivate(api, owner["id"], promises_to=other["id"])
    assert r.status_code == 200, r.text
    assert r.json()["released_lead_id"] == lead_id
    # `reassign`: to anyone, even with an heir named.
    assert r.json()["handed_over"] == [
        {"lead_id": lead_id, "promise_id": promise["id"], "to_agent_id": None,
         "on_missed": "reassign"},
    ]  # fmt: skip
    after = api.get(f"/api/promises/{promise['id']}").json()
    assert after["status"] == "scheduled" and after["agent_id"] is None
    assert after["due_at"] == promise["due_at"]  # the customer's time does not move
    lead = _lead(api, lead_id)
    assert lead["status"] == "scheduled" and lead["reserved_agent_id"] is None
    detail = _event(api, lead_id, "promise_handed_over")["detail"]
    assert (detail["from_agent_id"], detail["to_agent_id"]) == (owner["id"], None)
    third = api.agent([c["id"]], name="Takahashi")
    # Not before it is due (the other lead goes first), then to whoever asks.
    assert api.next(third).json()["lead"]["id"] != lead_id
    api.advance(600)
    got = api.next(other).json()
    assert got["reason"] == "promise" and got["lead"]["id"] == lead_id


def test_keep_hands_the_promises_to_the_named_agent(api: Api) -> None:
    c, owner, heir = _floor(api, promise_policy={"on_missed": "keep"})
    third = api.agent([c["id"]], name="Takahashi")
    promise = _book(api, owner)
    lead_id = promise["lead_id"]
    api.advance(600)  # due: announced to its owner already
    r = _deactivate(api, owner["id"], promises_to=heir["id"])
    assert r.status_code == 200, r.text
    assert r.json()["handed_over"][0]["to_agent_id"] == heir["id"]
    assert api.get(f"/api/promises/{promise['id']}").json()["agent_id"] == heir["id"]
    assert _lead(api, lead_id)["reserved_agent_id"] == heir["id"]
    # Within the window it is the heir's alone, as it was the owner's.
    assert api.next(third).status_code == 204
    got = api.next(heir).json()
    assert got["reason"] == "promise" and got["lead"]["id"] == lead_id
    # The heir's stream hears of it: handed over, and due.
    events = _agent_events(api, heir["id"])
    assert {"promise_handed_over", "promise_due"} <= {e.kind for e in events}


def test_keep_without_an_heir_goes_to_anyone(api: Api) -> None:
    _c, owner, other = _floor(api, promise_policy={"on_missed": "keep"})
    promise = _book(api, owner)
    api.advance(3600)  # missed; with keep the lead stays the owner's for good
    assert api.get(f"/api/promises/{promise['id']}").json()["status"] == "missed"
    assert api.next(other).status_code == 204
    r = _deactivate(api, owner["id"])
    assert r.status_code == 200, r.text
    # No open promise: the owner's hold on the lead is what is handed over.
    assert r.json()["handed_over"] == [
        {"lead_id": promise["lead_id"], "promise_id": None, "to_agent_id": None,
         "on_missed": "keep"},
    ]  # fmt: skip
    # The missed promise still counts against its owner.
    assert api.get(f"/api/promises/{promise['id']}").json()["agent_id"] == owner["id"]
    got = api.next(other).json()
    assert got["reason"] == "promise" and got["lead"]["id"] == promise["lead_id"]


def test_a_bad_heir_changes_nothing(api: Api) -> None:
    c, owner, other = _floor(api, promise_policy={"on_missed": "keep"})
    elsewhere = api.agent([api.campaign()["id"]], name="Takahashi")
    promise = _book(api, owner)
    body = expect_error(
        _deactivate(api, owner["id"], promises_to=elsewhere["id"]), 422, "agent_not_on_campaign"
    )
    assert body["field"] == "promises_to" and str(c["id"]) in body["detail"]
    expect_error(_deactivate(api, owner["id"], promises_to=owner["id"]), 422)
    expect_error(_deactivate(api, owner["id"], promises_to=999), 422, "agent_not_found")
    expect_error(_deactivate(api, owner["id"], promises_to=2**63), 422)
    expect_error(_deactivate(api, owner["id"], heir=other["id"]), 422)
    assert _deactivate(api, other["id"]).status_code == 200
    expect_error(_deactivate(api, owner["id"], promises_to=other["id"]), 422, "account_deactivated")
    # Nothing was written: the owner still works, holds its claim and its promise.
    assert api.next(owner).json()["lead"]["id"] == promise["lead_id"]
    assert api.get(f"/api/promises/{promise['id']}").json()["agent_id"] == owner["id"]
    expect_error(_deactivate(api, owner["id"], token=owner["token"]), 422)
    expect_error(api.post(f"/api/agents/{other['id']}/deactivate", token=owner["token"]), 403)


def test_a_handed_over_follow_up_stays_with_the_heir(api: Api) -> None:
    """A kept promise the customer did not answer is followed up; handed over,
    the heir follows it up, while the kept promise stays its owner's."""
    _c, owner, heir = _floor(
        api, retry_policy={"no_answer": [1800]}, promise_policy={"on_missed": "keep"}
    )
    lead = api.next(owner).json()["lead"]
    phone = lead["phones"][0]["number"]

    def dial(agent: dict[str, Any], outcome: str) -> dict[str, Any]:
        api.post("/api/admin/sim/outcomes", json={"phone": phone, "outcomes": [outcome]})
        r = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={})
        assert r.status_code == 201, r.text
        return dict(r.json())

    call = dial(owner, "answered")
    r = api.post(
        f"/api/calls/{call['id']}/disposition",
        token=owner["token"],
        json={"outcome": "callback", "promise": {"in_minutes": 10}},
    )
    assert r.status_code == 200, r.text
    api.advance(600)
    assert api.next(owner).json()["reason"] == "promise"
    dial(owner, "no-answer")
    api.advance(25)  # unanswered: a follow-up, the owner's
    promise = _lead(api, lead["id"])["promises"][-1]
    assert promise["status"] == "kept"
    assert _lead(api, lead["id"])["reserved_agent_id"] == owner["id"]
    r = _deactivate(api, owner["id"], promises_to=heir["id"])
    assert r.status_code == 200, r.text
    assert r.json()["handed_over"][0]["promise_id"] is None
    assert _lead(api, lead["id"])["reserved_agent_id"] == heir["id"]
    api.advance(600)
    got = api.next(heir).json()
    assert got["lead"]["id"] == lead["id"] and got["reason"] == "promise"
    dial(heir, "busy")
    api.advance(25)  # the second follow-up: the heir's, never the deactivated owner's
    after = _lead(api, lead["id"])
    assert after["reserved_agent_id"] == heir["id"] and after["promise_id"] == promise["id"]
    # The kept promise stays its owner's in the reports.
    assert api.get(f"/api/promises/{promise['id']}").json()["agent_id"] == owner["id"]


# --- managers ----------------------------------------------------------------------


def test_the_last_active_manager_stays(db_url: str, api: Api) -> None:
    boot = api.get("/api/agents?role=manager").json()["items"][0]
    # The manager the environment names is the environment's to retire.
    expect_error(_deactivate(api, boot["id"]), 409, "bootstrap_manager")
    second = api.post("/api/agents", json={"name": "Boss", "role": "manager"}).json()
    # Without DIALER_BOOTSTRAP_TOKEN it is a manager like any other.
    settings = make_settings(db_url, DIALER_BOOTSTRAP_TOKEN=None)
    with TestClient(create_app(settings)) as client:
        plain = Api(client)
        r = plain.post(f"/api/agents/{boot['id']}/deactivate", token=second["token"])
        assert r.status_code == 200, r.text
        expect_error(plain.get("/api/agents", token=MANAGER_TOKEN), 401, "account_deactivated")
        body = expect_error(
            plain.post(f"/api/agents/{second['id']}/deactivate", token=second["token"]),
            409,
            "last_manager",
        )
        assert str(second["id"]) in body["detail"]
        assert plain.get("/api/agents", token=second["token"]).status_code == 200
    # Started again with the variable set: its manager is back.
    with TestClient(create_app(make_settings(db_url))) as client:
        again = Api(client)
        assert again.get("/api/agents").status_code == 200
        assert _history(again, boot["id"]) == ["created", "deactivated", "reactivated"]


def test_reactivation_issues_a_new_token(api: Api) -> None:
    c = api.campaign()
    agent = api.agent([c["id"]], name="Sato")
    expect_error(api.post(f"/api/agents/{agent['id']}/reactivate"), 409, "account_active")
    assert _deactivate(api, agent["id"]).status_code == 200
    expect_error(api.post(f"/api/agents/{agent['id']}/token"), 409, "account_deactivated")
    r = api.post(f"/api/agents/{agent['id']}/reactivate")
    assert r.status_code == 200, r.text
    back = r.json()
    assert back["active"] is True and back["deactivated_at"] is None and back["state"] == "offline"
    assert back["campaign_ids"] == [c["id"]]
    expect_error(api.get(f"/api/agents/{agent['id']}", token=agent["token"]), 401, "unknown_token")
    token = back["token"]
    assert (
        api.put(
            f"/api/agents/{agent['id']}/state", token=token, json={"state": "available"}
        ).status_code
        == 200
    )
    assert _history(api, agent["id"]) == ["created", "deactivated", "reactivated"]


@pytest.mark.parametrize("kind", ["deactivate", "token"])
def test_the_event_stream_is_told_and_ends(api: Api, kind: str) -> None:
    """An account event for its own agent is the last frame of its stream."""
    import asyncio

    from dialer.agents import events

    c = api.campaign()
    agent = api.agent([c["id"]], name="Sato")
    runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    if kind == "deactivate":
        assert _deactivate(api, agent["id"]).status_code == 200
    else:
        assert api.post(f"/api/agents/{agent['id']}/token").status_code == 200

    async def read_all() -> list[str]:
        hub = events.EventHub(runtime.db)
        frames = []
        async for frame in events.stream(
            hub, agent_id=agent["id"], campaign_ids=[c["id"]], last_event_id=0
        ):
            frames.append(frame)
        return frames

    frames = asyncio.run(asyncio.wait_for(read_all(), timeout=10))
    expected = "account_deactivated" if kind == "deactivate" else "token_rotated"
    assert f"event: {expected}" in frames[-1]


def _agent_events(api: Api, agent_id: int) -> list[Any]:
    from dialer.agents import events

    runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    campaigns = api.get(f"/api/agents/{agent_id}").json()["campaign_ids"]
    with runtime.db.read() as session:
        return events.events_since(session, agent_id=agent_id, campaign_ids=campaigns, after_id=0)
