"""Conversions over HTTP: phone and external, matching, credit, idempotency,
cooling-off, the CSV import, and the reports against a scripted day."""

from __future__ import annotations

import csv
import io
from typing import Any

from helpers import Api, expect_error

LEADS = (
    "name,phone,contract_number,external_id\n"
    "Yamada,090-8800-0001,0312345678901234567890,CRM-1\n"
    "Sato,090-8800-0002,,CRM-2\n"
    "Ito,090-8800-0003,,\n"
)
SUPPLY_POINT = r"^(0[1-9]|10)\d{20}$"


def _floor(api: Api, **campaign: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    c = api.campaign(contract_number_pattern=SUPPLY_POINT, **campaign)
    assert api.import_csv(c["id"], LEADS).status_code == 201
    return c, api.agent([c["id"]], name="Sato"), api.agent([c["id"]], name="Suzuki")


def _talk(api: Api, agent: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    lead = api.next(agent).json()["lead"]
    api.post(
        "/api/admin/sim/outcomes",
        json={"phone": lead["phones"][0]["number"], "outcomes": ["answered"]},
    )
    call = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={}).json()
    return lead, call


def _dispose(api: Api, agent: dict[str, Any], call: dict[str, Any], **body: Any) -> Any:
    return api.post(f"/api/calls/{call['id']}/disposition", token=agent["token"], json=body)


def _report(api: Api, campaign: dict[str, Any], **body: Any) -> Any:
    return api.post("/api/conversions", json={"campaign_id": campaign["id"], **body})


def _lead(api: Api, lead_id: int) -> dict[str, Any]:
    return dict(api.get(f"/api/leads/{lead_id}").json())


def test_will_self_apply_then_web_sign_up_is_credited_to_the_agent(api: Api) -> None:
    c, sato, suzuki = _floor(api)
    lead, call = _talk(api, sato)
    assert _dispose(api, sato, call, outcome="will_self_apply").status_code == 200
    assert _lead(api, lead["id"])["status"] == "awaiting_external"
    assert api.next(sato).json()["lead"]["id"] != lead["id"]  # it waits, nobody calls
    api.advance(3 * 86400)
    r = _report(
        api, c, reference="WEB-1", channel="web", phone="+81 90 8800 0001",
        occurred_at="2026-12-03T20:00:00+09:00",
    )  # fmt: skip
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["lead_id"], body["agent_id"], body["attribution"]) == (
        lead["id"],
        sato["id"],
        "will_self_apply",
    )
    assert body["credit"] == [
        {
            "agent_id": sato["id"],
            "kind": "credit",
            "amount": 1,
            "at": body["created_at"],
            "reason": "attribution:will_self_apply",
        }
    ]
    assert _lead(api, lead["id"])["status"] == "converted"
    # The same reference again: the first result, 200, nothing new.
    again = _report(api, c, reference="WEB-1", channel="postcard", phone="090-8800-0002")
    assert again.status_code == 200 and again.json() == body
    assert len(api.get(f"/api/conversions?campaign_id={c['id']}").json()["items"]) == 1
    # The same reference for another campaign is a mistake, not that conversion.
    other = api.campaign(name="Other")
    r = api.post("/api/conversions", json={"campaign_id": other["id"], "reference": "WEB-1",
                                           "channel": "web", "phone": "090-8800-0001"})  # fmt: skip
    expect_error(r, 409, "reference_in_other_campaign")
    _ = suzuki


def test_matching_order_external_id_then_contract_then_phone(api: Api) -> None:
    c, sato, _suzuki = _floor(api)
    leads = {x["name"]: x for x in api.get(f"/api/campaigns/{c['id']}/leads").json()["items"]}
    # external_id wins over a phone of another lead.
    r = _report(api, c, reference="A", channel="web", external_id="CRM-2", phone="090-8800-0003")
    assert r.json()["lead_id"] == leads["Sato"]["id"]
    r = _report(api, c, reference="B", channel="postcard", contract_number="0312345678901234567890")
    assert r.json()["lead_id"] == leads["Yamada"]["id"]
    r = _report(api, c, reference="C", channel="web", phone="09088000003")
    assert r.json()["lead_id"] == leads["Ito"]["id"]
    assert r.json()["attribution"] == "none" and r.json()["agent_id"] is None
    # Nothing known: stored, never dropped, listed for a manager to match.
    r = _report(api, c, reference="D", channel="web", phone="090-1111-2222", external_id="CRM-9")
    assert r.status_code == 201 and r.json()["attribution"] == "unmatched"
    unmatched = api.get(f"/api/conversions?campaign_id={c['id']}&unmatched=true").json()["items"]
    assert [x["reference"] for x in unmatched] == ["D"]
    _ = sato


