"""Finding things (issue 12): a campaign's imports, and calls by lead, agent,
campaign and period, paginated, bounded, and scoped to an agent's own."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import Api, expect_error
from sqlalchemy import update

from dialer.leads.models import LeadImport


def _walk(api: Api, path: str, *, token: str | None = None, **params: Any) -> list[list[int]]:
    """Every page's ids, following the cursor."""
    pages: list[list[int]] = []
    cursor = None
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        r = api.get(path, params=query, token=token)
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


# --- imports ---------------------------------------------------------------------


def test_a_campaigns_imports_newest_first_with_a_status_filter(api: Api) -> None:
    campaign = api.campaign()
    other = api.campaign()
    ids = [
        api.import_csv(campaign["id"], f"name,phone\nA,090-4000-{n:04d}\n").json()["id"]
        for n in range(3)
    ]
    api.import_csv(other["id"], "name,phone\nB,090-4000-9999\n")
    runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.db.write() as session:
        session.execute(
            update(LeadImport).where(LeadImport.id == ids[1]).values(status="failed", error="x")
        )
    path = f"/api/campaigns/{campaign['id']}/imports"
    body = api.get(path).json()
    assert [i["id"] for i in body["items"]] == ids[::-1] and body["next_cursor"] is None
    first = body["items"][0]
    assert first["status"] == "done" and first["accepted"] == 1 and first["rows"] == 1
    assert first["created_by"].startswith("manager:") and first["created_at"].endswith("+09:00")  # the campaign's zone
    assert first["finished_at"] is not None and first["filename"] == "leads.csv"
    # A full last page has a cursor, to an empty page.
    assert _walk(api, path, limit=1) == [[ids[2]], [ids[1]], [ids[0]], []]
    assert [i["id"] for i in api.get(path, params={"status": "done"}).json()["items"]] == [
        ids[2],
        ids[0],
    ]
    failed = api.get(path, params={"status": "failed"}).json()["items"]
    assert [(i["id"], i["error"]) for i in failed] == [(ids[1], "x")]
    assert api.get(path, params={"status": "running"}).json() == {"items": [], "next_cursor": None}


def test_imports_list_bounds_and_roles(api: Api) -> None:
    campaign = api.campaign()
    agent = api.agent([campaign["id"]])
    path = f"/api/campaigns/{campaign['id']}/imports"
    expect_error(api.get(path, token=agent["token"]), 403)
    expect_error(api.get("/api/campaigns/999/imports"), 404, "campaign_not_found")
    expect_error(api.get(f"/api/campaigns/{2**63}/imports"), 422)
    for params in ({"status": "importing"}, {"limit": 0}, {"limit": 1001}):
        expect_error(api.get(path, params=params), 422, "validation_error")
    for cursor in ("x", "0", str(2**63), "1" * 40):
        expect_error(api.get(path, params={"cursor": cursor}), 422)


# --- calls -----------------------------------------------------------------------


@pytest.fixture
def floor(api: Api) -> dict[str, Any]:
    """Three unanswered calls: A's and B's on Tuesday 1 December, A's on Wednesday."""
    campaign = api.campaign()
    rows = "".join(f"L{n},090-5000-{n:04d}\n" for n in range(4))
    assert api.import_csv(campaign["id"], "name,phone\n" + rows).json()["accepted"] == 4
    a = api.agent([campaign["id"]], name="A")
    b = api.agent([campaign["id"]], name="B")

    def call(agent: dict[str, Any]) -> dict[str, Any]:
        lead = api.next(agent).json()["lead"]
        r = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"])
        assert r.status_code == 201, r.text
        api.advance(30)  # unanswered: settled and released
        return dict(r.json())

    first, second = call(a), call(b)
    api.advance(86_400 - 60)
    third = call(a)
    return {"campaign": campaign, "a": a, "b": b, "calls": [first, second, third]}


def _ids(api: Api, *, token: str | None = None, **params: Any) -> list[int]:
    r = api.get("/api/calls", params=params, token=token)
    assert r.status_code == 200, r.text
    return [call["id"] for call in r.json()["items"]]


