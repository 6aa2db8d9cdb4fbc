"""Twilio webhooks in the app: signatures, ordering, AMD, TwiML; and progressive
dialing end to end on the simulated clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from helpers import Api, expect_error, make_settings
from twilio.request_validator import RequestValidator

from dialer.app import create_app

TOKEN = "webhook-test-auth-token"
PUBLIC = "https://dialer.example.com"


@pytest.fixture
def hooked(db_url: str) -> Iterator[Api]:
    settings = make_settings(db_url, TWILIO_AUTH_TOKEN=TOKEN, DIALER_PUBLIC_URL=PUBLIC)
    with TestClient(create_app(settings)) as client:
        yield Api(client)


def _sign(path: str, params: dict[str, str]) -> str:
    return str(RequestValidator(TOKEN).compute_signature(PUBLIC + path, params))


def _post(api: Api, path: str, params: dict[str, str], *, signature: str | None = "sign") -> Any:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature == "sign":
        headers["X-Twilio-Signature"] = _sign(path, params)
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    return api.client.post(path, content=urlencode(params), headers=headers)


def _ringing_call(api: Api, **campaign: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    c = api.campaign(**campaign)
    api.import_csv(c["id"], "name,phone\nYamada,090-4444-0001\n")
    agent = api.agent([c["id"]])
    lead = api.next(agent).json()["lead"]
    api.post("/api/admin/sim/outcomes", json={"phone": "090-4444-0001", "outcomes": ["no-answer"]})
    call = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={}).json()
    return call, agent


def _status(call: dict[str, Any], status: str, seq: int, **extra: str) -> dict[str, str]:
    return {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": call["provider_sid"],
        "CallStatus": status,
        "SequenceNumber": str(seq),
        "From": "+81312345678",
        "To": call["to"],
        "Direction": "outbound-api",
        "ApiVersion": "2010-04-01",
        "CallerName": "",  # blank values are signed too
        **extra,
    }


def test_signature_is_required_and_checked(hooked: Api) -> None:
    call, _agent = _ringing_call(hooked)
    path = f"/webhooks/twilio/status?call={call['id']}"
    params = _status(call, "in-progress", 1, AnsweredBy="human")
    expect_error(_post(hooked, path, params, signature=None), 403, "bad_signature")
    expect_error(_post(hooked, path, params, signature="AAAA" + _sign(path, params)[4:]), 403)
    # Signed for another URL (the query is part of it), or with a blank value dropped.
    forged = _sign(f"/webhooks/twilio/status?call={call['id'] + 1}", params)
    expect_error(_post(hooked, path, params, signature=forged), 403)
    without_blank = {k: v for k, v in params.items() if v != ""}
    expect_error(_post(hooked, path, params, signature=_sign(path, without_blank)), 403)
    assert hooked.get(f"/api/calls/{call['id']}").json()["status"] == "ringing"
    r = _post(hooked, path, params)
    assert r.status_code == 204, r.text
    assert hooked.get(f"/api/calls/{call['id']}").json()["status"] == "in-progress"


def test_repeated_and_late_callbacks_change_nothing(hooked: Api) -> None:
    call, _agent = _ringing_call(hooked)
    path = f"/webhooks/twilio/status?call={call['id']}"
    assert _post(hooked, path, _status(call, "in-progress", 2, AnsweredBy="human")).status_code == 204
    # Late: "ringing" with a lower sequence number; repeated: the same again.
    assert _post(hooked, path, _status(call, "ringing", 1)).status_code == 204
    assert _post(hooked, path, _status(call, "in-progress", 2, AnsweredBy="human")).status_code == 204
    got = hooked.get(f"/api/calls/{call['id']}").json()
    assert got["status"] == "in-progress" and got["answered_by"] == "human"
    done = _status(call, "completed", 3, CallDuration="42")
    assert _post(hooked, path, done).status_code == 204
    assert _post(hooked, path, done).status_code == 204
    got = hooked.get(f"/api/calls/{call['id']}").json()
    assert got["status"] == "completed" and got["duration"] == 42
    events = hooked.get(f"/api/leads/{call['lead_id']}").json()["events"]
    assert [e["detail"]["status"] for e in events if e["kind"] == "call_status"] == [
        "ringing",
        "in-progress",
        "completed",
    ]


def test_unknown_call_is_404(hooked: Api) -> None:
    call, _agent = _ringing_call(hooked)
    params = _status(call, "ringing", 1)
    params["CallSid"] = "CA" + "f" * 32
    expect_error(_post(hooked, "/webhooks/twilio/status", params), 404, "unknown_call")
    expect_error(_post(hooked, "/webhooks/twilio/status?call=999999", params), 404)


def test_machine_answers_become_machine(hooked: Api) -> None:
    call, _agent = _ringing_call(hooked)
    path = f"/webhooks/twilio/status?call={call['id']}"
    _post(hooked, path, _status(call, "in-progress", 1, AnsweredBy="machine_end_beep"))
    _post(hooked, path, _status(call, "completed", 2))
    got = hooked.get(f"/api/calls/{call['id']}").json()
    assert got["answered_by"] == "machine" and got["disposition"] == "machine"
    # Async AMD on another call: fax is a machine too.
    second, agent = _ringing_call(hooked)
    amd = f"/webhooks/twilio/amd?call={second['id']}"
    r = _post(hooked, amd, {"CallSid": second["provider_sid"], "AnsweredBy": "fax",
                            "AccountSid": "AC" + "0" * 32})  # fmt: skip
    assert r.status_code == 204
    assert hooked.get(f"/api/calls/{second['id']}").json()["answered_by"] == "machine"
    _ = agent


def test_voice_bridges_to_the_agent_or_apologises(hooked: Api) -> None:
    call, agent = _ringing_call(hooked, caller_id="+81312345678")
    path = f"/webhooks/twilio/voice?call={call['id']}"
    params = {"CallSid": call["provider_sid"], "AccountSid": "AC" + "0" * 32, "CallStatus": "in-progress"}
    r = _post(hooked, path, params)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    dial = ElementTree.fromstring(r.text).find("Dial")
    assert dial is not None and dial.findtext("Client") == "sato"
    assert dial.attrib["callerId"] == "+81312345678" and dial.attrib["answerOnBridge"] == "true"
    # The agent leg rings for its own timeout and reports to the dial webhook.
    assert dial.attrib["timeout"] == "15"
    assert dial.attrib["action"] == f"dial?call={call['id']}" and dial.attrib["method"] == "POST"
    hooked.put(f"/api/agents/{agent['id']}/state", token=agent["token"], json={"state": "offline"})
    r = _post(hooked, path, params)
    verbs = [v.tag for v in ElementTree.fromstring(r.text)]
    assert verbs == ["Say", "Hangup"]
    got = hooked.get(f"/api/calls/{call['id']}").json()
    assert got["disposition"] == "abandoned"
    lead = hooked.get(f"/api/leads/{call['lead_id']}").json()
    assert lead["status"] == "scheduled"
    assert "call_abandoned" in [e["kind"] for e in lead["events"]]


def test_progressive_dialing_three_agents_ten_leads(api: Api) -> None:
    """The dialer places one call per free agent, each for a lead already claimed
    for that agent; agents only talk and record outcomes."""
    c = api.campaign(dial_mode="progressive")
    rows = "".join(f"L{i},090-4500-{i:04d}\n" for i in range(10))
    api.import_csv(c["id"], "name,phone\n" + rows)
    for i in range(10):
        outcome = "answered" if i % 2 == 0 else "no-answer"
        api.post("/api/admin/sim/outcomes", json={"phone": f"090-4500-{i:04d}", "outcomes": [outcome]})
    agents = [api.agent([c["id"]], name=n) for n in ("Sato", "Suzuki", "Tanaka")]
    handled: list[int] = []
    for _round in range(20):
        api.advance(30)
        for agent in agents:
            held = api.next(agent)
            if held.status_code != 200:
                continue
            lead = held.json()["lead"]
            calls = api.get(f"/api/leads/{lead['id']}").json()["calls"]
            live = [x for x in calls if x["disposition"] is None]
            assert len(live) == 1, "the dialer placed the call, exactly one"
            assert live[0]["agent_id"] == agent["id"]
            if live[0]["status"] == "in-progress":
                r = api.post(f"/api/calls/{live[0]['id']}/disposition", token=agent["token"],
                             json={"outcome": "not_interested"})  # fmt: skip
                assert r.status_code == 200
                handled.append(lead["id"])
    calls = [
        call
        for lead in api.get(f"/api/campaigns/{c['id']}/leads?limit=100").json()["items"]
        for call in api.get(f"/api/leads/{lead['id']}").json()["calls"]
    ]
    assert len({x["lead_id"] for x in calls}) == 10
    assert len(handled) == 5
    # Never more calls at once than agents: each call was placed for a claim.
    first_round = sorted(x["created_at"] for x in calls)[:3]
    assert len(set(first_round)) == 1
