"""The compliance report over HTTP: a scripted day on the simulated clock (dials
through the API, a refusal, an abandon) reports nothing wrong; then one
deliberate violation of each kind, written into the lead histories as a dialer
bug would leave them, is found with its lead and call; the CSV; bad periods."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import pytest
from helpers import Api, expect_error, jst

from dialer.calls.disposition import abandon
from dialer.calls.models import Call
from dialer.leads import history

PHONES = {name: f"+8190700000{n:02d}" for n, name in enumerate("ABCDEFG", start=1)}
LEADS = "name,phone\n" + "".join(f"{name},0{p[3:]}\n" for name, p in PHONES.items())
# What the agent says on each lead, in queue (import) order; G never answers.
OUTCOMES = {
    "A": "converted",
    "B": "refused",
    "C": None,  # answered, then abandoned: nobody could take it
    "D": "not_interested",
    "E": "converted",
    "F": "not_interested",
    "G": "no-answer",
}
DAY = "from=2026-12-01&to=2026-12-01"


def _db(api: Api) -> Any:
    return api.client.app.state.runtime.db  # type: ignore[attr-defined]


def _report(api: Api, campaign_id: int, query: str = DAY) -> dict[str, Any]:
    r = api.get(f"/api/reports/campaigns/{campaign_id}/compliance?{query}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _checks(report: dict[str, Any]) -> dict[str, int]:
    return {c["check"]: c["count"] for c in report["checks"]}


@pytest.fixture
def day(api: Api) -> dict[str, Any]:
    """A Tokyo campaign's Tuesday: seven leads dialled by one agent through the
    API from 10:00, six answered (one refused, one abandoned), one not."""
    c = api.campaign(timezone="Asia/Tokyo", abandon_policy={"max_rate": 0.2})
    assert api.import_csv(c["id"], LEADS).status_code == 201
    agent = api.agent([c["id"]], name="Sato")
    for name, outcome in OUTCOMES.items():
        sim = "no-answer" if outcome == "no-answer" else "answered"
        api.post("/api/admin/sim/outcomes", json={"phone": PHONES[name], "outcomes": [sim]})
    leads: dict[str, int] = {}
    calls: dict[str, int] = {}
    for name, outcome in OUTCOMES.items():
        lead = api.next(agent).json()["lead"]
        assert lead["name"] == name
        r = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={})
        assert r.status_code == 201, r.text
        leads[name], calls[name] = lead["id"], r.json()["id"]
        api.advance(60)
        if outcome is None:
            with _db(api).write() as s:
                call = s.get(Call, calls[name])
                runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
                abandon(s, call=call, at=runtime.now_in(s), why="no agent free")
        elif outcome != "no-answer":
            r = api.post(
                f"/api/calls/{calls[name]}/disposition",
                token=agent["token"],
                json={"outcome": outcome},
            )
            assert r.status_code == 200, r.text
        api.advance(60)
    return {"campaign": c, "agent": agent, "leads": leads, "calls": calls}


def _rogue_dial(
    api: Api, day: dict[str, Any], name: str, *, at: datetime, reserved: bool = True
) -> int:
    """A dial no rule stopped: the call row and its `call_placed`, as a dialer
    bug would leave them (placing.place_call is the only writer of both)."""
    with _db(api).write() as s:
        call = Call(
            lead_id=day["leads"][name],
            campaign_id=day["campaign"]["id"],
            agent_id=day["agent"]["id"],
            to=PHONES[name],
            provider="simulated",
            status="no-answer",
            created_at=at,
        )
        s.add(call)
        s.flush()
        assert call.id is not None
        history.record(
            s, lead_id=call.lead_id, kind="call_placed", actor="dialer", at=at, call_id=call.id,
            to=call.to, attempt=2, reserved=reserved,
        )  # fmt: skip
        return call.id


def test_a_clean_day_reports_nothing_wrong(api: Api, day: dict[str, Any]) -> None:
    report = _report(api, day["campaign"]["id"])
    assert report["from"] == "2026-12-01T00:00:00+09:00"
    assert report["to"] == "2026-12-02T00:00:00+09:00"
    assert report["timezone"] == "Asia/Tokyo" and report["dials"] == 7
    assert report["policy"] == {
        "max_rate": 0.2,
        "window_days": 30,
        "connect_seconds": 2,
        "no_recall_hours": 72,
    }
    assert report["checks"] == [
        {"check": check, "count": 0, "ok": True}
        for check in (
            "outside_calling_hours",
            "dnc_dialed",
            "after_refusal",
            "abandon_rate_over_cap",
            "recalled_after_abandon",
        )
    ]
    assert report["violations"] == [] and report["violations_truncated"] is False
    # Hours moved since to open at 11:00: the day's dials are held to the hours they had.
    later = [{"days": "mon-fri", "start": "11:00", "end": "20:00"}]
    r = api.patch(f"/api/campaigns/{day['campaign']['id']}", json={"calling_hours": later})
    assert r.status_code == 200, r.text
    assert _report(api, day["campaign"]["id"])["violations"] == []
    assert report["abandon_windows"] == [
        {
            "day": "2026-12-01",
            "since_at": "2026-11-02T00:00:00+09:00",
            "until_at": "2026-12-02T00:00:00+09:00",
            "answered": 6,
            "abandoned": 1,
            "rate": 0.1667,
            "over": False,
        }
    ]


def test_one_violation_of_each_kind_is_found(api: Api, day: dict[str, Any]) -> None:
    cid = day["campaign"]["id"]
    # "Don't call" F from 11:00; B's refusal listed B, and a manager lifts it
    # (which does not make B callable: B refused).
    api.advance(3600 - 14 * 60)  # 11:00
    assert api.post("/api/dnc", json={"phone": PHONES["F"], "reason": "asked"}).status_code == 201
    assert api.delete(f"/api/dnc/{PHONES['B']}").status_code == 204
    assert _checks(_report(api, cid)) == dict.fromkeys(_checks(_report(api, cid)), 0)

    late = _rogue_dial(api, day, "G", at=jst(2026, 12, 1, 23))
    listed = _rogue_dial(api, day, "F", at=jst(2026, 12, 1, 15))
    refused = _rogue_dial(api, day, "B", at=jst(2026, 12, 1, 15, 30))
    recalled = _rogue_dial(api, day, "C", at=jst(2026, 12, 1, 16), reserved=False)
    # E's call, answered at 10:08, recorded abandoned too: 2 of 6 is over the 20% cap.
    with _db(api).write() as s:
        history.record(
            s, lead_id=day["leads"]["E"], kind="call_abandoned", actor="system",
            at=jst(2026, 12, 1, 10, 9), call_id=day["calls"]["E"], why="injected",
        )  # fmt: skip

    report = _report(api, cid)
    assert report["dials"] == 11
    assert _checks(report) == {
        "outside_calling_hours": 1,
        "dnc_dialed": 1,
        "after_refusal": 1,
        "abandon_rate_over_cap": 1,
        "recalled_after_abandon": 1,
    }
    assert [c["ok"] for c in report["checks"]] == [False] * 5
    found = [(v["check"], v["lead_id"], v["call_id"], v["at"]) for v in report["violations"]]
    leads = day["leads"]
    assert found == [
        ("dnc_dialed", leads["F"], listed, "2026-12-01T15:00:00+09:00"),
        ("after_refusal", leads["B"], refused, "2026-12-01T15:30:00+09:00"),
        ("recalled_after_abandon", leads["C"], recalled, "2026-12-01T16:00:00+09:00"),
        ("outside_calling_hours", leads["G"], late, "2026-12-01T23:00:00+09:00"),
        ("abandon_rate_over_cap", None, None, "2026-12-02T00:00:00+09:00"),
    ]
    details = {v["check"]: v["detail"] for v in report["violations"]}
    assert "2026-12-01 23:00 Asia/Tokyo" in details["outside_calling_hours"]
    assert PHONES["F"] in details["dnc_dialed"] and "11:00" in details["dnc_dialed"]
    assert f"refused on call {day['calls']['B']}" in details["after_refusal"]
    assert f"call {day['calls']['C']} was abandoned" in details["recalled_after_abandon"]
    [window] = report["abandon_windows"]
    assert (window["answered"], window["abandoned"], window["over"]) == (6, 2, True)

    # The day before knows nothing of it; the next day's window still counts the abandons.
    before = _report(api, cid, "from=2026-11-30&to=2026-11-30")
    assert before["dials"] == 0 and before["violations"] == []
    after = _report(api, cid, "from=2026-12-02&to=2026-12-02")
    assert after["dials"] == 0
    assert [v["check"] for v in after["violations"]] == ["abandon_rate_over_cap"]

    r = api.get(f"/api/reports/campaigns/{cid}/compliance.csv?{DAY}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="campaign-' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [(row["row"], row["check"], row["count"], row["ok"]) for row in rows[:5]] == [
        ("check", check, "1", "False") for check, _ in _checks(report).items()
    ]
    violations = [row for row in rows if row["row"] == "violation"]
    assert [(row["check"], row["lead_id"], row["call_id"]) for row in violations] == [
        (check, str(lead or ""), str(call or "")) for check, lead, call, _ in found
    ]
    [window_row] = [row for row in rows if row["row"] == "window"]
    assert window_row["day"] == "2026-12-01" and window_row["ok"] == "False"
    assert (window_row["answered"], window_row["abandoned"], window_row["rate"]) == (
        "6",
        "2",
        "0.3333",
    )


def test_without_a_period_it_covers_the_last_30_days(api: Api) -> None:
    c = api.campaign(timezone="Asia/Tokyo")
    report = _report(api, c["id"], "")
    assert (report["from"], report["to"]) == (
        "2026-11-02T00:00:00+09:00",
        "2026-12-02T00:00:00+09:00",
    )
    assert len(report["abandon_windows"]) == 30 and report["dials"] == 0


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("from=yesterday", 400, "from"),
        ("to=2026-13-01", 400, "to"),
        ("from=2026-12-02&to=2026-12-01", 400, "to"),
        ("from=1999-12-01&to=2026-12-01", 400, "from"),
        ("from=2025-11-30&to=2026-12-01", 422, "to"),
        ("from=" + "9" * 41, 422, "from"),
    ],
)
def test_a_bad_period_is_refused(api: Api, query: str, status: int, field: str) -> None:
    c = api.campaign(timezone="Asia/Tokyo")
    body = expect_error(api.get(f"/api/reports/campaigns/{c['id']}/compliance?{query}"), status)
    assert field in body["detail"] or body.get("field") == field, body


def test_who_may_read_it(api: Api) -> None:
    c = api.campaign()
    agent = api.agent([c["id"]])
    path = f"/api/reports/campaigns/{c['id']}/compliance"
    expect_error(api.get(path, token=agent["token"]), 403)
    expect_error(api.get("/api/reports/campaigns/999999/compliance"), 404, "campaign_not_found")
    expect_error(api.get("/api/reports/campaigns/999999/compliance.csv"), 404)