def test_calls_by_lead_agent_campaign_and_day(api: Api, floor: dict[str, Any]) -> None:
    c1, c2, c3 = (c["id"] for c in floor["calls"])
    a, b = floor["a"], floor["b"]
    campaign_id = floor["campaign"]["id"]
    assert _ids(api) == [c3, c2, c1]  # newest first
    assert _ids(api, campaign_id=campaign_id) == [c3, c2, c1]
    assert _ids(api, agent_id=a["id"]) == [c3, c1]
    assert _ids(api, agent_id=b["id"]) == [c2]
    assert _ids(api, lead_id=floor["calls"][1]["lead_id"]) == [c2]
    # Dates are the campaign's days (Tokyo); `until` includes its day.
    assert _ids(api, campaign_id=campaign_id, since="2026-12-02") == [c3]
    assert _ids(api, campaign_id=campaign_id, until="2026-12-01") == [c2, c1]
    assert _ids(api, since="2026-12-01T10:00:10+09:00", until="2026-12-02T00:00:00+09:00") == [c2]
    assert _ids(api, agent_id=a["id"], since="2026-12-03") == []
    call = api.get("/api/calls", params={"agent_id": b["id"]}).json()["items"][0]
    assert call["status"] == "no-answer" and call["agent_id"] == b["id"]
    assert call["created_at"].endswith("+09:00")  # the campaign's zone


def test_calls_pages_follow_the_cursor(api: Api, floor: dict[str, Any]) -> None:
    c1, c2, c3 = (c["id"] for c in floor["calls"])
    assert _walk(api, "/api/calls", limit=1) == [[c3], [c2], [c1], []]
    assert _walk(api, "/api/calls", limit=2) == [[c3, c2], [c1]]
    assert _walk(api, "/api/calls", limit=3) == [[c3, c2, c1], []]
    assert _walk(api, "/api/calls", limit=1, agent_id=floor["a"]["id"]) == [[c3], [c1], []]


def test_an_agent_lists_its_own_calls_only(api: Api, floor: dict[str, Any]) -> None:
    c1, c2, c3 = (c["id"] for c in floor["calls"])
    a, b = floor["a"], floor["b"]
    assert _ids(api, token=a["token"]) == [c3, c1]
    assert _ids(api, token=a["token"], agent_id=a["id"]) == [c3, c1]
    assert _ids(api, token=b["token"]) == [c2]
    # Another agent's lead, through its own calls: nothing of the other's.
    assert _ids(api, token=a["token"], lead_id=floor["calls"][1]["lead_id"]) == []
    expect_error(api.get("/api/calls", params={"agent_id": b["id"]}, token=a["token"]), 403)
    expect_error(api.get("/api/calls", token="nope"), 401)


def test_calls_list_bounds(api: Api, floor: dict[str, Any]) -> None:
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"since": "2026-12-02", "until": "2026-12-01"}, 422, "validation_error"),
        ({"since": "2026-12-01", "until": "2026-11-30T15:00:00+00:00"}, 422, "validation_error"),
        ({"since": "2025-01-01", "until": "2026-12-01"}, 422, "period_too_long"),
        ({"since": "1999-12-31"}, 400, "bad_input"),  # the years 2000–2100, as reports say
        ({"until": "2101-01-01"}, 400, "bad_input"),
        ({"since": "yesterday"}, 400, "bad_input"),
        ({"since": "2026-12-01T25:00:00"}, 400, "bad_input"),
        ({"since": "x" * 41}, 422, "validation_error"),
        ({"lead_id": 2**63}, 422, "validation_error"),
        ({"agent_id": 2**63}, 422, "validation_error"),
        ({"campaign_id": 0}, 422, "validation_error"),
        ({"limit": 1001}, 422, "validation_error"),
        ({"cursor": "abc"}, 422, "bad_cursor"),
        ({"cursor": str(2**63)}, 422, "bad_cursor"),
        ({"cursor": "99999"}, 422, "bad_cursor"),
        ({"lead_id": 99999}, 404, "lead_not_found"),
        ({"agent_id": 99999}, 404, "agent_not_found"),
        ({"campaign_id": 99999}, 404, "campaign_not_found"),
    ]
    problems = []
    for params, status, code in cases:
        r = api.get("/api/calls", params=params)
        if r.status_code != status or r.json().get("code") != code:
            problems.append(f"{params}: {r.status_code} {r.text[:200]}")
    assert not problems, "\n".join(problems)
    # A whole year (2028 is a leap year: 366 days) is allowed.
    assert _ids(api, since="2028-01-01", until="2028-12-31") == []
