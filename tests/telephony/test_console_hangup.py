"""Hanging up from the console in twilio mode: Twilio is asked after the commit
(`canceled` for a ringing call, `completed` for an answered one), and its status
callback ends the call as usual."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fake_twilio import FakeTwilio
from helpers import LiveServer, live_twilio, ringing_call

ACCOUNT = "AC" + "3" * 32
TOKEN = "console-hangup-test-token"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(account_sid=ACCOUNT, auth_token=TOKEN) as server:
        yield server


@pytest.fixture
def live(db_url: str, fake: FakeTwilio) -> Iterator[LiveServer]:
    server = live_twilio(db_url, account=ACCOUNT, token=TOKEN, api_base=fake.base_url)
    try:
        yield server
    finally:
        server.close()


def _ringing(live: LiveServer, fake: FakeTwilio) -> tuple[dict[str, str], dict[str, Any]]:
    _c, agent, call = ringing_call(live, fake, phone="090-4800-0001", name="Hang up")
    return {"Authorization": f"Bearer {agent['token']}"}, call


def test_a_ringing_call_is_canceled_at_twilio(live: LiveServer, fake: FakeTwilio) -> None:
    auth, call = _ringing(live, fake)
    r = live.http.post(f"/api/calls/{call['id']}/hangup", headers=auth)
    assert r.status_code == 200, r.text
    # Asked, not yet told: the call is live until Twilio's callback.
    assert r.json()["status"] == "ringing"
    assert fake.calls[call["provider_sid"]]["status"] == "canceled"
    assert fake.send_status(call["provider_sid"], "canceled").status_code == 204
    got = live.http.get(f"/api/calls/{call['id']}").json()
    assert got["status"] == "canceled" and got["disposition"] == "no_answer"
    lead = live.http.get(f"/api/leads/{call['lead_id']}").json()
    kinds = [e["kind"] for e in lead["events"]]
    assert kinds.index("hangup_requested") < kinds.index("disposition")
    r = live.http.post(f"/api/calls/{call['id']}/hangup", headers=auth)
    assert r.status_code == 409 and r.json()["code"] == "call_not_live"


def test_an_answered_call_is_completed_at_twilio(live: LiveServer, fake: FakeTwilio) -> None:
    auth, call = _ringing(live, fake)
    assert fake.send_status(call["provider_sid"], "in-progress").status_code == 204
    r = live.http.post(f"/api/calls/{call['id']}/hangup", headers=auth)
    assert r.status_code == 200, r.text
    assert fake.calls[call["provider_sid"]]["status"] == "completed"
    assert fake.send_status(call["provider_sid"], "completed", duration=30).status_code == 204
    got = live.http.get(f"/api/calls/{call['id']}").json()
    assert got["status"] == "completed" and got["disposition"] is None
    r = live.http.post(
        f"/api/calls/{call['id']}/disposition", headers=auth, json={"outcome": "not_interested"}
    )
    assert r.status_code == 200, r.text
