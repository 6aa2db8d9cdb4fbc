"""Inbound callbacks: a customer rings the campaign's caller id back. Routed to
the promise's owner, else the agent who last spoke with them, else anyone free;
nobody free → the campaign's message and a promise as soon as possible; unknown
callers recorded and offered to anyone. Through the simulated route and the
signed Twilio webhook, on both engines."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from helpers import Api, expect_error, make_settings
from twilio.request_validator import RequestValidator

from dialer.app import create_app

CALLER_ID = "+81312345678"
CUSTOMER = "090-5555-0001"
CUSTOMER_E164 = "+819055550001"
OTHER = "090-5555-0002"
TOKEN = "inbound-test-auth-token"
PUBLIC = "https://dialer.example.com"


def _floor(
    api: Api, *names: str, campaign: str = "東京電力切替キャンペーン"
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """A campaign with the customer's lead (and another), and its agents."""
    c = api.campaign(caller_id=CALLER_ID, name=campaign)
    r = api.import_csv(c["id"], f"name,phone\n山田,{CUSTOMER}\n佐々木,{OTHER}\n")
    assert r.status_code == 201, r.text
    agents = [api.agent([c["id"]], name=n) for n in names]
    leads = api.get(f"/api/campaigns/{c['id']}/leads").json()["items"]
    lead = next(x for x in leads if x["phones"][0]["number"] == CUSTOMER_E164)
    return c, lead, agents


def _talk(api: Api, agent: dict[str, Any], lead: dict[str, Any], **disposition: Any) -> None:
    """The agent calls the customer, who answers; then the disposition."""
    got = api.next(agent).json()
    assert got["lead"]["id"] == lead["id"], got
    api.post("/api/admin/sim/outcomes", json={"phone": CUSTOMER, "outcomes": ["answered"]})
    call = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={}).json()
    r = api.post(f"/api/calls/{call['id']}/disposition", token=agent["token"], json=disposition)
    assert r.status_code == 200, r.text


def _state(api: Api, agent: dict[str, Any], state: str) -> None:
    r = api.put(f"/api/agents/{agent['id']}/state", token=agent["token"], json={"state": state})
    assert r.status_code == 200, r.text


