"""Finding things (issue 12): lead search by phone in any format, name, company,
contract number and external id; its pages, bounds and roles. On both engines."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import Api, expect_error
from sqlalchemy import update

from dialer.leads.models import Lead, Phone

LEADS_CSV = (
    "name,phone,phone2,company,contract_number,external_id\n"
    "山田 太郎,090-1234-5678,03-1111-2222,ＡＢＣ商事,0312-3456-7890,CRM-001\n"
    "山田 花子,090-1234-0001,,abc Trading,C-77,crm-002\n"
    "Yamada Jiro,090-1234-0002,,Ｚｅｔａ,,\n"
    "ﾔﾏﾀﾞ ｲﾁﾛｳ,090-1234-0003,,,,\n"
    "鈴木 一郎,090-1234-0004,,ABC商事 東京支店,９９８８,ＣＲＭ－００５\n"
)


@pytest.fixture
def world(api: Api) -> dict[str, Any]:
    campaign = api.campaign(name="Kanto")
    r = api.import_csv(campaign["id"], LEADS_CSV)
    assert r.status_code == 201 and r.json()["accepted"] == 5, r.text
    leads = api.get(f"/api/campaigns/{campaign['id']}/leads").json()["items"]
    by_name = {lead["name"]: lead["id"] for lead in leads}
    return {"campaign": campaign, "ids": by_name}


def _names(api: Api, **params: Any) -> list[str]:
    r = api.get("/api/leads", params=params)
    assert r.status_code == 200, r.text
    return [lead["name"] for lead in r.json()["items"]]


@pytest.mark.parametrize(
    "phone",
    [
        "090-1234-5678",  # national, dashed
        "090 1234 5678",  # spaces
        "09012345678",  # digits
        "+81 90-1234-5678",  # international
        "+819012345678",  # E.164
        "０９０－１２３４－５６７８",  # full-width
        "03-1111-2222",  # the lead's second phone
    ],
)
def test_phone_in_any_format_finds_the_lead(api: Api, world: dict[str, Any], phone: str) -> None:
    assert _names(api, phone=phone) == ["山田 太郎"]


def test_a_phone_nobody_has_finds_nothing(api: Api, world: dict[str, Any]) -> None:
    assert _names(api, phone="090-9999-9999") == []


def test_a_retired_phone_still_finds_its_lead(api: Api, world: dict[str, Any]) -> None:
    # A wrong-number disposition retires a phone; the household may still ring back from it.
    runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.db.write() as session:
        for phone in session.query(Phone).filter(Phone.number == "+81311112222"):
            phone.retired = True
    assert _names(api, phone="03-1111-2222") == ["山田 太郎"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("山田", ["山田 花子", "山田 太郎"]),  # a prefix
        ("山田太郎", ["山田 太郎"]),  # spaces do not matter
        ("山田 太", ["山田 太郎"]),
        ("yamada", ["Yamada Jiro"]),  # case
        ("ＹＡＭＡＤＡ", ["Yamada Jiro"]),  # width and case
        ("ヤマダ", ["ﾔﾏﾀﾞ ｲﾁﾛｳ"]),  # half-width katakana folds to full-width
        ("ﾔﾏﾀﾞｲ", ["ﾔﾏﾀﾞ ｲﾁﾛｳ"]),
        ("田", []),  # a prefix, not a substring
    ],
)
def test_name_prefix_ignores_case_width_and_spaces(
    api: Api, world: dict[str, Any], name: str, expected: list[str]
) -> None:
    assert sorted(_names(api, name=name)) == sorted(expected)


def test_name_results_come_in_key_order(api: Api, world: dict[str, Any]) -> None:
    # Code point order of the folded names: 太 (U+592A) before 花 (U+82B1).
    assert _names(api, name="山田") == ["山田 太郎", "山田 花子"]


@pytest.mark.parametrize(
    ("company", "expected"),
    [
        (
            "abc",
            ["山田 太郎", "山田 花子", "鈴木 一郎"],
        ),  # ＡＢＣ商事, abc Trading, ABC商事 東京支店
        ("ABC商事", ["山田 太郎", "鈴木 一郎"]),
        ("abc商事東京", ["鈴木 一郎"]),
        ("zeta", ["Yamada Jiro"]),
    ],
)
def test_company_prefix(api: Api, world: dict[str, Any], company: str, expected: list[str]) -> None:
    assert sorted(_names(api, company=company)) == sorted(expected)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"contract_number": "0312-3456-7890"}, ["山田 太郎"]),
        ({"contract_number": "031234567890"}, ["山田 太郎"]),  # dashes do not matter
        ({"contract_number": "０３１２３４５６７８９０"}, ["山田 太郎"]),  # nor width
        ({"contract_number": "0312"}, []),  # whole, not a prefix
        ({"contract_number": "9988"}, ["鈴木 一郎"]),  # stored full-width
        ({"contract_number": "c77"}, ["山田 花子"]),
        ({"external_id": "CRM-001"}, ["山田 太郎"]),
        ({"external_id": "crm001"}, ["山田 太郎"]),
        ({"external_id": "CRM-002"}, ["山田 花子"]),  # stored lower case
        ({"external_id": "crm-005"}, ["鈴木 一郎"]),  # stored full-width
        ({"external_id": "CRM"}, []),
    ],
)
def test_contract_number_and_external_id_match_whole(
    api: Api, world: dict[str, Any], params: dict[str, str], expected: list[str]
) -> None:
    assert _names(api, **params) == expected


def test_criteria_together_must_all_hold(api: Api, world: dict[str, Any]) -> None:
    assert _names(api, name="山田", company="abc") == ["山田 太郎", "山田 花子"]
    assert _names(api, name="山田", company="zeta") == []
    assert _names(api, phone="090-1234-5678", name="鈴木") == []
    assert _names(api, external_id="CRM-001", status="new") == ["山田 太郎"]
    assert _names(api, external_id="CRM-001", status="dnc") == []


def test_campaign_scopes_the_search_and_gives_the_phone_region(
    api: Api, world: dict[str, Any]
) -> None:
    other = api.campaign(name="US", default_region="US", timezone="America/New_York")
    r = api.import_csv(other["id"], "name,phone\n山田 US,(201) 555-0123\n")
    assert r.json()["accepted"] == 1, r.text
    assert _names(api, name="山田", campaign_id=other["id"]) == ["山田 US"]
    assert len(_names(api, name="山田")) == 3
    # National format read in the campaign's region; without one, DIALER_DEFAULT_REGION (JP).
    assert _names(api, phone="(201) 555-0123", campaign_id=other["id"]) == ["山田 US"]
    assert _names(api, phone="+1 201 555 0123") == ["山田 US"]
    assert _names(api, phone="+81 90-1234-5678", campaign_id=other["id"]) == []
    # A Japanese national number is no US number: said so, naming the field.
    r = api.get("/api/leads", params={"phone": "090-1234-5678", "campaign_id": other["id"]})
    assert expect_error(r, 422, "invalid_phone")["field"] == "phone"


def test_a_disposition_that_learns_the_contract_number_makes_it_searchable(api: Api) -> None:
    campaign = api.campaign()
    assert (
        api.import_csv(campaign["id"], "name,phone\n田中,090-3000-0001\n").json()["accepted"] == 1
    )
    agent = api.agent([campaign["id"]])
    api.post("/api/admin/sim/outcomes", json={"phone": "090-3000-0001", "outcomes": ["answered"]})
    lead = api.next(agent).json()["lead"]
    assert _names(api, contract_number="5555-6666") == []
    call = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"])
    assert call.status_code == 201, call.text
    r = api.post(
        f"/api/calls/{call.json()['id']}/disposition",
        token=agent["token"],
        json={"outcome": "converted", "contract_number": "5555-6666"},
    )
    assert r.status_code == 200, r.text
    assert _names(api, contract_number="５５５５６６６６") == ["田中"]


def test_pages_follow_the_cursor_without_gaps_or_repeats(api: Api) -> None:
    campaign = api.campaign()
    rows = "".join(f"佐藤 {n:03d},090-2000-{n:04d}\n" for n in range(25))
    assert api.import_csv(campaign["id"], "name,phone\n" + rows).json()["accepted"] == 25
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"name": "佐藤", "limit": 10}
        if cursor:
            params["cursor"] = cursor
        body = api.get("/api/leads", params=params).json()
        seen += [lead["name"] for lead in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [f"佐藤 {n:03d}" for n in range(25)]
    # A page of exact matches pages by id.
    first = api.get("/api/leads", params={"phone": "090-2000-0007", "limit": 1}).json()
    assert [lead["name"] for lead in first["items"]] == ["佐藤 007"]
    assert first["next_cursor"] is not None
    rest = api.get(
        "/api/leads", params={"phone": "090-2000-0007", "limit": 1, "cursor": first["next_cursor"]}
    ).json()
    assert rest == {"items": [], "next_cursor": None}


def test_staged_leads_are_never_found(api: Api, world: dict[str, Any]) -> None:
    runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.db.write() as session:
        session.execute(
            update(Lead).where(Lead.id == world["ids"]["鈴木 一郎"]).values(status="importing")
        )
    assert _names(api, name="鈴木") == []
    assert _names(api, phone="090-1234-0004") == []
    expect_error(
        api.get("/api/leads", params={"name": "鈴", "cursor": str(world["ids"]["鈴木 一郎"])}),
        422,
        "bad_cursor",
    )


def test_search_bounds(api: Api, world: dict[str, Any]) -> None:
    cases = [
        ({}, "no_search_criteria"),
        ({"phone": "03-12"}, "invalid_phone"),
        ({"phone": "not a number"}, "invalid_phone"),
        ({"name": "   "}, "validation_error"),
        ({"name": ""}, "validation_error"),
        ({"name": "x" * 301}, "validation_error"),
        ({"contract_number": "-"}, "validation_error"),
        ({"contract_number": "1" * 65}, "validation_error"),
        ({"external_id": "1" * 129}, "validation_error"),
        ({"phone": "1" * 65}, "validation_error"),
        ({"name": "a", "cursor": "abc"}, "bad_cursor"),
        ({"name": "a", "cursor": "-1"}, "bad_cursor"),
        ({"name": "a", "cursor": str(2**63)}, "bad_cursor"),
        ({"name": "a", "cursor": "999999"}, "bad_cursor"),  # no such lead
        ({"name": "a", "campaign_id": 2**63}, "validation_error"),
        ({"name": "a", "campaign_id": 0}, "validation_error"),
        ({"name": "a", "limit": 0}, "validation_error"),
        ({"name": "a", "limit": 1001}, "validation_error"),
        ({"name": "a", "status": "importing"}, "validation_error"),
    ]
    problems = []
    for params, code in cases:
        r = api.get("/api/leads", params=params)
        if r.status_code != 422 or r.json().get("code") != code:
            problems.append(f"{params}: {r.status_code} {r.text[:200]}")
    assert not problems, "\n".join(problems)
    body = expect_error(api.get("/api/leads", params={"phone": "03-12"}), 422, "invalid_phone")
    assert body["field"] == "phone"
    expect_error(api.get("/api/leads", params={"name": "a", "campaign_id": 999}), 404)


def test_agents_may_not_search(api: Api, world: dict[str, Any]) -> None:
    agent = api.agent([world["campaign"]["id"]])
    expect_error(api.get("/api/leads", params={"name": "山田"}, token=agent["token"]), 403)
    expect_error(api.get("/api/leads", params={"name": "山田"}, token="nope"), 401)