def test_bad_reports_are_refused_and_change_nothing(api: Api) -> None:
    c, _sato, _suzuki = _floor(api)
    for body, status, field in (
        ({"reference": "X", "channel": "fax", "phone": "090-8800-0001"}, 422, "channel"),
        ({"reference": "X", "channel": "web", "phone": "12"}, 422, "phone"),
        ({"reference": "X", "channel": "web", "contract_number": "123"}, 422, "contract_number"),
        (
            {
                "reference": "X",
                "channel": "web",
                "phone": "090-8800-0001",
                "occurred_at": "2027-01-01T00:00:00+09:00",
            },
            422,
            "occurred_at",
        ),  # fmt: skip
        ({"reference": "", "channel": "web"}, 422, "reference"),
    ):
        r = _report(api, c, **body)
        assert r.status_code == status, (body, r.text)
        assert field in r.json()["field"], r.json()
    expect_error(api.post("/api/conversions", json={"campaign_id": 999, "reference": "Y",
                                                    "channel": "web"}), 404)  # fmt: skip
    assert api.get("/api/conversions").json()["items"] == []


def test_phone_conversion_then_external_report_counts_once(api: Api) -> None:
    c, sato, _suzuki = _floor(api)
    lead, call = _talk(api, sato)
    r = _dispose(api, sato, call, outcome="converted", contract_number="12")
    expect_error(r, 422, "bad_contract_number")
    r = _dispose(api, sato, call, outcome="converted", contract_number="0312345678901234567890")
    assert r.status_code == 200, r.text
    r = _report(api, c, reference="WEB-7", channel="web", external_id=lead["external_id"])
    assert r.status_code == 201
    assert r.json()["status"] == "duplicate" and r.json()["credit"] == []
    assert r.json()["agent_id"] == sato["id"]
    rows = api.get(f"/api/reports/agents?campaign_id={c['id']}").json()["agents"]
    mine = next(x for x in rows if x["agent_id"] == sato["id"])
    assert mine["conversions"] == {"total": 1, "phone": 1, "external": 0, "cancelled": 0}


def test_cooling_off_cancel_reverses_the_credit(api: Api) -> None:
    c, sato, _suzuki = _floor(api)
    lead, call = _talk(api, sato)
    _dispose(api, sato, call, outcome="not_interested")
    r = _report(api, c, reference="PC-1", channel="postcard", phone=lead["phones"][0]["number"])
    conversion = r.json()
    assert conversion["attribution"] == "last_contact" and conversion["agent_id"] == sato["id"]
    cancelled = api.post(
        f"/api/conversions/{conversion['id']}/cancel", json={"reason": "クーリングオフ"}
    )
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["status"] == "cancelled" and body["cancel_reason"] == "クーリングオフ"
    assert [(e["kind"], e["amount"]) for e in body["credit"]] == [("credit", 1), ("reversal", -1)]
    expect_error(
        api.post(f"/api/conversions/{conversion['id']}/cancel", json={"reason": "again"}),
        409,
        "conversion_closed",
    )
    rows = api.get(f"/api/reports/agents?campaign_id={c['id']}").json()["agents"]
    mine = next(x for x in rows if x["agent_id"] == sato["id"])
    assert mine["conversions"] == {"total": 0, "phone": 0, "external": 0, "cancelled": 1}
    channels = api.get(f"/api/reports/campaigns/{c['id']}").json()["conversions_by_channel"]
    assert channels == {"postcard": {"gross": 1, "net": 0, "cancelled": 1, "duplicate": 0}}


def test_manager_matches_an_unmatched_conversion_later(api: Api) -> None:
    c, sato, _suzuki = _floor(api)
    lead, call = _talk(api, sato)
    _dispose(api, sato, call, outcome="not_interested")
    r = _report(api, c, reference="WEB-X", channel="web", phone="03-9999-0000")
    conversion = r.json()
    assert conversion["lead_id"] is None
    other = api.campaign(name="Elsewhere")
    api.import_csv(other["id"], "name,phone\nX,090-8800-0099\n")
    other_lead = api.get(f"/api/campaigns/{other['id']}/leads").json()["items"][0]
    expect_error(
        api.post(f"/api/conversions/{conversion['id']}/match", json={"lead_id": other_lead["id"]}),
        422,
        "wrong_campaign",
    )
    r = api.post(f"/api/conversions/{conversion['id']}/match", json={"lead_id": lead["id"]})
    assert r.status_code == 200, r.text
    assert (r.json()["lead_id"], r.json()["agent_id"], r.json()["attribution"]) == (
        lead["id"],
        sato["id"],
        "last_contact",
    )
    expect_error(
        api.post(f"/api/conversions/{conversion['id']}/match", json={"lead_id": lead["id"]}),
        409,
        "conversion_closed",
    )
    assert _lead(api, lead["id"])["status"] == "converted"
    expect_error(api.get(f"/api/conversions/{conversion['id']}", token=sato["token"]), 403)


