"""Do-not-call list: /api/dnc, and what a listed phone does to leads and the queue."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import Api, expect_error

ENTRY_KEYS = {"id", "phone", "reason", "source", "created_at"}


def _dnc_items(api: Api, phone: str | None = None) -> list[dict[str, Any]]:
    r = api.get("/api/dnc", params={"phone": phone} if phone is not None else None)
    assert r.status_code == 200, r.text
    assert "next_cursor" in r.json()
    return list(r.json()["items"])


def _events(api: Api, lead_id: int) -> list[dict[str, Any]]:
    return list(api.get(f"/api/leads/{lead_id}").json()["events"])


def test_add_normalizes_to_e164_and_is_idempotent(api: Api) -> None:
    r = api.post("/api/dnc", json={"phone": "090-1234-5678", "reason": "customer asked"})
    assert r.status_code == 201, r.text
    first = r.json()
    assert set(first) >= ENTRY_KEYS
    assert first["phone"] == "+819012345678"
    assert first["reason"] == "customer asked"
    assert first["created_at"].startswith("2026-12-01T01:00:00")
    # The same phone in another format: 200, the existing entry, not a second one.
    api.advance(60)
    again = api.post("/api/dnc", json={"phone": "+81 90 1234 5678", "reason": "again"})
    assert again.status_code == 200, again.text
    assert again.json() == first
    items = _dnc_items(api)
    assert [i["phone"] for i in items] == ["+819012345678"]
    assert items[0] == first


def test_reason_is_optional(api: Api) -> None:
    r = api.post("/api/dnc", json={"phone": "03-1234-5678"})
    assert r.status_code == 201, r.text
    assert (r.json()["phone"], r.json()["reason"]) == ("+81312345678", "")


@pytest.mark.parametrize(
    "query", ["090-1234-5678", "09012345678", "+819012345678", "０９０１２３４５６７８"]
)
def test_lookup_by_phone_in_any_format(api: Api, query: str) -> None:
    listed = api.post("/api/dnc", json={"phone": "+81 90-1234-5678", "reason": "r"}).json()
    api.post("/api/dnc", json={"phone": "03-1234-5678", "reason": "other"})
    assert _dnc_items(api, query) == [listed]
    assert _dnc_items(api, "080-0000-1111") == []
    assert len(_dnc_items(api)) == 2


def test_delete_then_404(api: Api) -> None:
    api.post("/api/dnc", json={"phone": "090-1234-5678", "reason": "r"})
    api.post("/api/dnc", json={"phone": "03-1234-5678", "reason": "r"})
    r = api.delete("/api/dnc/090-1234-5678")
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert _dnc_items(api, "090-1234-5678") == []
    expect_error(api.delete("/api/dnc/090-1234-5678"), 404)
    # Only that entry went; E.164 in the path works too.
    assert [i["phone"] for i in _dnc_items(api)] == ["+81312345678"]
    assert api.delete("/api/dnc/+81312345678").status_code == 204
    assert _dnc_items(api) == []
    # Deleted, it can be added again as new.
    assert api.post("/api/dnc", json={"phone": "090-1234-5678"}).status_code == 201


@pytest.mark.parametrize("phone", ["03-12", "abc", "12345678901234567890", "+1 555"])
def test_invalid_phone_names_the_field_and_writes_nothing(api: Api, phone: str) -> None:
    body = expect_error(api.post("/api/dnc", json={"phone": phone, "reason": "r"}), 400)
    assert body["field"] == "phone"
    assert _dnc_items(api) == []


@pytest.mark.parametrize(
    "payload",
    [{}, {"phone": ""}, {"phone": None}, {"phone": 819012345678}, {"reason": "r"}],
    ids=["empty", "blank", "null", "number", "no-phone"],
)
def test_malformed_body_is_422_naming_phone(api: Api, payload: dict[str, Any]) -> None:
    body = expect_error(api.post("/api/dnc", json=payload), 422)
    assert body["detail"].startswith("phone")
    assert _dnc_items(api) == []


def test_unknown_field_and_overlong_reason_are_422(api: Api) -> None:
    expect_error(api.post("/api/dnc", json={"phone": "090-1234-5678", "why": "x"}), 422)
    body = expect_error(
        api.post("/api/dnc", json={"phone": "090-1234-5678", "reason": "x" * 201}), 422
    )
    assert body["detail"].startswith("reason")
    assert _dnc_items(api) == []


def test_nul_in_reason_is_not_a_server_error(api: Api) -> None:
    r = api.post("/api/dnc", json={"phone": "090-1234-5678", "reason": "no\u0000more"})
    assert r.status_code in (201, 422), r.text
    if r.status_code == 422:
        expect_error(r, 422)
        assert _dnc_items(api) == []
    else:
        assert r.json()["reason"] == "no\u0000more"


def test_invalid_phone_in_lookup_and_delete_is_4xx(api: Api) -> None:
    r = api.get("/api/dnc", params={"phone": "03-12"})
    assert 400 <= r.status_code < 500, r.text
    expect_error(r, r.status_code)
    r = api.delete("/api/dnc/03-12")
    assert 400 <= r.status_code < 500, r.text
    expect_error(r, r.status_code)


@pytest.fixture
def floor(api: Api) -> dict[str, Any]:
    """A campaign with a one-phone lead and a two-phone lead, and an agent on it."""
    campaign = api.campaign()
    text = "name,phone,phone2,priority\nOne,090-1234-5678,,9\nTwo,090-9999-8888,03-1111-2222,0\n"
    r = api.import_csv(campaign["id"], text)
    assert r.status_code == 201, r.text
    assert r.json()["accepted"] == 2
    leads = api.get(f"/api/campaigns/{campaign['id']}/leads").json()["items"]
    by_name = {lead["name"]: lead["id"] for lead in leads}
    return {
        "campaign": campaign,
        "one": by_name["One"],
        "two": by_name["Two"],
        "agent": api.agent([campaign["id"]]),
    }


def test_listing_the_only_phone_makes_the_lead_dnc(api: Api, floor: dict[str, Any]) -> None:
    r = api.post("/api/dnc", json={"phone": "09012345678", "reason": "asked"})
    assert r.status_code == 201, r.text
    lead = api.get(f"/api/leads/{floor['one']}").json()
    assert lead["status"] == "dnc"
    added = [e for e in lead["events"] if e["kind"] == "dnc_added"]
    assert len(added) == 1
    assert added[0]["detail"]["phone"] == "+819012345678"
    assert added[0]["actor"].startswith("manager:")
    # Listing it again changes nothing more.
    assert api.post("/api/dnc", json={"phone": "090-1234-5678"}).status_code == 200
    assert len([e for e in _events(api, floor["one"]) if e["kind"] == "dnc_added"]) == 1
    eligibility = api.get(f"/api/leads/{floor['one']}/eligibility").json()
    assert eligibility["callable"] is False
    assert "dnc" in {b["rule"] for b in eligibility["blocked_by"]}
    dnc_leads = api.get(f"/api/campaigns/{floor['campaign']['id']}/leads", params={"status": "dnc"})
    assert [lead["id"] for lead in dnc_leads.json()["items"]] == [floor["one"]]


def test_dnc_lead_is_never_handed_out(api: Api, floor: dict[str, Any]) -> None:
    api.post("/api/dnc", json={"phone": "090-1234-5678", "reason": "asked"})
    api.post("/api/dnc", json={"phone": "03-1111-2222", "reason": "asked"})
    api.post("/api/dnc", json={"phone": "090-9999-8888", "reason": "asked"})
    assert api.get(f"/api/leads/{floor['two']}").json()["status"] == "dnc"
    assert api.next(floor["agent"]).status_code == 204
    api.advance(86400)
    other = api.agent([floor["campaign"]["id"]], name="Suzuki")
    assert api.next(floor["agent"]).status_code == 204
    assert api.next(other).status_code == 204
    # Lifting the entry is not a side-door back into the queue.
    assert api.delete("/api/dnc/090-1234-5678").status_code == 204
    assert api.get(f"/api/leads/{floor['one']}").json()["status"] == "dnc"


def test_lead_with_another_callable_phone_stays_callable(api: Api, floor: dict[str, Any]) -> None:
    # Two's first phone is listed; its second is not. One's only phone is listed.
    api.post("/api/dnc", json={"phone": "090-9999-8888", "reason": "mobile: don't call"})
    api.post("/api/dnc", json={"phone": "090-1234-5678", "reason": "asked"})
    two = api.get(f"/api/leads/{floor['two']}").json()
    assert two["status"] == "new"
    assert [e["kind"] for e in two["events"]] == ["imported", "dnc_added"]
    assert api.get(f"/api/leads/{floor['two']}/eligibility").json()["callable"] is True
    got = api.next(floor["agent"])
    assert got.status_code == 200, got.text
    assert got.json()["lead"]["id"] == floor["two"]
    # Asking for the listed phone explicitly is refused; the claim stays.
    refused = api.post(
        f"/api/leads/{floor['two']}/calls",
        token=floor["agent"]["token"],
        json={"phone": "090-9999-8888"},
    )
    expect_error(refused, 409, "dnc")
    assert api.next(floor["agent"]).json()["lead"]["id"] == floor["two"]
    # By default the call goes to the phone that is not listed.
    call = api.post(f"/api/leads/{floor['two']}/calls", token=floor["agent"]["token"], json={})
    assert call.status_code == 201, call.text
    assert call.json()["to"] == "+81311112222"
    # One (fully listed) is still never offered, to anyone.
    other = api.agent([floor["campaign"]["id"]], name="Suzuki")
    assert api.next(other).status_code == 204


def test_listing_a_claimed_leads_phone_blocks_the_dial(api: Api, floor: dict[str, Any]) -> None:
    got = api.next(floor["agent"]).json()
    assert got["lead"]["id"] == floor["one"]
    api.post("/api/dnc", json={"phone": "090-1234-5678", "reason": "asked"})
    r = api.post(f"/api/leads/{floor['one']}/calls", token=floor["agent"]["token"], json={})
    expect_error(r, 409, "dnc")
    assert api.get(f"/api/leads/{floor['one']}").json()["calls"] == []


def test_dnc_holds_for_every_campaign(api: Api, floor: dict[str, Any]) -> None:
    other = api.campaign()
    r = api.import_csv(other["id"], "name,phone\nOne again,090-1234-5678\n")
    assert r.json()["accepted"] == 1
    other_lead = api.get(f"/api/campaigns/{other['id']}/leads").json()["items"][0]["id"]
    api.post("/api/dnc", json={"phone": "090-1234-5678", "reason": "asked"})
    assert api.get(f"/api/leads/{floor['one']}").json()["status"] == "dnc"
    assert api.get(f"/api/leads/{other_lead}").json()["status"] == "dnc"


def test_agents_get_403_and_write_nothing(api: Api, floor: dict[str, Any]) -> None:
    token = floor["agent"]["token"]
    expect_error(api.post("/api/dnc", token=token, json={"phone": "090-1234-5678"}), 403)
    assert _dnc_items(api) == []
    assert api.get(f"/api/leads/{floor['one']}").json()["status"] == "new"
    expect_error(api.get("/api/dnc", token=token), 403)
    expect_error(api.get("/api/dnc", token=token, params={"phone": "090-1234-5678"}), 403)
    api.post("/api/dnc", json={"phone": "03-1234-5678"})
    expect_error(api.delete("/api/dnc/03-1234-5678", token=token), 403)
    assert [i["phone"] for i in _dnc_items(api)] == ["+81312345678"]
