"""Times a person can read: a campaign's resources come back in the campaign's
zone (ISO 8601 with its offset), messages name local times, and date-only or
offset-less inputs mean the campaign's local day and wall time. The clock starts
at 10:00 Tokyo on Tuesday 1 December 2026 (01:00 UTC)."""

from __future__ import annotations

from typing import Any

from helpers import Api, expect_error

ALL_DAY = [{"days": "daily", "start": "00:00", "end": "24:00"}]
TOKYO = "+09:00"


def _floor(api: Api, csv: str, **campaign: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    c = api.campaign(**campaign)
    assert api.import_csv(c["id"], csv).status_code == 201
    return c, api.agent([c["id"]])


def _instants(value: Any, key: str = "") -> list[tuple[str, str]]:
    """Every (key, value) of an answer whose key names an instant."""
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _instants(v, k)]
    if isinstance(value, list):
        return [pair for v in value for pair in _instants(v, key)]
    instant_key = key.endswith("_at") or key in ("at", "window_end", "slot_start", "until")
    return [(key, value)] if instant_key and isinstance(value, str) else []


def test_a_campaigns_resources_come_back_in_its_zone(api: Api) -> None:
    c, agent = _floor(api, "name,phone\nYamada,090-5100-0001\n")
    assert c["created_at"] == "2026-12-01T10:00:00+09:00"
    got = api.next(agent).json()
    lead = got["lead"]
    assert got["claim_expires_at"] == "2026-12-01T10:15:00+09:00"
    assert lead["created_at"] == "2026-12-01T10:00:00+09:00"
    api.post("/api/admin/sim/outcomes", json={"phone": "090-5100-0001", "outcomes": ["answered"]})
    call = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={}).json()
    assert call["created_at"] == "2026-12-01T10:00:00+09:00"
    assert call["answered_at"] == "2026-12-01T10:00:00+09:00"
    # A time without an offset is a Tokyo wall time.
    r = api.post(
        f"/api/leads/{lead['id']}/promises", token=agent["token"], json={"at": "2026-12-01T12:00"}
    )
    assert r.status_code == 201, r.text
    promise = r.json()
    assert (promise["due_at"], promise["window_end"], promise["slot_start"]) == (
        "2026-12-01T12:00:00+09:00",
        "2026-12-01T12:05:00+09:00",
        "2026-12-01T12:00:00+09:00",
    )
    api.advance(60)
    r = api.post(
        f"/api/calls/{call['id']}/disposition", token=agent["token"], json={"outcome": "callback"}
    )
    assert r.status_code == 200 and r.json()["ended_at"] == "2026-12-01T10:01:00+09:00"
    assert api.get(f"/api/calls/{call['id']}").json()["answered_at"].endswith(TOKYO)
    listed = api.get(f"/api/agents/{agent['id']}/promises", token=agent["token"]).json()
    assert listed["items"][0]["due_at"] == "2026-12-01T12:00:00+09:00"
    assert (
        api.get(f"/api/promises?campaign_id={c['id']}").json()["items"][0]["due_at"].endswith(TOKYO)
    )
    detail = api.get(f"/api/leads/{lead['id']}").json()
    booked = next(e for e in detail["events"] if e["kind"] == "promise_booked")
    assert booked["at"] == "2026-12-01T10:00:00+09:00"
    # The history's own instants (stored as UTC text) are shown in the zone too.
    assert booked["detail"]["due_at"] == "2026-12-01T12:00:00+09:00"
    found = _instants(detail)
    assert len(found) > 8 and all(v.endswith(TOKYO) for _k, v in found), found
    page = api.get(f"/api/campaigns/{c['id']}/leads").json()["items"]
    assert [(x["created_at"], x["next_attempt_at"]) for x in page] == [
        ("2026-12-01T10:00:00+09:00", "2026-12-01T12:00:00+09:00")
    ]
    queue = api.get(f"/api/campaigns/{c['id']}/queue").json()
    assert queue["next_due_at"] == "2026-12-01T12:00:00+09:00"
    why = api.get(f"/api/leads/{lead['id']}/eligibility").json()
    assert why["next_callable_at"] == "2026-12-01T12:00:00+09:00"
    assert all(b["until"] is None or b["until"].endswith(TOKYO) for b in why["blocked_by"])
    # Resources of no campaign stay in UTC.
    assert api.get("/api/agents").json()["items"][0]["created_at"].endswith("+00:00")
    r = api.post("/api/dnc", json={"phone": "090-5100-0999", "reason": "asked"})
    assert r.json()["created_at"] == "2026-12-01T01:01:00+00:00"


def test_each_campaign_speaks_its_own_zone(api: Api) -> None:
    ny, _ = _floor(
        api, "name,phone\nSmith,+1 212 555 0100\n", timezone="America/New_York", default_region="US"
    )
    assert ny["created_at"] == "2026-11-30T20:00:00-05:00"
    lead = api.get(f"/api/campaigns/{ny['id']}/leads").json()["items"][0]
    assert lead["created_at"] == "2026-11-30T20:00:00-05:00"
    utc, _ = _floor(api, "name,phone\nSato,090-5100-0002\n", timezone="UTC")
    assert utc["created_at"] == "2026-12-01T01:00:00+00:00"


