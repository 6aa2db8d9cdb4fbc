"""The do-not-call audit: GET /api/dnc/history, the lift's reason, and who
listed an entry (`created_by`)."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import Api, expect_error

EVENT_KEYS = {"id", "phone", "at", "actor", "actor_name", "kind", "reason"}


def _history(api: Api, **params: Any) -> dict[str, Any]:
    r = api.get("/api/dnc/history", params=params)
    assert r.status_code == 200, r.text
    body = dict(r.json())
    assert set(body) == {"items", "next_cursor"}
    for item in body["items"]:
        assert set(item) == EVENT_KEYS
    return body


def test_add_import_and_lift_are_kept_newest_first(api: Api) -> None:
    r = api.post("/api/dnc", json={"phone": "090-1234-5678", "reason": "asked on the call"})
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["created_by"].startswith("manager:")
    api.advance(60)
    upload = api.post(
        "/api/dnc/imports",
        files={"file": ("dnc.csv", b"phone,reason\n03-1234-5678,from the CRM\n", "text/csv")},
    )
    assert upload.status_code == 201, upload.text
    api.advance(60)
    lifted = api.delete("/api/dnc/+819012345678", params={"reason": "listed by mistake"})
    assert lifted.status_code == 204, lifted.text
    items = _history(api)["items"]
    assert [(i["kind"], i["phone"], i["reason"]) for i in items] == [
        ("lifted", "+819012345678", "listed by mistake"),
        ("imported", "+81312345678", "from the CRM"),
        ("added", "+819012345678", "asked on the call"),
    ]
    # Instants in UTC: the list is of no campaign.
    assert [i["at"] for i in items] == [
        "2026-12-01T01:02:00+00:00",
        "2026-12-01T01:01:00+00:00",
        "2026-12-01T01:00:00+00:00",
    ]
    assert {i["actor"] for i in items} == {entry["created_by"]}
    assert all(i["actor_name"] for i in items)
    # The lifted entry is gone from the list; its story stays.
    assert [e["phone"] for e in api.get("/api/dnc").json()["items"]] == ["+81312345678"]


@pytest.mark.parametrize("query", ["090-1234-5678", "+81 90 1234 5678", "０９０１２３４５６７８"])
def test_one_phone_in_any_format(api: Api, query: str) -> None:
    api.post("/api/dnc", json={"phone": "090-1234-5678", "reason": "a"})
    api.post("/api/dnc", json={"phone": "03-1234-5678", "reason": "b"})
    assert api.delete("/api/dnc/09012345678").status_code == 204
    items = _history(api, phone=query)["items"]
    assert [(i["kind"], i["reason"]) for i in items] == [("lifted", ""), ("added", "a")]


def test_listing_twice_records_once(api: Api) -> None:
    api.post("/api/dnc", json={"phone": "090-1234-5678", "reason": "first"})
    again = api.post("/api/dnc", json={"phone": "09012345678", "reason": "second"})
    assert again.status_code == 200
    api.post(
        "/api/dnc/imports",
        files={"file": ("dnc.csv", b"phone\n090-1234-5678\n090-1234-5678\n", "text/csv")},
    )
    assert [i["reason"] for i in _history(api)["items"]] == ["first"]


def test_a_refused_lift_records_nothing(api: Api) -> None:
    expect_error(api.delete("/api/dnc/090-1234-5678"), 404, "dnc_not_found")
    r = api.delete("/api/dnc/090-1234-5678", params={"reason": "x" * 201})
    assert expect_error(r, 422)["field"] == "reason"
    assert _history(api)["items"] == []


def test_pages(api: Api) -> None:
    for n in range(5):
        api.post("/api/dnc", json={"phone": f"090-1234-000{n}", "reason": str(n)})
    first = _history(api, limit=2)
    assert [i["reason"] for i in first["items"]] == ["4", "3"]
    second = _history(api, limit=2, cursor=first["next_cursor"])
    assert [i["reason"] for i in second["items"]] == ["2", "1"]
    third = _history(api, limit=2, cursor=second["next_cursor"])
    assert [i["reason"] for i in third["items"]] == ["0"]
    assert third["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"limit": 0}, 422, "limit"),
        ({"limit": 1001}, 422, "limit"),
        ({"cursor": "abc"}, 422, "cursor"),
        ({"phone": "x" * 65}, 422, "phone"),
        ({"phone": "not a phone"}, 400, "phone"),
    ],
)
def test_bad_queries_name_the_field(
    api: Api, params: dict[str, Any], status: int, field: str
) -> None:
    assert expect_error(api.get("/api/dnc/history", params=params), status)["field"] == field


def test_for_managers_only(api: Api) -> None:
    campaign = api.campaign()
    agent = api.agent([campaign["id"]])
    expect_error(api.get("/api/dnc/history", token=agent["token"]), 403)
