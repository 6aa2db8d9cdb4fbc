"""Every row of the provider error table (dialer.telephony.faults) through the
real adapter: the app in twilio mode over real HTTP, the official SDK, and the
local Twilio-compatible server refusing creates to a number with Twilio's
error body ({code, message, more_info, status})."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fake_twilio import FakeTwilio
from helpers import LiveServer, live_twilio

from dialer.calls.progressive import dial_round
from dialer.telephony.faults import FAULTS, FaultAction

ACCOUNT = "AC" + "2" * 32
TOKEN = "faults-test-token"
LEAD_PHONE = "+819046000000"
MANAGER_PHONE = "+819012345678"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(account_sid=ACCOUNT, auth_token=TOKEN) as server:
        yield server


def _serve(db_url: str, fake: FakeTwilio, *, token: str = TOKEN) -> LiveServer:
    server: LiveServer = live_twilio(db_url, account=ACCOUNT, token=token, api_base=fake.base_url)
    return server


@pytest.fixture
def live(db_url: str, fake: FakeTwilio) -> Iterator[LiveServer]:
    server = _serve(db_url, fake)
    try:
        yield server
    finally:
        server.close()


def _floor(
    live: LiveServer, *, name: str = "Faults", phones: int = 1
) -> tuple[dict[str, Any], dict[str, Any]]:
    c = live.http.post("/api/campaigns", json={"name": name, "caller_id": "+81312345678"}).json()
    numbers = ",".join(f"090-4600-{k:04d}" for k in range(phones))
    header = "name," + ",".join(f"phone{k + 1}" if k else "phone" for k in range(phones))
    files = {"file": ("l.csv", f"{header}\nL0,{numbers}\n".encode(), "text/csv")}
    assert live.http.post(f"/api/campaigns/{c['id']}/imports", files=files).status_code == 201
    agent = live.http.post(
        "/api/agents",
        json={"name": f"A-{name}", "campaign_ids": [c["id"]], "endpoint": "client:a0"},
    ).json()
    return c, agent


def _dial(live: LiveServer, agent: dict[str, Any]) -> httpx.Response:
    auth = {"Authorization": f"Bearer {agent['token']}"}
    got = live.http.post(f"/api/agents/{agent['id']}/next", headers=auth).json()
    assert got["lead"] is not None, got
    return live.http.post(f"/api/leads/{got['lead']['id']}/calls", headers=auth, json={})


def _progressive_round(live: LiveServer) -> list[int]:
    """One progressive round, each call dialled before the next (no threads)."""
    rt = live.runtime
    return dial_round(
        rt.db,
        telephony=rt.telephony,
        now_in=rt.now_in,
        claim_ttl=rt.claim_ttl,
        dial=rt.dial_now,
        failing=rt.progressive_failing,
    )


def _lead(live: LiveServer, lead_id: int) -> dict[str, Any]:
    return live.http.get(f"/api/leads/{lead_id}").json()  # type: ignore[no-any-return]


def _kinds(lead: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in lead["events"]]


def _status_of(code: int) -> int:
    return {20003: 401, 20404: 404, 20429: 429}.get(code, 400)


ROWS = sorted(FAULTS.values(), key=lambda f: f.provider_code or 0)


@pytest.mark.parametrize("fault", ROWS, ids=[str(f.provider_code) for f in ROWS])
def test_every_row_of_the_error_table(live: LiveServer, fake: FakeTwilio, fault: Any) -> None:
    c, agent = _floor(live)
    assert fault.provider_code is not None
    # Retry-After 0: the rate limit's own retries go by at once.
    fake.refuse_to(
        LEAD_PHONE,
        code=fault.provider_code,
        status=_status_of(fault.provider_code),
        retry_after=0 if fault.action == FaultAction.requeue else None,
    )
    r = _dial(live, agent)
    assert r.status_code == 201, r.text
    call = live.http.get(f"/api/calls/{r.json()['id']}").json()
    assert call["status"] == "failed" and call["provider_sid"] is None
    assert all(a.status_code == _status_of(fault.provider_code) for a in fake.creates)
    assert not fake.calls
    lead = _lead(live, call["lead_id"])
    campaign = live.http.get(f"/api/campaigns/{c['id']}").json()
    health = live.http.get("/healthz").json()
    metrics = live.http.get("/metrics").text

    if fault.action == FaultAction.requeue:
        assert len(fake.creates) == 5  # the adapter's own retries, then it gives up
    else:
        assert len(fake.creates) == 1  # a refusal is never retried

    if fault.action == FaultAction.fail_attempt:
        pytest.fail("no row of the table fails the attempt")
    if fault.action == FaultAction.retire_phone:
        # Like an agent's `wrong_number`: the phone is retired; the only one, so
        # the lead closes as invalid. Nobody was called: no attempt counts.
        assert lead["phones"] == [{"number": LEAD_PHONE, "retired": True}]
        assert lead["status"] == "invalid" and lead["attempts"] == 0
        assert "phone_retired" in _kinds(lead) and "attempt_refunded" in _kinds(lead)
        assert campaign["dialing_blocked"] is None
        assert health["dialing"] == {"status": "ok", "blocks": []}
        return
    # The lead is back where it was before its claim, no attempt counted.
    assert lead["status"] == "new" and lead["attempts"] == 0, lead
    assert {"call_not_placed", "attempt_refunded", "claim_released"} <= set(_kinds(lead))
    assert lead["phones"] == [{"number": LEAD_PHONE, "retired": False}]
    if fault.action == FaultAction.requeue:
        assert campaign["dialing_blocked"] is None
        assert health["dialing"]["status"] == "ok"
        return

    block = campaign["dialing_blocked"]
    scope = "account" if fault.action == FaultAction.block_account else "campaign"
    assert block["scope"] == scope and block["code"] == fault.code
    assert block["provider_code"] == fault.provider_code and block["call_id"] == call["id"]
    assert block["since"].endswith("+09:00")  # the campaign's zone
    assert health["status"] == "degraded" and health["dialing"]["status"] == "blocked"
    (shown,) = health["dialing"]["blocks"]
    assert shown["code"] == fault.code
    assert shown["campaign_id"] == (None if scope == "account" else c["id"])
    assert f'code="{fault.code}",scope="{scope}"' in metrics
    # Blocked: the next dial is refused with the block's code, nothing is sent.
    again = _dial(live, agent)
    assert again.status_code == 409 and again.json()["code"] == fault.code, again.text
    assert again.json()["dialing_blocked"]["scope"] == scope
    sent = len(fake.creates)
    # A manager lifts it; dialing resumes.
    fake.allow(LEAD_PHONE)
    if scope == "account":
        assert live.http.delete("/api/account/dialing-block").status_code == 204
    else:
        cleared = live.http.delete(f"/api/campaigns/{c['id']}/dialing-block")
        assert cleared.status_code == 200 and cleared.json()["dialing_blocked"] is None
    assert live.http.get(f"/api/campaigns/{c['id']}").json()["dialing_blocked"] is None
    assert "dialer_dialing_blocked{" not in live.http.get("/metrics").text
    auth = {"Authorization": f"Bearer {agent['token']}"}
    resumed = live.http.post(f"/api/leads/{lead['id']}/calls", headers=auth, json={})
    assert resumed.status_code == 201, resumed.text
    assert resumed.json()["provider_sid"] is not None and len(fake.creates) == sent + 1
    assert _lead(live, lead["id"])["attempts"] == 1


def test_an_unknown_refusal_fails_the_attempt_as_before(live: LiveServer, fake: FakeTwilio) -> None:
    c, agent = _floor(live)
    fake.refuse_to(LEAD_PHONE, code=21220, message="Invalid call state")
    call = _dial(live, agent).json()
    got = live.http.get(f"/api/calls/{call['id']}").json()
    assert got["status"] == "failed" and got["disposition"] == "failed"
    lead = _lead(live, call["lead_id"])
    assert lead["status"] == "scheduled" and lead["attempts"] == 1
    assert live.http.get(f"/api/campaigns/{c['id']}").json()["dialing_blocked"] is None


def test_wrong_credentials_block_every_campaign(db_url: str, fake: FakeTwilio) -> None:
    """20003 as Twilio really sends it: the adapter's auth token is not the
    account's. Every campaign stops, also from progressive dialing."""
    server = _serve(db_url, fake, token="not-the-token")
    try:
        _c, agent = _floor(server)
        other, _agent2 = _floor(server, name="Other")
        call = _dial(server, agent).json()
        assert [a.status_code for a in fake.creates] == [401]
        block = server.http.get(f"/api/campaigns/{other['id']}").json()["dialing_blocked"]
        assert block["scope"] == "account" and block["code"] == "provider_auth_failed"
        assert block["call_id"] == call["id"]
        listed = server.http.get("/api/campaigns").json()["items"]
        assert {x["dialing_blocked"]["code"] for x in listed} == {"provider_auth_failed"}
        # Progressive dialing places nothing while the account is blocked.
        server.http.patch(f"/api/campaigns/{other['id']}", json={"dial_mode": "progressive"})
        assert _progressive_round(server) == []
        assert len(fake.creates) == 1
    finally:
        server.close()


