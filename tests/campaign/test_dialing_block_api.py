"""A dialing block as the API shows and lifts it, under simulated telephony
(the blocks themselves come from Twilio's refusals: tests/telephony/test_twilio_faults.py)."""

from __future__ import annotations

from helpers import Api, block_dialing, expect_error

from dialer.telephony.faults import FAULTS


def _block(api: Api, *, provider_code: int, campaign_id: int) -> None:
    db = api.client.app.state.runtime.db  # type: ignore[attr-defined]
    block_dialing(db, provider_code=provider_code, campaign_id=campaign_id)


def test_a_blocked_campaign_is_shown_refused_and_lifted(api: Api) -> None:
    c = api.campaign(caller_id="+81312345678")
    other = api.campaign(caller_id="+81312345679")
    agent = api.agent([c["id"]])
    assert api.import_csv(c["id"], "name,phone\nA,090-4600-0001\n").status_code == 201
    _block(api, provider_code=21210, campaign_id=c["id"])

    shown = api.get(f"/api/campaigns/{c['id']}").json()["dialing_blocked"]
    assert shown == {
        "scope": "campaign",
        "code": "caller_id_unverified",
        "provider_code": 21210,
        "detail": FAULTS[21210].meaning,
        "call_id": None,
        "since": "2026-12-01T10:00:00+09:00",
    }
    listed = {x["id"]: x["dialing_blocked"] for x in api.get("/api/campaigns").json()["items"]}
    assert listed[c["id"]] == shown and listed[other["id"]] is None
    # Its agent reads it too.
    mine = api.get(f"/api/campaigns/{c['id']}", token=agent["token"]).json()
    assert mine["dialing_blocked"]["code"] == "caller_id_unverified"
    health = api.get("/healthz").json()
    assert health["status"] == "degraded" and health["dialing"]["status"] == "blocked"
    assert health["dialing"]["blocks"][0]["since"] == "2026-12-01T01:00:00+00:00"

    lead = api.next(agent).json()["lead"]
    r = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={})
    body = expect_error(r, 409, "caller_id_unverified")
    assert body["dialing_blocked"]["since"] == "2026-12-01T10:00:00+09:00"
    assert api.get(f"/api/leads/{lead['id']}").json()["attempts"] == 0  # nothing written

    # Managers only.
    expect_error(api.delete(f"/api/campaigns/{c['id']}/dialing-block", token=agent["token"]), 403)
    expect_error(
        api.post(f"/api/campaigns/{c['id']}/test-call", token=agent["token"],
                 json={"to": "090-1234-5678"}),
        403,
    )  # fmt: skip
    expect_error(api.delete("/api/account/dialing-block", token=agent["token"]), 403)

    r = api.delete(f"/api/campaigns/{c['id']}/dialing-block")
    assert r.status_code == 200 and r.json()["dialing_blocked"] is None
    assert api.delete(f"/api/campaigns/{c['id']}/dialing-block").status_code == 200  # again: same
    assert (
        api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={}).status_code == 201
    )


def test_an_account_block_shows_on_every_campaign_and_wins(api: Api) -> None:
    c = api.campaign(caller_id="+81312345678")
    other = api.campaign(caller_id="+81312345679")
    _block(api, provider_code=21215, campaign_id=c["id"])
    _block(api, provider_code=20003, campaign_id=c["id"])
    for campaign in (c, other):
        shown = api.get(f"/api/campaigns/{campaign['id']}").json()["dialing_blocked"]
        assert shown["scope"] == "account" and shown["code"] == "provider_auth_failed"
    metrics = api.get("/metrics").text
    assert (
        'dialer_dialing_blocked{campaign_id="",code="provider_auth_failed",scope="account"} 1.0'
        in metrics
    )
    assert (
        f'dialer_dialing_blocked{{campaign_id="{c["id"]}",code="geo_permission_denied",'
        'scope="campaign"} 1.0'
    ) in metrics
    assert api.delete("/api/account/dialing-block").status_code == 204
    # The campaign's own block shows again; the other campaign dials.
    assert api.get(f"/api/campaigns/{c['id']}").json()["dialing_blocked"]["code"] == (
        "geo_permission_denied"
    )
    assert api.get(f"/api/campaigns/{other['id']}").json()["dialing_blocked"] is None
    # Under simulated telephony a test call places nothing and lifts the blocks.
    _block(api, provider_code=20003, campaign_id=c["id"])
    r = api.post(f"/api/campaigns/{c['id']}/test-call", json={"to": "090-1234-5678"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["provider_sid"] is None and out["to"] == "+819012345678"
    assert sorted(b["code"] for b in out["cleared"]) == [
        "geo_permission_denied",
        "provider_auth_failed",
    ]
    assert all(b["since"].endswith("+09:00") for b in out["cleared"])
    assert api.get("/healthz").json()["dialing"] == {"status": "ok", "blocks": []}


def test_a_test_call_needs_a_caller_id(api: Api) -> None:
    c = api.campaign()
    expect_error(
        api.post(f"/api/campaigns/{c['id']}/test-call", json={"to": "090-1234-5678"}),
        409,
        "no_caller_id",
    )
