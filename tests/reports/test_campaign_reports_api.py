"""The campaign reports of the manager console over HTTP, against rows written
with known times: funnel, promises per agent and day, conversions by channel,
answers by local hour, their CSVs and the two SVG charts."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

import pytest
from helpers import Api, expect_error, jst
from sqlalchemy import select
from sqlmodel import col

from dialer.calls.models import Call
from dialer.conversions.models import Conversion
from dialer.leads.models import Lead
from dialer.promises.models import Promise

SVG = "{http://www.w3.org/2000/svg}"
PERIOD = "since=2026-12-01&until=2026-12-02"


def _db(api: Api) -> Any:
    return api.client.app.state.runtime.db  # type: ignore[attr-defined]


def _call(
    session: Any, lead: int, campaign: int, agent: int | None, at: datetime, **kw: Any
) -> int:
    kw.setdefault("status", "completed")
    call = Call(
        lead_id=lead, campaign_id=campaign, agent_id=agent, to="+819000000000",
        provider="simulated", created_at=at, **kw,
    )  # fmt: skip
    session.add(call)
    session.flush()
    assert call.id is not None
    return call.id


def _promise(
    session: Any, lead: int, campaign: int, *, owner: int | None, booked_by: int | None,
    due: datetime, status: str, created: datetime, kept_call_id: int | None = None,
) -> None:  # fmt: skip
    session.add(
        Promise(
            lead_id=lead,
            campaign_id=campaign,
            agent_id=owner,
            booked_by_agent_id=booked_by,
            booked_by="test",
            kind="at",
            due_at=due,
            window_end=due,
            slot_start=due,
            status=status,
            created_at=created,
            updated_at=created,
            kept_call_id=kept_call_id,
        )
    )


def _conversion(
    session: Any, campaign: int, lead: int | None, *, ref: str, channel: str, status: str,
    at: datetime,
) -> None:  # fmt: skip
    session.add(
        Conversion(
            campaign_id=campaign,
            reference=ref,
            channel=channel,
            lead_id=lead,
            attribution="none" if lead else "unmatched",
            status=status,
            occurred_at=at,
            created_at=at,
            raw={},
        )
    )


@pytest.fixture
def floor(api: Api) -> dict[str, Any]:
    """Tokyo campaign: 4 leads, Sato and Suzuki (and 佐藤, who did nothing), and
    a day and a half of calls, promises and sign-ups around 1–2 December."""
    c = api.campaign(timezone="Asia/Tokyo")
    text = "name,phone\nA,090-8800-0001\nB,090-8800-0002\nC,090-8800-0003\nD,090-8800-0004\n"
    assert api.import_csv(c["id"], text).status_code == 201
    sato = api.agent([c["id"]], name="Sato")
    suzuki = api.agent([c["id"]], name="Suzuki")
    sato_jp = api.agent([c["id"]], name="佐藤")
    cid, sa, su = c["id"], sato["id"], suzuki["id"]
    with _db(api).write() as s:
        l1, l2, l3, l4 = s.scalars(
            select(col(Lead.id)).where(col(Lead.campaign_id) == cid).order_by(col(Lead.id))
        ).all()
        _call(s, l1, cid, sa, jst(2026, 12, 1, 9, 10), answered_by="human")
        _call(s, l1, cid, sa, jst(2026, 12, 1, 9, 40), status="no-answer")
        c3 = _call(s, l2, cid, su, jst(2026, 12, 1, 14, 5), answered_by="machine_start")
        _call(
            s, l2, cid, su, jst(2026, 12, 2, 14, 30), answered_by="human", disposition="abandoned"
        )
        _call(s, l3, cid, sa, jst(2026, 12, 2, 23, 50), answered_by="human")
        _call(s, l4, cid, sa, jst(2026, 11, 30, 22, 0), answered_by="human")  # before the period

        made = jst(2026, 12, 1, 9, 15)
        _promise(
            s,
            l1,
            cid,
            owner=sa,
            booked_by=sa,
            due=jst(2026, 12, 1, 11),
            status="kept",
            created=made,
        )
        _promise(
            s,
            l1,
            cid,
            owner=sa,
            booked_by=sa,
            due=jst(2026, 12, 2, 10),
            status="missed",
            created=made,
        )
        _promise(
            s,
            l3,
            cid,
            owner=sa,
            booked_by=sa,
            due=jst(2026, 12, 2, 16),
            status="kept",
            created=made,
        )
        _promise(
            s,
            l2,
            cid,
            owner=None,
            booked_by=su,
            due=jst(2026, 12, 1, 17),
            status="kept",
            created=made,
            kept_call_id=c3,
        )  # anyone's, kept by Suzuki
        _promise(
            s,
            l2,
            cid,
            owner=su,
            booked_by=su,
            due=jst(2026, 12, 3, 10),
            status="missed",
            created=made,
        )
        _promise(
            s,
            l3,
            cid,
            owner=sa,
            booked_by=sa,
            due=jst(2026, 12, 1, 12),
            status="rescheduled",
            created=made,
        )

        _conversion(
            s, cid, l1, ref="P-1", channel="phone", status="active", at=jst(2026, 12, 2, 9, 10)
        )
        _conversion(s, cid, l3, ref="W-3", channel="web", status="active", at=jst(2026, 12, 3, 9))
        _conversion(
            s, cid, l2, ref="C-2", channel="postcard", status="cancelled", at=jst(2026, 12, 1, 15)
        )
        _conversion(s, cid, l4, ref="W-4", channel="web", status="active", at=jst(2026, 12, 1, 10))
        _conversion(
            s, cid, l1, ref="W-1", channel="web", status="duplicate", at=jst(2026, 12, 2, 9)
        )
        _conversion(
            s, cid, None, ref="W-X", channel="web", status="active", at=jst(2026, 12, 1, 12)
        )
    return {"id": cid, "sato": sa, "suzuki": su, "sato_jp": sato_jp["id"]}  # fmt: skip


def _sheet(r: Any) -> list[list[str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))


def test_funnel_counts_distinct_leads_per_stage(api: Api, floor: dict[str, Any]) -> None:
    r = api.get(f"/api/reports/campaigns/{floor['id']}/funnel?{PERIOD}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["since"] == "2026-12-01T00:00:00+09:00"
    assert body["until"] == "2026-12-03T00:00:00+09:00"
    assert body["stages"] == [
        {"stage": "leads", "count": 4, "rate": 1.0},
        {"stage": "dialled", "count": 3, "rate": 0.75},  # L4's call was on 30 November
        {"stage": "contacted", "count": 2, "rate": 0.5},  # L2: a machine, then abandoned
        {"stage": "converted", "count": 2, "rate": 0.5},  # L1, L4; L3's is on 3 December
    ]
    # L1: 09:10 → 09:10 next day (1 day); L4: 30 Nov 22:00 → 1 Dec 10:00 (0.5 day).
    assert body["median_days_to_conversion"] == 0.75
    assert _sheet(api.get(f"/api/reports/campaigns/{floor['id']}/funnel.csv?{PERIOD}")) == [
        ["stage", "count", "rate"],
        ["leads", "4", "1.0"], ["dialled", "3", "0.75"], ["contacted", "2", "0.5"],
        ["converted", "2", "0.5"], ["median_days_to_conversion", "0.75", ""],
    ]  # fmt: skip
    # Without a period: every call and conversion counts.
    whole = api.get(f"/api/reports/campaigns/{floor['id']}/funnel").json()
    assert [s["count"] for s in whole["stages"]] == [4, 4, 3, 3]


def test_promises_per_agent_and_due_day(api: Api, floor: dict[str, Any]) -> None:
    r = api.get(f"/api/reports/campaigns/{floor['id']}/promises?{PERIOD}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["days"] == ["2026-12-01", "2026-12-02"]
    rows = {a["agent_id"]: a for a in body["agents"]}
    assert [a["name"] for a in body["agents"]] == ["Sato", "Suzuki", "佐藤"]
    assert rows[floor["sato"]] == {
        "agent_id": floor["sato"], "name": "Sato", "made": 3, "kept": 2, "missed": 1,
        "kept_rate": 0.6667,
        "trend": [
            {"date": "2026-12-01", "kept": 1, "missed": 0, "kept_rate": 1.0},
            {"date": "2026-12-02", "kept": 1, "missed": 1, "kept_rate": 0.5},
        ],
    }  # fmt: skip
    suzuki = rows[floor["suzuki"]]
    assert (suzuki["made"], suzuki["kept"], suzuki["missed"], suzuki["kept_rate"]) == (2, 1, 0, 1.0)
    assert suzuki["trend"][1] == {"date": "2026-12-02", "kept": 0, "missed": 0, "kept_rate": None}
    assert rows[floor["sato_jp"]]["kept_rate"] is None
    # The same counts as the leaderboard's.
    board = api.get(f"/api/reports/agents?campaign_id={floor['id']}&{PERIOD}").json()["agents"]
    for row in board:
        mine = rows[row["agent_id"]]
        assert row["promises"] == {k: mine[k] for k in ("made", "kept", "missed", "kept_rate")}
    table = _sheet(api.get(f"/api/reports/campaigns/{floor['id']}/promises.csv?{PERIOD}"))
    assert table[0] == ["agent_id", "name", "date", "made", "kept", "missed", "kept_rate"]
    assert table[1] == [str(floor["sato"]), "Sato", "", "3", "2", "1", "0.6667"]
    assert table[3] == [str(floor["sato"]), "Sato", "2026-12-02", "", "1", "1", "0.5"]
    assert len(table) == 1 + 3 * 3
    # No period: the days run from the first to the last day with a promise due.
    whole = api.get(f"/api/reports/campaigns/{floor['id']}/promises").json()
    assert whole["days"] == ["2026-12-01", "2026-12-02", "2026-12-03"]


def test_conversions_by_channel(api: Api, floor: dict[str, Any]) -> None:
    body = api.get(f"/api/reports/campaigns/{floor['id']}/conversions?{PERIOD}").json()
    assert body["channels"] == [
        {"channel": "phone", "gross": 1, "cancelled": 0, "net": 1},
        {"channel": "web", "gross": 2, "cancelled": 0, "net": 2},  # the duplicate is not one
        {"channel": "postcard", "gross": 1, "cancelled": 1, "net": 0},
        {"channel": "other", "gross": 0, "cancelled": 0, "net": 0},
    ]
    assert body["total"] == {"gross": 4, "cancelled": 1, "net": 3}
    table = _sheet(api.get(f"/api/reports/campaigns/{floor['id']}/conversions.csv?{PERIOD}"))
    assert table[0] == ["channel", "gross", "cancelled", "net"]
    assert table[-1] == ["total", "4", "1", "3"] and len(table) == 6


def test_answers_by_local_hour(api: Api, floor: dict[str, Any]) -> None:
    body = api.get(f"/api/reports/campaigns/{floor['id']}/hours?{PERIOD}").json()
    assert body["timezone"] == "Asia/Tokyo"
    assert [h["hour"] for h in body["hours"]] == list(range(24))
    shown = {h["hour"]: h for h in body["hours"] if h["calls"]}
    assert shown == {
        9: {"hour": 9, "calls": 2, "answered": 1, "answer_rate": 0.5},
        14: {"hour": 14, "calls": 2, "answered": 0, "answer_rate": 0.0},
        23: {"hour": 23, "calls": 1, "answered": 1, "answer_rate": 1.0},
    }
    assert body["hours"][0] == {"hour": 0, "calls": 0, "answered": 0, "answer_rate": None}
    table = _sheet(api.get(f"/api/reports/campaigns/{floor['id']}/hours.csv?{PERIOD}"))
    assert table[0] == ["hour", "calls", "answered", "answer_rate"]
    assert table[10] == ["9", "2", "1", "0.5"] and table[1] == ["0", "0", "0", ""]


def test_hours_follow_the_campaigns_zone_across_a_dst_change(api: Api) -> None:
    c = api.campaign(timezone="America/New_York")
    assert api.import_csv(c["id"], "name,phone\nA,+12125550101\n").status_code == 201
    with _db(api).write() as s:
        lead = s.scalars(select(col(Lead.id)).where(col(Lead.campaign_id) == c["id"])).one()
        # 1 November 2026: 01:30 EDT, then 01:30 EST an hour later; then 09:15 EST.
        for at in ("2026-11-01T05:30:00+00:00", "2026-11-01T06:30:00+00:00",
                   "2026-11-01T14:15:00+00:00"):  # fmt: skip
            _call(s, lead, c["id"], None, datetime.fromisoformat(at), answered_by="human")
    body = api.get(f"/api/reports/campaigns/{c['id']}/hours?since=2026-11-01&until=2026-11-01")
    shown = {h["hour"]: h["calls"] for h in body.json()["hours"] if h["calls"]}
    assert shown == {1: 2, 9: 1}
    assert body.json()["since"] == "2026-11-01T00:00:00-04:00"
    assert body.json()["until"] == "2026-11-02T00:00:00-05:00"


@pytest.mark.parametrize(("lang", "title", "label"), [
    ("en", "Answer rate by hour of day", "Answer rate"),
    ("ja", "時間帯別の応答率", "応答率"),
])  # fmt: skip
def test_hours_chart_is_svg_with_text_labels(
    api: Api, floor: dict[str, Any], lang: str, title: str, label: str
) -> None:
    r = api.get(f"/api/reports/campaigns/{floor['id']}/hours.svg?{PERIOD}&lang={lang}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(r.content)
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title") is not None
    assert root.find(f"{SVG}title").text == title  # type: ignore[union-attr]
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert title in texts and label in texts
    assert any("Asia/Tokyo" in t for t in texts)


def test_promises_chart_draws_each_agent_with_promises_due(api: Api, floor: dict[str, Any]) -> None:
    r = api.get(f"/api/reports/campaigns/{floor['id']}/promises.svg?{PERIOD}&lang=ja")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(r.content)
    assert root.find(f"{SVG}title").text == "約束の履行率（日別）"  # type: ignore[union-attr]
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "Sato" in texts and "Suzuki" in texts and "履行率" in texts
    assert "佐藤" not in texts  # nothing due: no line, no legend entry
    # Japanese survives as text, with the generic family last for the browser.
    assert "font-family" in r.text and "sans-serif" in r.text


def test_refusals(api: Api, floor: dict[str, Any]) -> None:
    base = f"/api/reports/campaigns/{floor['id']}"
    for path in ("funnel", "promises", "conversions", "hours", "hours.svg", "promises.svg",
                 "funnel.csv", "promises.csv", "conversions.csv", "hours.csv"):  # fmt: skip
        expect_error(api.get(f"/api/reports/campaigns/999999/{path}"), 404, "campaign_not_found")
        assert expect_error(api.get(f"{base}/{path}?since=yesterday"), 400)["field"] == "since"
    agent = api.post("/api/agents", json={"name": "Ito", "campaign_ids": [floor["id"]]}).json()
    expect_error(api.get(f"{base}/funnel", token=agent["token"]), 403)
    assert expect_error(api.get(f"{base}/hours.svg?lang=fr"), 422)["field"] == "lang"
    too_long = api.get(f"{base}/promises?since=2026-01-01&until=2027-01-05")
    assert expect_error(too_long, 400)["field"] == "since"
    assert api.get(f"{base}/promises?since=2026-01-01&until=2026-12-31").status_code == 200


def test_a_chart_loads_with_the_session_cookie_as_an_img_does(
    api: Api, floor: dict[str, Any]
) -> None:
    """`<img src=".../hours.svg">` sends the cookie and no CSRF header (a GET)."""
    r = api.post("/api/agents", json={"name": "Boss", "role": "manager", "campaign_ids": []})
    assert r.status_code == 201, r.text
    password = "correct horse battery"
    assert (
        api.put(f"/api/agents/{r.json()['id']}/password", json={"password": password}).status_code
        == 204
    )
    signed = api.client.post("/api/session", json={"name": "Boss", "password": password})
    assert signed.status_code == 200, signed.text
    cookie = signed.cookies["dialer_session"]
    api.client.cookies.clear()
    chart = api.client.get(
        f"/api/reports/campaigns/{floor['id']}/hours.svg?{PERIOD}&lang=ja",
        headers={"Cookie": f"dialer_session={cookie}"},
    )
    assert chart.status_code == 200, chart.text
    assert chart.headers["content-type"].startswith("image/svg+xml")
    assert api.client.get(f"/api/reports/campaigns/{floor['id']}/hours.svg").status_code == 401


def test_the_abandon_standing_and_the_learned_hour_rates(api: Api, floor: dict[str, Any]) -> None:
    """Figures of now, whatever the period: the abandon window ends at the
    service clock (10:00 on 1 December in Tokyo)."""
    report = api.get(f"/api/reports/campaigns/{floor['id']}?{PERIOD}").json()
    # 30 days back: 9:10 today and 22:00 on 30 November were answered by a person.
    assert report["abandon"] == {
        "abandoned": 0,
        "answered": 2,
        "rate": 0.0,
        "max_rate": 0.03,
        "window_days": 30,
        "since_at": "2026-11-01T10:00:00+09:00",
        "over": False,
    }
    # Learned over the last 30 days by the lead's local hour (Tokyo's here).
    rates = report["hour_rates"]
    assert [r["hour"] for r in rates] == list(range(24))
    assert set(rates[0]) == {"hour", "attempts", "answered", "rate", "estimate"}
    seen = {r["hour"]: (r["attempts"], r["answered"], r["rate"]) for r in rates if r["attempts"]}
    assert seen == {9: (2, 1, 0.5), 22: (1, 1, 1.0)}
    # An hour without calls is estimated at the prior, the same for all of them.
    assert (
        rates[0]["rate"] is None and len({r["estimate"] for r in rates if not r["attempts"]}) == 1
    )
    assert rates[22]["estimate"] > rates[0]["estimate"] > 0
    sheet = _sheet(api.get(f"/api/reports/campaigns/{floor['id']}.csv?{PERIOD}"))
    assert ["abandon", "answered", "2"] in sheet and ["abandon", "over", "False"] in sheet
    assert ["hour_rates", "09.attempts", str(report["hour_rates"][9]["attempts"])] in sheet

    # A day later the call abandoned at 14:30 on the 2nd is in the window: 1 of 3.
    assert api.post("/api/admin/clock", json={"to": "2026-12-02T15:00:00+09:00"}).status_code == 200
    api.patch(f"/api/campaigns/{floor['id']}", json={"abandon_policy": {"window_days": 7}})
    abandon = api.get(f"/api/reports/campaigns/{floor['id']}").json()["abandon"]
    assert abandon == {
        "abandoned": 1,
        "answered": 3,
        "rate": 0.3333,
        "max_rate": 0.03,
        "window_days": 7,
        "since_at": "2026-11-25T15:00:00+09:00",
        "over": True,
    }