def test_csv_import_in_cp932_with_bad_rows(api: Api) -> None:
    c, sato, _suzuki = _floor(api)
    lead, call = _talk(api, sato)
    _dispose(api, sato, call, outcome="will_self_apply")
    api.advance(86400)
    text = (
        "受付番号,申込経路,電話番号,供給地点特定番号,申込日\r\n"
        f"W-1,ウェブ,{lead['phones'][0]['number']},,2026/12/01\r\n"
        "W-2,はがき,090-8800-0002,,2026-12-01T09:30:00\r\n"
        "W-3,fax,090-8800-0003,,2026-12-01\r\n"
        ",ウェブ,090-8800-0003,,2026-12-01\r\n"
        "W-4,web,,12,2026-12-01\r\n"
        "W-5,web,090-1234-0000,,yesterday\r\n"
        "W-6,web,03-5555-0000,,2026-12-01\r\n"
        "W-1,web,090-8800-0003,,2026-12-01\r\n"
    )
    url = f"/api/campaigns/{c['id']}/conversions/imports"
    r = api.post(url, files={"file": ("web.csv", text.encode("cp932"), "text/csv")})
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["encoding"] in ("cp932", "shift_jis")
    assert {k: report[k] for k in ("rows", "created", "already_reported", "matched",
                                   "unmatched", "duplicates", "invalid")} == {
        "rows": 8, "created": 3, "already_reported": 1, "matched": 2, "unmatched": 1,
        "duplicates": 0, "invalid": 4,
    }  # fmt: skip
    assert [(e["row"], e["field"]) for e in report["errors"]] == [
        (3, "channel"),
        (4, "reference"),
        (5, "contract_number"),
        (6, "occurred_at"),
    ]
    items = api.get(f"/api/conversions?campaign_id={c['id']}").json()["items"]
    first = next(x for x in items if x["reference"] == "W-1")
    assert first["attribution"] == "will_self_apply" and first["agent_id"] == sato["id"]
    # A date alone is that Tokyo day, counted at its last second (the day is over).
    assert first["occurred_at"] == "2026-12-01T23:59:59+09:00"
    # Re-importing the same file adds nothing.
    again = api.post(url, files={"file": ("web.csv", text.encode("cp932"), "text/csv")}).json()
    assert again["created"] == 0 and again["already_reported"] == 4
    expect_error(
        api.post(url, files={"file": ("x.csv", b"phone\n090-8800-0001\n", "text/csv")}),
        400,
        "no_reference_column",
    )


