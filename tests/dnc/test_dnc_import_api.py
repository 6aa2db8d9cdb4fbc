"""Bulk do-not-call: POST /api/dnc/imports, a CSV of phones and reasons."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import Api, expect_error

REPORT_KEYS = {"rows", "added", "already_listed", "invalid", "errors"}


def _upload(api: Api, data: bytes, *, filename: str = "dnc.csv", token: str | None = None) -> Any:
    return api.post("/api/dnc/imports", token=token, files={"file": (filename, data, "text/csv")})


def _dnc_items(api: Api, phone: str | None = None) -> list[dict[str, Any]]:
    r = api.get("/api/dnc", params={"phone": phone} if phone is not None else None)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_mixed_file_counts_every_kind_of_row(api: Api) -> None:
    existing = api.post("/api/dnc", json={"phone": "03-1234-5678", "reason": "typed in"}).json()
    text = (
        "phone,reason\n"
        "090-1234-5678,asked on the call\n"  # 1 added
        "+81 3 1234 5678,listed before\n"  # 2 already on the list
        "09012345678,again in the file\n"  # 3 earlier in this file
        "03-12,too short\n"  # 4 invalid
        ",no phone at all\n"  # 5 invalid: empty
        "080-1111-2222\n"  # 6 added, no reason cell
        "\n"  # blank: skipped, not a row
    )
    r = _upload(api, text.encode())
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == REPORT_KEYS
    assert {k: body[k] for k in ("rows", "added", "already_listed", "invalid")} == {
        "rows": 6,
        "added": 2,
        "already_listed": 2,
        "invalid": 2,
    }
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(4, "phone"), (5, "phone")]
    assert "'03-12'" in body["errors"][0]["reason"]
    assert body["errors"][1]["reason"]
    # What the list holds now: the earlier entry untouched, the two new ones.
    assert sorted(i["phone"] for i in _dnc_items(api)) == [
        "+81312345678",
        "+818011112222",
        "+819012345678",
    ]
    assert _dnc_items(api, "03-1234-5678") == [existing]


def test_reasons_and_source_are_stored(api: Api) -> None:
    text = (
        "phone,reason\n"
        "090-1234-5678,asked on the call\n"
        "090-1234-5678,second reason\n"
        "03-1234-5678,\n"
    )
    r = _upload(api, text.encode(), filename="refusals-december.csv")
    assert r.status_code == 201, r.text
    (first,) = _dnc_items(api, "090-1234-5678")
    # The first row for a phone sets its reason; a repeat does not overwrite it.
    assert first["reason"] == "asked on the call"
    assert first["source"] == "import:refusals-december.csv"
    assert first["created_at"].startswith("2026-12-01T01:00:00")
    (second,) = _dnc_items(api, "+81312345678")
    assert second["reason"] == ""


def test_reason_column_is_optional(api: Api) -> None:
    r = _upload(api, b"tel\n090-1234-5678\n03-1234-5678\n")
    assert r.status_code == 201, r.text
    assert (r.json()["added"], r.json()["invalid"]) == (2, 0)
    assert {i["reason"] for i in _dnc_items(api)} == {""}


@pytest.mark.parametrize("reason_header", ["理由", "備考", "Reason"])
def test_cp932_file_with_japanese_headers(api: Api, reason_header: str) -> None:
    text = (
        f"氏名,電話番号,{reason_header}\r\n"
        "山田 太郎,０９０－１２３４－５６７８,本人より架電停止の申し出\r\n"
    )
    r = _upload(api, text.encode("cp932"))
    assert r.status_code == 201, r.text
    assert (r.json()["rows"], r.json()["added"], r.json()["invalid"]) == (1, 1, 0)
    (entry,) = _dnc_items(api, "090-1234-5678")
    assert entry["phone"] == "+819012345678"
    assert entry["reason"] == "本人より架電停止の申し出"


def test_utf8_bom_and_tab_separated(api: Api) -> None:
    text = "\ufeff電話番号\t理由\n03-1234-5678\t法人: 本社指示\n"
    r = _upload(api, text.encode("utf-8"))
    assert r.status_code == 201, r.text
    assert r.json()["added"] == 1
    assert _dnc_items(api, "03-1234-5678")[0]["reason"] == "法人: 本社指示"


def test_overlong_reason_is_that_rows_error(api: Api) -> None:
    text = f"phone,reason\n090-1234-5678,{'x' * 201}\n03-1234-5678,{'y' * 200}\n"
    r = _upload(api, text.encode())
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["added"], body["invalid"]) == (1, 1)
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(1, "reason")]
    assert [i["phone"] for i in _dnc_items(api)] == ["+81312345678"]


def test_errors_list_stops_at_1000_but_counts_go_on(api: Api) -> None:
    text = "phone,reason\n" + "03-12,bad\n" * 1005 + "090-1234-5678,ok\n"
    r = _upload(api, text.encode())
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["rows"], body["added"], body["invalid"]) == (1006, 1, 1005)
    assert len(body["errors"]) == 1000
    assert body["errors"][-1]["row"] == 1000


def test_header_only_file_adds_nothing(api: Api) -> None:
    r = _upload(api, b"phone,reason\n")
    assert r.status_code == 201, r.text
    assert r.json() == {"rows": 0, "added": 0, "already_listed": 0, "invalid": 0, "errors": []}


def test_bulk_listing_closes_an_imported_lead(api: Api) -> None:
    campaign = api.campaign()
    imported = api.import_csv(
        campaign["id"], "name,phone\nTaro,090-1234-5678\nHanako,03-1111-2222\n"
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["accepted"] == 2
    leads = api.get(f"/api/campaigns/{campaign['id']}/leads").json()["items"]
    by_name = {lead["name"]: lead["id"] for lead in leads}

    r = _upload(api, b"phone,reason\n09012345678,refused on the phone\n")
    assert r.status_code == 201, r.text
    assert r.json()["added"] == 1

    taro = api.get(f"/api/leads/{by_name['Taro']}").json()
    assert taro["status"] == "dnc"
    added = [e for e in taro["events"] if e["kind"] == "dnc_added"]
    assert len(added) == 1
    assert added[0]["detail"]["phone"] == "+819012345678"
    assert added[0]["actor"].startswith("manager:")
    assert api.get(f"/api/leads/{by_name['Hanako']}").json()["status"] == "new"
    eligibility = api.get(f"/api/leads/{by_name['Taro']}/eligibility").json()
    assert "dnc" in {b["rule"] for b in eligibility["blocked_by"]}


def _nothing_written(api: Api, lead_id: int) -> None:
    assert _dnc_items(api) == []
    lead = api.get(f"/api/leads/{lead_id}").json()
    assert lead["status"] == "new"
    assert [e["kind"] for e in lead["events"]] == ["imported"]


@pytest.fixture
def lead_id(api: Api) -> int:
    campaign = api.campaign()
    assert api.import_csv(campaign["id"], "name,phone\nTaro,090-1234-5678\n").status_code == 201
    return int(api.get(f"/api/campaigns/{campaign['id']}/leads").json()["items"][0]["id"])


def test_no_phone_column_is_refused_whole(api: Api, lead_id: int) -> None:
    r = _upload(api, b"name,reason,number\nTaro,asked,090-1234-5678\n")
    body = expect_error(r, 400, "no_phone_column")
    assert body["field"] == "file"
    _nothing_written(api, lead_id)


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10",
        # Good rows first, binary later: still nothing listed.
        b"phone,reason\n090-1234-5678,asked\n\x00\x01\x02\x03\n",
    ],
    ids=["png", "rows-then-binary"],
)
def test_binary_file_is_415_and_writes_nothing(api: Api, lead_id: int, data: bytes) -> None:
    expect_error(_upload(api, data), 415)
    _nothing_written(api, lead_id)


@pytest.mark.parametrize("data", [b"", b"  \n\n"], ids=["empty", "whitespace"])
def test_empty_file_is_400(api: Api, data: bytes) -> None:
    body = expect_error(_upload(api, data), 400, "empty_file")
    assert body["field"] == "file"
    assert _dnc_items(api) == []


def test_missing_file_field_is_422(api: Api) -> None:
    # A multipart form without its `file` part; a form-encoded body is the wrong
    # media type altogether (415, tests/test_limits.py).
    body = expect_error(api.post("/api/dnc/imports", files={"other": (None, "x")}), 422)
    assert body["field"] == "file"
    assert _dnc_items(api) == []


def test_agent_gets_403_and_writes_nothing(api: Api, lead_id: int) -> None:
    campaign_id = api.get(f"/api/leads/{lead_id}").json()["campaign_id"]
    agent = api.agent([campaign_id])
    r = _upload(api, b"phone,reason\n090-1234-5678,asked\n", token=agent["token"])
    expect_error(r, 403)
    _nothing_written(api, lead_id)


def test_no_token_is_401(api: Api) -> None:
    r = api.client.post(
        "/api/dnc/imports", files={"file": ("dnc.csv", b"phone\n090-1234-5678\n", "text/csv")}
    )
    expect_error(r, 401)
    assert _dnc_items(api) == []
