"""The Twilio voice webhook of an unreserved (predictive) call: bridged to the
longest-waiting agent at once, or the customer held in silence and asked about
again every second until `connect_seconds`, then the campaign's message and the
call abandoned."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from helpers import Api, make_settings
from twilio.request_validator import RequestValidator

from dialer.app import create_app
from dialer.calls.pacer import PacerDecision, PacerInputs, PacerMode

TOKEN = "webhook-test-auth-token"
PUBLIC = "https://dialer.example.com"


def _one_call_then_none() -> Any:
    plan = [1]

    def pacer(inputs: PacerInputs) -> PacerDecision:
        calls = plan.pop() if plan else 0
        return PacerDecision(calls, PacerMode.predictive, 0.0, "fixed by the test")

    return pacer


@pytest.fixture
def hooked(db_url: str) -> Iterator[Api]:
    settings = make_settings(db_url, TWILIO_AUTH_TOKEN=TOKEN, DIALER_PUBLIC_URL=PUBLIC)
    with TestClient(create_app(settings)) as client:
        client.app.state.runtime.pacer = _one_call_then_none()  # type: ignore[attr-defined]
        yield Api(client)


def _post(api: Api, path: str, params: dict[str, str]) -> Any:
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + path, params)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
    }
    return api.client.post(path, content=urlencode(params), headers=headers)


def _ringing(api: Api, *, available: bool, **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A predictive campaign, one agent, and one unreserved call the dialer placed
    (ringing: the simulated provider was told nobody answers)."""
    c = api.campaign(
        dial_mode="predictive", caller_id="+81312345678", seller_name="関東でんき", **fields
    )
    api.import_csv(c["id"], "name,phone\nYamada,090-4444-0001\n")
    api.post("/api/admin/sim/outcomes", json={"phone": "090-4444-0001", "outcomes": ["no-answer"]})
    agent = api.agent([c["id"]])
    if not available:
        r = api.put(
            f"/api/agents/{agent['id']}/state",
            token=agent["token"],
            json={"state": "paused", "pause_code": "休憩"},
        )
        assert r.status_code == 200, r.text
    api.advance(1)
    [call] = api.get("/api/calls", params={"campaign_id": c["id"]}).json()["items"]
    assert call["agent_reserved"] is False and call["status"] == "ringing"
    return call, agent


def _voice(api: Api, call: dict[str, Any], held: int | None = None) -> list[ElementTree.Element]:
    path = f"/webhooks/twilio/voice?call={call['id']}"
    if held is not None:
        path += f"&held={held}"
    params = {
        "CallSid": call["provider_sid"],
        "AccountSid": "AC" + "0" * 32,
        "CallStatus": "in-progress",
    }
    r = _post(api, path, params)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    return list(ElementTree.fromstring(r.text))


def test_an_answered_unreserved_call_is_bridged_to_the_waiting_agent(hooked: Api) -> None:
    call, agent = _ringing(hooked, available=True)
    [dial] = _voice(hooked, call)
    assert dial.tag == "Dial" and dial.findtext("Client") == "sato"
    assert dial.attrib["action"] == f"dial?call={call['id']}"
    got = hooked.get(f"/api/calls/{call['id']}").json()
    assert got["agent_id"] == agent["id"] and got["connected_at"] is not None
    assert got["answered_at"] is not None and got["connect_by_at"] is None
    kinds = [e["kind"] for e in hooked.get(f"/api/leads/{call['lead_id']}").json()["events"]]
    assert "call_connected" in kinds
    # Asked again (a retried webhook): the same agent, nothing twice.
    [again] = _voice(hooked, call)
    assert again.findtext("Client") == "sato"
    kinds = [e["kind"] for e in hooked.get(f"/api/leads/{call['lead_id']}").json()["events"]]
    assert kinds.count("call_connected") == 1


def test_the_customer_is_held_until_an_agent_frees_up(hooked: Api) -> None:
    call, agent = _ringing(hooked, available=False)
    pause, redirect = _voice(hooked, call)
    assert pause.tag == "Pause" and pause.attrib["length"] == "1"
    assert redirect.tag == "Redirect" and redirect.text == f"voice?call={call['id']}&held=1"
    got = hooked.get(f"/api/calls/{call['id']}").json()
    assert got["agent_id"] is None and got["connect_by_at"] is not None
    r = hooked.put(f"/api/agents/{agent['id']}/state", token=agent["token"],
                   json={"state": "available"})  # fmt: skip
    assert r.status_code == 200, r.text
    [dial] = _voice(hooked, call, held=1)
    assert dial.tag == "Dial" and dial.findtext("Client") == "sato"
    got = hooked.get(f"/api/calls/{call['id']}").json()
    assert got["agent_id"] == agent["id"] and got["disposition"] is None


def test_nobody_within_connect_seconds_hears_the_message_and_is_abandoned(hooked: Api) -> None:
    call, _agent = _ringing(hooked, available=False, abandon_policy={"connect_seconds": 2})
    assert [v.tag for v in _voice(hooked, call)] == ["Pause", "Redirect"]
    assert [v.tag for v in _voice(hooked, call, held=1)] == ["Pause", "Redirect"]
    say, hangup = _voice(hooked, call, held=2)
    assert say.tag == "Say" and hangup.tag == "Hangup"
    assert say.text is not None and "関東でんき" in say.text
    got = hooked.get(f"/api/calls/{call['id']}").json()
    assert got["disposition"] == "abandoned" and got["connect_by_at"] is None
    lead = hooked.get(f"/api/leads/{call['lead_id']}").json()
    [abandoned] = [e for e in lead["events"] if e["kind"] == "call_abandoned"]
    assert abandoned["detail"]["message"] == say.text
    assert abandoned["detail"]["why"] == "no agent free within 2 s"
    # Asked again: the message again, nothing recorded twice.
    assert [v.tag for v in _voice(hooked, call, held=3)] == ["Say", "Hangup"]
    lead = hooked.get(f"/api/leads/{call['lead_id']}").json()
    assert [e["kind"] for e in lead["events"]].count("call_abandoned") == 1