def test_a_campaign_block_stops_only_that_campaign(live: LiveServer, fake: FakeTwilio) -> None:
    c, agent = _floor(live)
    other, agent2 = _floor(live, name="Other")
    fake.refuse_to(LEAD_PHONE, code=21210)
    _dial(live, agent)
    assert live.http.get(f"/api/campaigns/{c['id']}").json()["dialing_blocked"]["code"] == (
        "caller_id_unverified"
    )
    assert live.http.get(f"/api/campaigns/{other['id']}").json()["dialing_blocked"] is None
    # Progressive: the blocked campaign is skipped, the other dialled.
    for campaign in (c, other):
        live.http.patch(f"/api/campaigns/{campaign['id']}", json={"dial_mode": "progressive"})
    fake.allow(LEAD_PHONE)
    placed = _progressive_round(live)
    assert len(placed) == 1
    got = live.http.get(f"/api/calls/{placed[0]}").json()
    assert got["agent_id"] == agent2["id"]


def test_a_test_call_lifts_the_blocks(live: LiveServer, fake: FakeTwilio) -> None:
    c, agent = _floor(live)
    fake.refuse_to(LEAD_PHONE, code=21215)
    _dial(live, agent)
    assert live.http.get(f"/api/campaigns/{c['id']}").json()["dialing_blocked"] is not None
    # Still refused: the test call says so, and the block stands.
    fake.refuse_to(MANAGER_PHONE, code=21215)
    r = live.http.post(f"/api/campaigns/{c['id']}/test-call", json={"to": "090-1234-5678"})
    assert r.status_code == 409 and r.json()["code"] == "geo_permission_denied", r.text
    assert live.http.get(f"/api/campaigns/{c['id']}").json()["dialing_blocked"] is not None
    # An invalid number is the manager's typo, not a fault of the set-up.
    fake.refuse_to(MANAGER_PHONE, code=21211)
    r = live.http.post(f"/api/campaigns/{c['id']}/test-call", json={"to": MANAGER_PHONE})
    assert r.status_code == 422 and r.json()["field"] == "to", r.text
    # Fixed at Twilio: the test call goes through and lifts the block.
    fake.allow(MANAGER_PHONE)
    r = live.http.post(f"/api/campaigns/{c['id']}/test-call", json={"to": MANAGER_PHONE})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["to"] == MANAGER_PHONE and body["provider_sid"] in fake.calls
    assert [b["code"] for b in body["cleared"]] == ["geo_permission_denied"]
    params = fake.creates[-1].params
    assert params["From"] == ["+81312345678"] and "<Say>" in params["Twiml"][0]
    assert live.http.get(f"/api/campaigns/{c['id']}").json()["dialing_blocked"] is None
    assert live.http.get("/healthz").json()["dialing"] == {"status": "ok", "blocks": []}