def test_reports_against_a_scripted_day(api: Api) -> None:
    """10:00 Tokyo: Sato converts Yamada on the phone and hears "I'll apply on the
    web" from Sato-san; Suzuki gets a machine on Ito. 14:10: Ito answers Suzuki and
    books a callback. Next day the web sign-up arrives; then Yamada's cancels."""
    c, sato, suzuki = _floor(api)
    yamada, call = _talk(api, sato)  # 10:00
    api.advance(120)
    assert _dispose(api, sato, call, outcome="converted").status_code == 200
    sato_lead, call = _talk(api, sato)  # 10:02
    api.advance(300)
    _dispose(api, sato, call, outcome="will_self_apply")
    ito = api.next(suzuki).json()["lead"]
    api.post("/api/admin/sim/outcomes", json={"phone": "090-8800-0003", "outcomes": ["machine"]})
    api.post(f"/api/leads/{ito['id']}/calls", token=suzuki["token"], json={})
    api.advance(25)  # machine: system disposition
    api.post("/api/admin/clock", json={"to": "2026-12-01T14:10:00+09:00"})  # machine retry due
    got = api.next(suzuki).json()
    assert got["lead"]["id"] == ito["id"]
    api.post("/api/admin/sim/outcomes", json={"phone": "090-8800-0003", "outcomes": ["answered"]})
    call = api.post(f"/api/leads/{ito['id']}/calls", token=suzuki["token"], json={}).json()
    api.advance(60)
    r = _dispose(api, suzuki, call, outcome="callback", promise={"in_minutes": 30})
    assert r.status_code == 200, r.text
    api.post("/api/admin/clock", json={"to": "2026-12-02T11:00:00+09:00"})
    web = _report(api, c, reference="WEB-S", channel="web", external_id="CRM-2")
    assert web.json()["agent_id"] == sato["id"]
    phone_conversion = next(
        x
        for x in api.get(f"/api/conversions?campaign_id={c['id']}").json()["items"]
        if x["channel"] == "phone"
    )
    api.post(f"/api/conversions/{phone_conversion['id']}/cancel", json={"reason": "cooling-off"})

    day1 = f"campaign_id={c['id']}&since=2026-12-01&until=2026-12-01"
    rows = {r["agent_id"]: r for r in api.get(f"/api/reports/agents?{day1}").json()["agents"]}
    assert rows[sato["id"]] == {
        "agent_id": sato["id"], "name": "Sato", "calls": 2, "contacts": 2, "talk_seconds": 420,
        "conversions": {"total": 0, "phone": 0, "external": 0, "cancelled": 1},
        "conversion_rate": 0.0,
        "promises": {"made": 0, "kept": 0, "missed": 0, "kept_rate": None},
    }  # fmt: skip
    assert rows[suzuki["id"]]["calls"] == 2 and rows[suzuki["id"]]["contacts"] == 1
    assert rows[suzuki["id"]]["talk_seconds"] == 60
    assert rows[suzuki["id"]]["promises"]["made"] == 1
    both = f"campaign_id={c['id']}&since=2026-12-01&until=2026-12-02"
    rows = {r["agent_id"]: r for r in api.get(f"/api/reports/agents?{both}").json()["agents"]}
    assert rows[sato["id"]]["conversions"] == {
        "total": 1, "phone": 0, "external": 1, "cancelled": 1,
    }  # fmt: skip
    assert rows[sato["id"]]["conversion_rate"] == 0.5
    assert rows[suzuki["id"]]["promises"] == {
        "made": 1, "kept": 0, "missed": 1, "kept_rate": 0.0,
    }  # fmt: skip

    report = api.get(f"/api/reports/campaigns/{c['id']}?since=2026-12-01&until=2026-12-02").json()
    assert report["leads_by_status"] == {"converted": 2, "scheduled": 1}
    assert report["calls_by_status"] == {"completed": 4}
    assert report["promises_by_status"] == {"missed": 1}
    assert report["conversions_by_channel"] == {
        "phone": {"gross": 1, "net": 0, "cancelled": 1, "duplicate": 0},
        "web": {"gross": 1, "net": 1, "cancelled": 0, "duplicate": 0},
    }
    assert report["answer_rate_by_hour"] == [
        {"hour": 10, "calls": 3, "answered": 2, "answer_rate": 0.6667},
        {"hour": 14, "calls": 1, "answered": 1, "answer_rate": 1.0},
    ]
    # Sato-san: first call 10:02 on 1 Dec, signed up 11:00 on 2 Dec (1.04 days);
    # Yamada's phone conversion is cancelled and does not count.
    assert report["median_days_to_conversion"] == 1.04

    sheet = api.get(f"/api/reports/agents.csv?{both}")
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/csv")
    assert sheet.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    assert table[0][:3] == ["agent_id", "name", "calls"] and len(table) == 3
    campaign_sheet = api.get(
        f"/api/reports/campaigns/{c['id']}.csv?since=2026-12-01&until=2026-12-02"
    )
    assert campaign_sheet.status_code == 200, campaign_sheet.text
    assert b"conversions_by_channel,web.net,1" in campaign_sheet.content


def test_report_csv_defuses_formulas(api: Api) -> None:
    c = api.campaign()
    api.agent([c["id"]], name='=HYPERLINK("http://evil")')
    sheet = api.get(f"/api/reports/agents.csv?campaign_id={c['id']}").content.decode("utf-8-sig")
    assert "'=HYPERLINK" in sheet


def test_same_reference_reported_at_once_is_one_conversion(api: Api) -> None:
    from concurrent.futures import ThreadPoolExecutor

    c, _sato, _suzuki = _floor(api)

    def post(_: int) -> int:
        r = _report(api, c, reference="DUP-1", channel="web", phone="090-8800-0002")
        return int(r.status_code)

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = sorted(pool.map(post, range(6)))
    assert codes == [200] * 5 + [201], codes
    items = api.get(f"/api/conversions?campaign_id={c['id']}").json()["items"]
    assert len(items) == 1 and len(items[0]["credit"]) == 0  # nobody talked to them