def _ring(api: Api, **body: Any) -> dict[str, Any]:
    r = api.post("/api/admin/sim/incoming", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _agent_events(api: Api, agent_id: int) -> list[dict[str, Any]]:
    import json

    from dialer.agents import events

    runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    campaigns = api.get(f"/api/agents/{agent_id}").json()["campaign_ids"]
    with runtime.db.read() as session:
        found = events.events_since(session, agent_id=agent_id, campaign_ids=campaigns, after_id=0)
    return [json.loads(e.data) for e in found]


def test_callback_goes_to_the_promise_owner_who_gets_the_lead(api: Api) -> None:
    c, lead, (suzuki, sato) = _floor(api, "Suzuki", "Sato")
    _state(api, suzuki, "paused")
    _talk(api, sato, lead, outcome="callback", promise={"in_minutes": 30})
    _state(api, suzuki, "available")  # free too, but not the owner
    promise = api.get(f"/api/leads/{lead['id']}").json()["promises"][0]
    assert promise["status"] == "scheduled" and promise["agent_id"] == sato["id"]

    got = _ring(api, **{"from": CUSTOMER, "to": "03-1234-5678"})
    assert got["routed_to"] == "promise_owner" and got["agent_id"] == sato["id"]
    assert got["lead_id"] == lead["id"] and got["claimed"] is True
    assert got["promise_id"] == promise["id"] and got["from"] == CUSTOMER_E164
    assert got["to"] == CALLER_ID and got["campaign_id"] == c["id"]
    assert got["created_at"].endswith("+09:00")
    # The promise is kept; the lead is the owner's claim, as `next` gives it.
    assert api.get(f"/api/promises/{promise['id']}").json()["status"] == "kept"
    held = api.next(sato).json()
    assert held["lead"]["id"] == lead["id"] and held["reason"] == "promise"
    event = [e for e in _agent_events(api, sato["id"]) if e["kind"] == "incoming_call"]
    assert len(event) == 1 and event[0]["lead_id"] == lead["id"]
    assert event[0]["inbound_call_id"] == got["id"] and event[0]["routed_to"] == "promise_owner"
    assert not [e for e in _agent_events(api, suzuki["id"]) if e["kind"] == "incoming_call"]
    kinds = [e["kind"] for e in api.get(f"/api/leads/{lead['id']}").json()["events"]]
    assert "incoming_call" in kinds and kinds.count("promise_kept") == 1


def test_callback_goes_to_the_agent_who_last_spoke_with_them(api: Api) -> None:
    _c, lead, (suzuki, sato) = _floor(api, "Suzuki", "Sato")
    _state(api, suzuki, "paused")
    _talk(api, sato, lead, outcome="not_interested")
    _state(api, suzuki, "available")
    got = _ring(api, **{"from": CUSTOMER})  # no `to`: the campaign of the caller's lead
    assert got["routed_to"] == "last_agent" and got["agent_id"] == sato["id"]
    assert got["claimed"] is True and got["promise_id"] is None
    held = api.next(sato).json()
    assert held["lead"]["id"] == lead["id"] and held["reason"] == "retry"


def test_callback_goes_to_anyone_free_when_owner_and_last_agent_are_busy(api: Api) -> None:
    _c, lead, (tanaka, suzuki, sato) = _floor(api, "Tanaka", "Suzuki", "Sato")
    _state(api, suzuki, "paused")
    _state(api, tanaka, "paused")
    _talk(api, sato, lead, outcome="callback", promise={"in_minutes": 30})
    _state(api, sato, "paused")  # the owner (and last agent) is on a break
    _state(api, tanaka, "available")
    # Tanaka, waiting longest, takes the other lead: an agent holding a claim is
    # at work on it and is not handed the incoming call.
    assert api.next(tanaka).json()["lead"]["phones"][0]["number"] == "+819055550002"
    _state(api, suzuki, "available")
    got = _ring(api, **{"from": CUSTOMER_E164, "to": CALLER_ID})
    assert got["routed_to"] == "any_agent" and got["agent_id"] == suzuki["id"]
    assert got["claimed"] is True and got["promise_id"] is not None
    assert api.get(f"/api/promises/{got['promise_id']}").json()["status"] == "kept"
    assert api.next(suzuki).json()["lead"]["id"] == lead["id"]


def test_nobody_free_books_a_promise_as_soon_as_possible_for_the_owner(api: Api) -> None:
    _c, lead, (sato,) = _floor(api, "Sato")
    _talk(api, sato, lead, outcome="callback", promise={"in_minutes": 60})
    first = api.get(f"/api/leads/{lead['id']}").json()["promises"][0]
    _state(api, sato, "paused")
    got = _ring(api, **{"from": CUSTOMER, "to": CALLER_ID})
    assert got["routed_to"] == "nobody" and got["agent_id"] is None
    assert got["claimed"] is False and got["promise_id"] not in (None, first["id"])
    promise = api.get(f"/api/promises/{got['promise_id']}").json()
    assert promise["agent_id"] == sato["id"] and promise["made_by"] == "customer"
    assert promise["status"] == "scheduled"
    assert promise["due_at"] == "2026-12-01T10:00:00+09:00"  # now: the slot is free
    assert api.get(f"/api/promises/{first['id']}").json()["status"] == "rescheduled"
    missed = [e for e in _agent_events(api, sato["id"]) if e["kind"] == "incoming_call_missed"]
    assert missed and missed[0]["promise_id"] == promise["id"]
    # Back at work, the owner is handed the callback first.
    _state(api, sato, "available")
    held = api.next(sato).json()
    assert held["lead"]["id"] == lead["id"] and held["reason"] == "promise"


def test_nobody_free_without_a_promise_books_one_for_anyone(api: Api) -> None:
    _c, lead, (sato,) = _floor(api, "Sato")
    _state(api, sato, "offline")
    got = _ring(api, **{"from": CUSTOMER, "to": CALLER_ID})
    assert got["routed_to"] == "nobody" and got["lead_id"] == lead["id"]
    promise = api.get(f"/api/promises/{got['promise_id']}").json()
    assert promise["agent_id"] is None and promise["due_at"] == "2026-12-01T10:00:00+09:00"


def test_unknown_caller_is_offered_to_anyone_or_kept_for_a_manager(api: Api) -> None:
    c, _lead, (sato,) = _floor(api, "Sato")
    got = _ring(api, **{"from": "080-9999-0000", "to": CALLER_ID})
    assert got["lead_id"] is None and got["routed_to"] == "any_agent"
    assert got["agent_id"] == sato["id"] and got["claimed"] is False
    event = [e for e in _agent_events(api, sato["id"]) if e["kind"] == "incoming_call"]
    assert event[0]["lead_id"] is None and event[0]["phone"] == "+818099990000"
    assert api.get(f"/api/agents/{sato['id']}/queue").json()["claimed_lead_id"] is None
    _state(api, sato, "offline")
    missed = _ring(api, **{"from": "080-9999-0001", "to": CALLER_ID})
    assert missed["routed_to"] == "nobody" and missed["promise_id"] is None

    listed = api.get(f"/api/campaigns/{c['id']}/incoming?unmatched=true").json()
    assert [x["id"] for x in listed["items"]] == [missed["id"], got["id"]]
    assert listed["next_cursor"] is None
    page = api.get(f"/api/campaigns/{c['id']}/incoming?unmatched=true&limit=1").json()
    assert [x["id"] for x in page["items"]] == [missed["id"]]
    rest = api.get(
        f"/api/campaigns/{c['id']}/incoming?unmatched=true&limit=1&cursor={page['next_cursor']}"
    ).json()
    assert [x["id"] for x in rest["items"]] == [got["id"]]
    assert api.get(f"/api/campaigns/{c['id']}/incoming?unmatched=false").json()["items"] == []


def test_campaigns_sharing_a_caller_id_take_the_lead_still_in_play(api: Api) -> None:
    """The same household in two campaigns on one number: the lead whose phone
    is in use and which is still in play is the caller, whatever came first."""
    _old, closed, (sato,) = _floor(api, "Sato", campaign="冬キャンペーン")
    _talk(api, sato, closed, outcome="wrong_number")
    assert api.get(f"/api/leads/{closed['id']}").json()["status"] == "invalid"
    new, lead, (suzuki,) = _floor(api, "Suzuki", campaign="春キャンペーン")
    got = _ring(api, **{"from": CUSTOMER, "to": CALLER_ID})
    assert got["campaign_id"] == new["id"] and got["lead_id"] == lead["id"]
    assert got["agent_id"] == suzuki["id"] and got["routed_to"] == "any_agent"


def test_simulated_incoming_refuses_bad_input(api: Api) -> None:
    c, _lead, (sato,) = _floor(api, "Sato")
    expect_error(
        api.post("/api/admin/sim/incoming", json={"from": CUSTOMER, "to": "+81399999999"}),
        404,
        "unknown_caller_id",
    )
    body = expect_error(
        api.post("/api/admin/sim/incoming", json={"from": "080-9999-0000"}), 422, "unknown_caller"
    )
    assert body["field"] == "to"
    body = expect_error(api.post("/api/admin/sim/incoming", json={"to": CALLER_ID}), 422)
    assert body["field"] == "from"
    expect_error(api.post("/api/admin/sim/incoming", json={"from": "1" * 65}), 422)
    expect_error(
        api.post("/api/admin/sim/incoming", token=sato["token"], json={"from": CUSTOMER}), 403
    )
    expect_error(api.get(f"/api/campaigns/{c['id']}/incoming", token=sato["token"]), 403)
    expect_error(api.get("/api/campaigns/999999/incoming"), 404, "campaign_not_found")
    assert api.get(f"/api/campaigns/{c['id']}/incoming").json()["items"] == []


# --- the signed webhook -----------------------------------------------------------


@pytest.fixture
def hooked(db_url: str) -> Iterator[Api]:
    settings = make_settings(db_url, TWILIO_AUTH_TOKEN=TOKEN, DIALER_PUBLIC_URL=PUBLIC)
    with TestClient(create_app(settings)) as client:
        yield Api(client)


def _incoming(api: Api, params: dict[str, str], *, signature: str | None = None) -> Any:
    path = "/webhooks/twilio/incoming"
    signed = RequestValidator(TOKEN).compute_signature(PUBLIC + path, params)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature if signature is not None else signed,
    }
    return api.client.post(path, content=urlencode(params), headers=headers)