def test_test_call_input_is_bounded(live: LiveServer) -> None:
    c, _agent = _floor(live)
    for body in ({"to": ""}, {"to": "1" * 33}, {}, {"to": "+81", "x": 1}):
        r = live.http.post(f"/api/campaigns/{c['id']}/test-call", json=body)
        assert r.status_code == 422, (body, r.text)
    r = live.http.post(f"/api/campaigns/{c['id']}/test-call", json={"to": "not a phone"})
    assert r.status_code == 422 and r.json()["field"] == "to"
    assert (
        live.http.post("/api/campaigns/999/test-call", json={"to": MANAGER_PHONE}).status_code
        == 404
    )
    assert live.http.delete("/api/campaigns/999/dialing-block").status_code == 404


def test_the_fake_refuses_in_twilios_error_shape(fake: FakeTwilio) -> None:
    fake.refuse_to(LEAD_PHONE, code=21219)
    r = httpx.post(
        f"{fake.base_url}/2010-04-01/Accounts/{ACCOUNT}/Calls.json",
        auth=(ACCOUNT, TOKEN),
        data={"To": LEAD_PHONE, "From": "+81312345678", "Url": "https://example.com/v"},
    )
    assert r.status_code == 400
    assert r.json() == {
        "code": 21219,
        "message": "The number is unverified. Trial accounts may only make calls to verified "
        "numbers.",
        "more_info": "https://www.twilio.com/docs/errors/21219",
        "status": 400,
    }
    fake.allow(LEAD_PHONE)
    assert (
        httpx.post(
            f"{fake.base_url}/2010-04-01/Accounts/{ACCOUNT}/Calls.json",
            auth=(ACCOUNT, TOKEN),
            data={"To": LEAD_PHONE, "From": "+81312345678", "Url": "https://example.com/v"},
        ).status_code
        == 201
    )