def test_refusals_name_local_times(api: Api) -> None:
    _c, agent = _floor(api, "name,phone\nYamada,090-5200-0001\n")
    lead = api.next(agent).json()["lead"]
    url = f"/api/leads/{lead['id']}/promises"
    body = expect_error(
        api.post(url, token=agent["token"], json={"at": "2026-12-01T21:00:00+09:00"}),
        409,
        "outside_calling_hours",
    )
    assert body["detail"] == (
        "2026-12-01 21:00 Asia/Tokyo is outside calling hours; the earliest bookable: "
        "2026-12-02 09:00 Asia/Tokyo, 2026-12-02 09:05 Asia/Tokyo, 2026-12-02 09:10 Asia/Tokyo"
    )
    assert body["suggestions"][0] == "2026-12-02T09:00:00+09:00"
    # The same instant given in UTC is refused in the same local words.
    body = expect_error(
        api.post(url, token=agent["token"], json={"at": "2026-12-01T12:00:00Z"}), 409
    )
    assert body["detail"].startswith("2026-12-01 21:00 Asia/Tokyo is outside calling hours")
    body = expect_error(api.post(url, token=agent["token"], json={"at": "2026-12-01T09:30"}), 422)
    assert body["field"] == "at"
    assert (
        "2026-12-01 09:30 Asia/Tokyo is in the past (it is 2026-12-01 10:00 Asia/Tokyo)"
        in (body["detail"])
    )
    body = expect_error(
        api.post(
            url,
            token=agent["token"],
            json={"window": {"start": "2026-12-01T08:00", "end": "2026-12-01T09:00"}},
        ),
        422,
    )
    assert "ended at 2026-12-01 09:00 Asia/Tokyo" in body["detail"]
    # At dial time: a claim taken at 19:55 is dialed at 20:01, after the hours
    # closed; the refusal says when they open.
    api.advance(9 * 3600 + 55 * 60)
    fresh = api.next(agent).json()["lead"]
    api.advance(6 * 60)
    body = expect_error(
        api.post(f"/api/leads/{fresh['id']}/calls", token=agent["token"], json={}),
        409,
        "outside_calling_hours",
    )
    assert body["detail"] == (
        "2026-12-01 20:01 Asia/Tokyo is outside calling hours; "
        "they open at 2026-12-02 09:00 Asia/Tokyo"
    )
    assert body["next_opening"] == "2026-12-02T09:00:00+09:00"


def test_a_sign_up_list_dated_today_is_taken_at_nine_in_the_morning(api: Api) -> None:
    """09:00 Tokyo on 2 December is still 1 December in UTC: a row dated today
    used to be noon local, three hours in the future, and refused."""
    c, _agent = _floor(api, "name,phone\nYamada,090-5300-0001\n")
    assert api.advance(23 * 3600) == "2026-12-02T00:00:00+00:00"  # 09:00 Tokyo
    text = "reference,channel,phone,occurred_at\nW-1,web,090-5300-0001,2026-12-02\n"
    r = api.post(
        f"/api/campaigns/{c['id']}/conversions/imports",
        files={"file": ("web.csv", text.encode(), "text/csv")},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["created"], r.json()["invalid"]) == (1, 0), r.json()
    items = api.get(f"/api/conversions?campaign_id={c['id']}").json()["items"]
    assert items[0]["occurred_at"] == "2026-12-02T09:00:00+09:00"  # now: the day runs
    # The API takes the same date alone, and refuses tomorrow in local words.
    r = api.post(
        "/api/conversions",
        json={"campaign_id": c["id"], "reference": "W-2", "channel": "web",
              "phone": "090-5300-0002", "occurred_at": "2026-12-02"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["occurred_at"] == "2026-12-02T09:00:00+09:00"
    body = expect_error(
        api.post(
            "/api/conversions",
            json={
                "campaign_id": c["id"],
                "reference": "W-3",
                "channel": "web",
                "phone": "090-5300-0003",
                "occurred_at": "2026-12-03",
            },
        ),
        422,
    )
    assert body["field"] == "occurred_at"
    assert "in the future (it is 2026-12-02 09:00 Asia/Tokyo)" in body["detail"]


def test_a_report_day_is_the_campaigns_local_day(api: Api) -> None:
    c, agent = _floor(
        api,
        "name,phone\nLate,090-5400-0001\nEarly,090-5400-0002\n",
        calling_hours=ALL_DAY,
        skip_holidays=False,
    )
    api.advance(13.5 * 3600)  # 23:30 Tokyo, 1 December
    late = api.next(agent).json()["lead"]
    assert (
        api.post(f"/api/leads/{late['id']}/calls", token=agent["token"], json={}).status_code == 201
    )
    api.advance(3600)  # 00:30 Tokyo, 2 December (still 1 December in UTC)
    early = api.next(agent).json()["lead"]
    r = api.post(f"/api/leads/{early['id']}/calls", token=agent["token"], json={})
    assert r.status_code == 201 and r.json()["created_at"] == "2026-12-02T00:30:00+09:00"

    def calls(query: str) -> int:
        report = api.get(f"/api/reports/agents?campaign_id={c['id']}&{query}").json()
        return int(report["agents"][0]["calls"])

    assert calls("since=2026-12-02") == 1
    assert calls("since=2026-12-02&until=2026-12-02") == 1
    assert calls("since=2026-12-01&until=2026-12-01") == 1
    assert calls("until=2026-12-01") == 1
    # A time without an offset is a Tokyo wall time; one with an offset an instant.
    assert calls("since=2026-12-02T00:00") == 1
    assert calls("since=2026-12-01T15:00:00%2B00:00") == 1
    assert calls("since=2026-12-01T14:00:00%2B00:00") == 2
    report = api.get(
        f"/api/reports/agents?campaign_id={c['id']}&since=2026-12-02&until=2026-12-02"
    ).json()
    assert (report["since"], report["until"]) == (
        "2026-12-02T00:00:00+09:00",
        "2026-12-03T00:00:00+09:00",
    )
    campaign = api.get(f"/api/reports/campaigns/{c['id']}?since=2026-12-02").json()
    assert campaign["since"] == "2026-12-02T00:00:00+09:00"
    assert sum(campaign["calls_by_status"].values()) == 1