def _params(sid: str, *, caller: str = CUSTOMER_E164, to: str = CALLER_ID) -> dict[str, str]:
    return {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": sid,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "From": caller,
        "To": to,
        "CallerName": "",
        "ApiVersion": "2010-04-01",
    }


def test_webhook_bridges_the_caller_to_the_agent_with_the_caller_id(hooked: Api) -> None:
    c, lead, (sato,) = _floor(hooked, "Sato")
    r = _incoming(hooked, _params("CA" + "1" * 32))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert f'<Dial answerOnBridge="true" callerId="{CALLER_ID}"' in r.text
    assert "<Client>sato</Client>" in r.text and "<Say" not in r.text
    # Twilio retries a webhook: the same answer, nothing done twice.
    again = _incoming(hooked, _params("CA" + "1" * 32))
    assert again.text == r.text
    items = hooked.get(f"/api/campaigns/{c['id']}/incoming").json()["items"]
    assert len(items) == 1 and items[0]["provider"] == "twilio"
    assert items[0]["provider_sid"] == "CA" + "1" * 32 and items[0]["lead_id"] == lead["id"]
    assert hooked.next(sato).json()["lead"]["id"] == lead["id"]


def test_webhook_nobody_free_says_the_campaign_message(hooked: Api) -> None:
    c, lead, (sato,) = _floor(hooked, "Sato")
    _state(hooked, sato, "paused")
    r = _incoming(hooked, _params("CA" + "2" * 32))
    assert r.status_code == 200
    # Read in the campaign's voice (its default).
    assert '<Say language="ja-JP" voice="Polly.Mizuki">' in r.text
    assert "東京電力切替キャンペーン" in r.text
    assert "<Hangup />" in r.text and "<Dial" not in r.text
    items = hooked.get(f"/api/campaigns/{c['id']}/incoming").json()["items"]
    assert items[0]["routed_to"] == "nobody" and items[0]["promise_id"] is not None
    assert hooked.get(f"/api/leads/{lead['id']}").json()["promises"][0]["made_by"] == "customer"


def test_webhook_refuses_a_bad_signature_and_answers_unknown_numbers(hooked: Api) -> None:
    c, _lead, _agents = _floor(hooked, "Sato")
    params = _params("CA" + "3" * 32)
    expect_error(_incoming(hooked, params, signature="AAAA"), 403, "bad_signature")
    r = hooked.client.post(
        "/webhooks/twilio/incoming",
        content=urlencode(params),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    expect_error(r, 403, "bad_signature")
    assert hooked.get(f"/api/campaigns/{c['id']}/incoming").json()["items"] == []
    # A number no campaign uses: answered politely, nothing recorded.
    r = _incoming(hooked, _params("CA" + "4" * 32, to="+81399999999"))
    assert r.status_code == 200 and "<Say" in r.text and "<Hangup />" in r.text
    assert hooked.get(f"/api/campaigns/{c['id']}/incoming").json()["items"] == []