def test_a_create_waiting_for_its_slot_is_held_back_by_a_new_block(
    live: LiveServer, fake: FakeTwilio
) -> None:
    """Two dials at once at 1 call per second: the first is refused (caller id
    unverified) and blocks the campaign while the second waits for its slot;
    the second is then never sent, and costs its lead nothing either."""
    c = live.http.post("/api/campaigns", json={"name": "Pair", "caller_id": "+81312345678"}).json()
    rows = "".join(f"L{i},090-4600-{i:04d}\n" for i in range(2))
    files = {"file": ("l.csv", ("name,phone\n" + rows).encode(), "text/csv")}
    assert live.http.post(f"/api/campaigns/{c['id']}/imports", files=files).status_code == 201
    leads = []
    for k in range(2):
        agent = live.http.post(
            "/api/agents",
            json={"name": f"P{k}", "campaign_ids": [c["id"]], "endpoint": f"client:p{k}"},
        ).json()
        auth = {"Authorization": f"Bearer {agent['token']}"}
        lead = live.http.post(f"/api/agents/{agent['id']}/next", headers=auth).json()["lead"]
        leads.append((lead["id"], auth))
    for k in range(2):
        fake.refuse_to(f"+81904600{k:04d}", code=21210)
    answers: list[int] = []

    def dial(lead_id: int, auth: dict[str, str]) -> None:
        r = httpx.post(f"{live.url}/api/leads/{lead_id}/calls", headers=auth, json={}, timeout=30)
        answers.append(r.status_code)

    threads = [threading.Thread(target=dial, args=pair) for pair in leads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [201, 201]
    assert len(fake.creates) == 1, "the second create was held back, not sent"
    for lead_id, _auth in leads:
        lead = _lead(live, lead_id)
        assert lead["status"] == "new" and lead["attempts"] == 0, lead
        assert "call_not_placed" in _kinds(lead)


def test_a_promise_call_refused_by_a_fault_is_followed_up_not_kept(
    live: LiveServer, fake: FakeTwilio
) -> None:
    """Refused by a fault, a promise's call reached nobody: its owner tries
    again (the promise's follow-up, as after a call nobody answered), and
    neither the attempt nor a failure counts."""
    _c, agent = _floor(live)
    auth = {"Authorization": f"Bearer {agent['token']}"}
    first = _dial(live, agent).json()
    assert fake.send_status(first["provider_sid"], "in-progress").status_code == 204
    r = live.http.post(
        f"/api/calls/{first['id']}/disposition",
        headers=auth,
        json={"outcome": "callback", "promise": {"in_minutes": 10}},
    )
    assert r.status_code == 200, r.text
    live.http.post("/api/admin/clock", json={"advance_seconds": 600})
    before = _lead(live, first["lead_id"])
    fake.refuse_to(LEAD_PHONE, code=21210)
    got = live.http.post(f"/api/agents/{agent['id']}/next", headers=auth).json()
    assert got["lead"]["id"] == first["lead_id"] and got["reason"] == "promise", got
    r = live.http.post(f"/api/leads/{first['lead_id']}/calls", headers=auth, json={})
    assert r.status_code == 201, r.text
    lead = _lead(live, first["lead_id"])
    assert lead["attempts"] == before["attempts"] == 1
    assert lead["status"] == "scheduled" and lead["reserved_agent_id"] == agent["id"]
    assert lead["next_attempt_at"] > before["next_attempt_at"]  # the follow-up's delay
    kinds = _kinds(lead)
    assert kinds.index("promise_follow_up_scheduled") > kinds.index("call_not_placed")
    assert lead["last_outcome"] == before["last_outcome"]  # no failure recorded
