"""POST /api/campaigns/{id}/imports and the import reports (API.md, "Lead lists")."""

from __future__ import annotations

import codecs
import csv
import io
from typing import Any

import pytest
from helpers import MANAGER_TOKEN, Api, expect_error

# Row numbers count data rows from 1 (the header is row 0).
MIXED = (
    "phone,name,phone2,支店\n"
    "090-1234-5678,山田 太郎,080-1111-2222,東京本社\n"  # 1 accepted, two phones
    "03-1234-5678,佐藤 花子,,大阪支店\n"  # 2 accepted
    "090-1234-5678,重複 一郎,,\n"  # 3 duplicate of row 1 (same file)
    "06-1234-5678,既存 次郎,,\n"  # 4 duplicate: already a lead of the campaign
    "03-9876-5432,拒否 三郎,,\n"  # 5 suppressed: on the do-not-call list
    "03-12,無効 四郎,,\n"  # 6 invalid phone
    ",空 五郎,,\n"  # 7 invalid: empty phone
)


def _upload(api: Api, campaign_id: int, data: bytes, **kw: Any) -> Any:
    return api.post(
        f"/api/campaigns/{campaign_id}/imports",
        files={"file": ("leads.csv", data, "text/csv")},
        **kw,
    )


def _leads(api: Api, campaign_id: int) -> list[dict[str, Any]]:
    r = api.get(f"/api/campaigns/{campaign_id}/leads")
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def _by_name(api: Api, campaign_id: int) -> dict[str, dict[str, Any]]:
    return {lead["name"]: lead for lead in _leads(api, campaign_id)}


def _errors_csv(api: Api, import_id: int) -> tuple[bytes, list[dict[str, str]]]:
    r = api.get(f"/api/imports/{import_id}/errors.csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    return r.content, rows


@pytest.fixture
def mixed(api: Api) -> dict[str, Any]:
    """A campaign that already holds 06-1234-5678, with 03-9876-5432 on the DNC list,
    into which MIXED was imported."""
    campaign = api.campaign()
    first = api.import_csv(campaign["id"], "phone,name\n06-1234-5678,既存 次郎\n")
    assert first.status_code == 201, first.text
    assert first.json()["accepted"] == 1
    dnc = api.post("/api/dnc", json={"phone": "03-9876-5432", "reason": "test"})
    assert dnc.status_code == 201, dnc.text
    r = api.import_csv(campaign["id"], MIXED)
    assert r.status_code == 201, r.text
    return {"campaign": campaign, "first": first.json(), "report": r.json()}


def test_counts_and_errors_of_a_mixed_file(mixed: dict[str, Any]) -> None:
    report = mixed["report"]
    assert report["status"] == "done"
    assert report["campaign_id"] == mixed["campaign"]["id"]
    assert {k: report[k] for k in ("rows", "accepted", "duplicates", "invalid", "suppressed")} == {
        "rows": 7,
        "accepted": 2,
        "duplicates": 2,
        "invalid": 2,
        "suppressed": 1,
    }
    # Only invalid rows are listed, in row order.
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(6, "phone"), (7, "phone")]
    assert report["errors"][0]["reason"] == "not a valid number for JP: '03-12'"
    assert "empty" in report["errors"][1]["reason"]


def test_accepted_leads_are_stored_with_e164_phones_extra_and_raw(
    api: Api, mixed: dict[str, Any]
) -> None:
    campaign_id = mixed["campaign"]["id"]
    leads = _by_name(api, campaign_id)
    assert set(leads) == {"既存 次郎", "山田 太郎", "佐藤 花子"}
    yamada = api.get(f"/api/leads/{leads['山田 太郎']['id']}")
    assert yamada.status_code == 200, yamada.text
    lead = yamada.json()
    assert lead["campaign_id"] == campaign_id
    assert lead["status"] == "new"
    assert lead["import_id"] == mixed["report"]["id"]
    assert lead["phones"] == [
        {"number": "+819012345678", "retired": False},
        {"number": "+818011112222", "retired": False},
    ]
    assert lead["contacts"] == [{"name": "山田 太郎", "role": "registrant"}]
    assert lead["extra"] == {"支店": "東京本社"}
    assert lead["raw"] == {
        "phone": "090-1234-5678",
        "name": "山田 太郎",
        "phone2": "080-1111-2222",
        "支店": "東京本社",
    }
    assert lead["attempts"] == 0
    assert [e["kind"] for e in lead["events"]] == ["imported"]
    sato = api.get(f"/api/leads/{leads['佐藤 花子']['id']}").json()
    assert sato["phones"] == [{"number": "+81312345678", "retired": False}]
    assert sato["extra"] == {"支店": "大阪支店"}
    assert sato["raw"] == {
        "phone": "03-1234-5678",
        "name": "佐藤 花子",
        "phone2": "",
        "支店": "大阪支店",
    }


def test_reimporting_the_same_file_accepts_nothing(api: Api, mixed: dict[str, Any]) -> None:
    campaign_id = mixed["campaign"]["id"]
    again = api.import_csv(campaign_id, MIXED)
    assert again.status_code == 201, again.text
    body = again.json()
    assert body["id"] != mixed["report"]["id"]
    assert {k: body[k] for k in ("rows", "accepted", "duplicates", "invalid", "suppressed")} == {
        "rows": 7,
        "accepted": 0,
        "duplicates": 4,
        "invalid": 2,
        "suppressed": 1,
    }
    assert len(_leads(api, campaign_id)) == 3


def test_same_phone_may_be_a_lead_of_another_campaign(api: Api, mixed: dict[str, Any]) -> None:
    other = api.campaign()
    r = api.import_csv(other["id"], "phone\n090-1234-5678\n")
    assert r.status_code == 201, r.text
    assert (r.json()["accepted"], r.json()["duplicates"]) == (1, 0)


def test_get_import_repeats_the_report(api: Api, mixed: dict[str, Any]) -> None:
    report = mixed["report"]
    r = api.get(f"/api/imports/{report['id']}")
    assert r.status_code == 200, r.text
    got = r.json()
    for key in ("id", "campaign_id", "status", "rows", "accepted", "duplicates", "invalid"):
        assert got[key] == report[key], key
    assert got["suppressed"] == 1
    assert got["errors"] == report["errors"]
    first = api.get(f"/api/imports/{mixed['first']['id']}").json()
    assert (first["rows"], first["accepted"], first["errors"]) == (1, 1, [])


def test_errors_csv_lists_every_rejected_row_with_its_kind(api: Api, mixed: dict[str, Any]) -> None:
    content, rows = _errors_csv(api, mixed["report"]["id"])
    assert content.startswith(codecs.BOM_UTF8)
    assert [(int(r["row"]), r["kind"]) for r in rows] == [
        (3, "duplicate"),
        (4, "duplicate"),
        (5, "suppressed"),
        (6, "invalid"),
        (7, "invalid"),
    ]
    assert all(r["reason"] for r in rows)
    assert "03-12" in rows[3]["reason"]
    # The rejected row's content is there to fix it.
    assert "03-9876-5432" in rows[2]["raw"]
    _content, none = _errors_csv(api, mixed["first"]["id"])
    assert none == []


def test_errors_csv_neutralizes_formula_cells(api: Api) -> None:
    campaign = api.campaign()
    # The formula header is shorter than "phone", so it comes first in the raw cell
    # whether the engine keeps column order (SQLite) or sorts JSONB keys (PostgreSQL).
    text = "=1+2,phone\n=HYPERLINK(1),03-12\n+cmd,@SUM(1)\n"
    r = api.import_csv(campaign["id"], text)
    assert r.status_code == 201, r.text
    assert r.json()["invalid"] == 2
    _content, rows = _errors_csv(api, r.json()["id"])
    assert len(rows) == 2
    cells = [cell for row in rows for cell in row.values()]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")], cells
    # The raw cell began with the formula column: it is kept, defused.
    assert rows[0]["raw"].startswith("'=1+2")
    assert "=HYPERLINK(1)" in rows[0]["raw"]


def test_utf8_bom_japanese_headers_decode_and_map(api: Api) -> None:
    campaign = api.campaign()
    text = (
        "電話番号,氏名,契約番号,備考,携帯,担当支店\n"
        "03-1234-5678,山田 太郎,0312345678901234567890,午前中希望,090-1234-5678,東京本社\n"
    )
    data = codecs.BOM_UTF8 + text.encode("utf-8")
    r = _upload(api, campaign["id"], data)
    assert r.status_code == 201, r.text
    assert (r.json()["rows"], r.json()["accepted"], r.json()["invalid"]) == (1, 1, 0)
    (item,) = _leads(api, campaign["id"])
    lead = api.get(f"/api/leads/{item['id']}").json()
    assert lead["name"] == "山田 太郎"
    assert lead["contract_number"] == "0312345678901234567890"
    assert lead["notes"] == "午前中希望"
    assert lead["phones"] == [
        {"number": "+81312345678", "retired": False},
        {"number": "+819012345678", "retired": False},
    ]
    assert lead["extra"] == {"担当支店": "東京本社"}
    # The BOM is not part of the first header.
    assert set(lead["raw"]) == {"電話番号", "氏名", "契約番号", "備考", "携帯", "担当支店"}
    assert lead["raw"]["電話番号"] == "03-1234-5678"


def test_cp932_file_decodes_and_maps(api: Api) -> None:
    campaign = api.campaign()
    text = (
        "電話番号,氏名,契約番号,備考,現契約,郵便番号\r\n"
        "06-1234-5678,髙橋 ①子,ABC-001,ｶﾀｶﾅ 備考,関西電力,530-0001\r\n"
        "０３－９８７６－５４３２,斎藤 次郎,,,,\r\n"
    )
    data = text.encode("cp932")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    r = _upload(api, campaign["id"], data)
    assert r.status_code == 201, r.text
    assert (r.json()["rows"], r.json()["accepted"], r.json()["invalid"]) == (2, 2, 0)
    leads = _by_name(api, campaign["id"])
    takahashi = api.get(f"/api/leads/{leads['髙橋 ①子']['id']}").json()
    assert takahashi["contract_number"] == "ABC-001"
    assert takahashi["notes"] == "ｶﾀｶﾅ 備考"
    assert takahashi["current_provider"] == "関西電力"
    assert takahashi["postal_code"] == "530-0001"
    assert takahashi["phones"] == [{"number": "+81612345678", "retired": False}]
    assert takahashi["extra"] == {}
    assert takahashi["raw"]["氏名"] == "髙橋 ①子"
    # Full-width digits and dashes are folded before parsing.
    saito = leads["斎藤 次郎"]
    assert saito["phones"] == [{"number": "+81398765432", "retired": False}]


def test_phone_formats_normalize_to_e164(api: Api) -> None:
    campaign = api.campaign()
    text = (
        "phone,name\n"
        "03-1111-2222,a\n"
        "(03) 1111 3333,b\n"
        "+81 3-1111-4444,c\n"
        "０９０－２２２２－３３３３,d\n"
        "0120-444-444,e\n"
        "09022224444,f\n"
    )
    r = api.import_csv(campaign["id"], text)
    assert r.status_code == 201, r.text
    assert r.json()["accepted"] == 6
    phones = {lead["name"]: lead["phones"][0]["number"] for lead in _leads(api, campaign["id"])}
    assert phones == {
        "a": "+81311112222",
        "b": "+81311113333",
        "c": "+81311114444",
        "d": "+819022223333",
        "e": "+81120444444",
        "f": "+819022224444",
    }


def test_duplicate_detected_across_formats_and_second_phones(api: Api) -> None:
    campaign = api.campaign()
    text = (
        "phone,phone2,name\n"
        "03-1111-2222,090-5555-6666,a\n"
        "+81311112222,,b\n"  # same as row 1's phone, other format
        "080-7777-8888,090-5555-6666,c\n"  # phone2 held by row 1
        "090-5555-6666,,d\n"  # phone held by row 1 as its second phone
    )
    r = api.import_csv(campaign["id"], text)
    assert r.status_code == 201, r.text
    assert (r.json()["accepted"], r.json()["duplicates"]) == (1, 3)
    assert [lead["name"] for lead in _leads(api, campaign["id"])] == ["a"]


def test_other_invalid_cells_name_their_field(api: Api) -> None:
    campaign = api.campaign()
    text = (
        "phone,phone2,priority,timezone\n"
        "03-1111-2222,123,,\n"
        "03-1111-3333,,high,\n"
        "03-1111-4444,,,Mars/Base\n"
        "03-1111-5555,,3,Asia/Tokyo\n"
    )
    r = api.import_csv(campaign["id"], text)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["rows"], body["accepted"], body["invalid"]) == (4, 1, 3)
    assert [(e["row"], e["field"]) for e in body["errors"]] == [
        (1, "phone2"),
        (2, "priority"),
        (3, "timezone"),
    ]
    (lead,) = _leads(api, campaign["id"])
    assert lead["priority"] == 3


def test_overlong_cells_are_invalid_rows_not_a_server_error(api: Api) -> None:
    """A CRM export with a memo pasted into the postal-code column must not take the
    whole import down (nor be truncated silently): the row is an unusable row."""
    campaign = api.campaign()
    long_postal = "〒100-0001 東京都千代田区千代田1-1 皇居外苑管理事務所気付"
    text = f"phone,postal_code,external_id\n03-1111-2222,{long_postal},\n03-1111-3333,100-0001,X1\n"
    r = api.import_csv(campaign["id"], text)
    assert r.status_code == 201, r.text
    body = r.json()
    if body["invalid"]:
        assert (body["accepted"], body["invalid"]) == (1, 1)
        assert [(e["row"], e["field"]) for e in body["errors"]] == [(1, "postal_code")]
    else:
        # Kept: then kept whole.
        assert body["accepted"] == 2
        leads = _leads(api, campaign["id"])
        assert [lead["postal_code"] for lead in leads] == [long_postal, "100-0001"]


def test_blank_lines_are_skipped_and_header_only_file_imports_nothing(api: Api) -> None:
    campaign = api.campaign()
    r = api.import_csv(campaign["id"], "phone,name\n\n03-1111-2222,a\n,\n")
    assert r.status_code == 201, r.text
    assert (r.json()["rows"], r.json()["accepted"], r.json()["invalid"]) == (1, 1, 0)
    header_only = api.import_csv(campaign["id"], "phone,name\n")
    assert header_only.status_code == 201, header_only.text
    assert (header_only.json()["rows"], header_only.json()["accepted"]) == (0, 0)


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        pytest.param("name,company\n山田,ACME\n".encode(), 400, "no_phone_column", id="no-phone"),
        pytest.param(PNG, 415, None, id="png"),
        pytest.param(b"phone,name\n03-1111-2222,a\x00b\n", 415, None, id="nul-bytes"),
        pytest.param(
            codecs.BOM_UTF8 + b"phone,name\n03-1111-2222,a\x00b\n", 415, None, id="bom-nul-bytes"
        ),
        pytest.param(b"", 400, None, id="empty"),
        pytest.param(b"  \r\n\n", 400, None, id="blank"),
    ],
)
def test_refused_files_write_nothing(api: Api, data: bytes, status: int, code: str | None) -> None:
    campaign = api.campaign()
    r = _upload(api, campaign["id"], data)
    expect_error(r, status, code)
    assert _leads(api, campaign["id"]) == []
    # No import row is visible either (the database is fresh: it would be 1).
    expect_error(api.get("/api/imports/1"), 404)
    ok = api.import_csv(campaign["id"], "phone\n03-1111-2222\n")
    assert ok.status_code == 201, ok.text
    for earlier in range(1, ok.json()["id"]):
        expect_error(api.get(f"/api/imports/{earlier}"), 404)


def test_unknown_campaign_and_import_are_404(api: Api) -> None:
    r = api.import_csv(999, "phone\n03-1111-2222\n")
    expect_error(r, 404)
    expect_error(api.get("/api/imports/999"), 404)
    expect_error(api.get("/api/imports/999/errors.csv"), 404)


def test_agents_may_not_import_or_read_imports(api: Api) -> None:
    campaign = api.campaign()
    agent = api.agent([campaign["id"]])
    r = _upload(api, campaign["id"], b"phone\n03-1111-2222\n", token=agent["token"])
    expect_error(r, 403)
    assert _leads(api, campaign["id"]) == []
    ok = api.import_csv(campaign["id"], "phone\n03-1111-2222\n")
    assert ok.status_code == 201, ok.text
    import_id = ok.json()["id"]
    expect_error(api.get(f"/api/imports/{import_id}", token=agent["token"]), 403)
    expect_error(api.get(f"/api/imports/{import_id}/errors.csv", token=agent["token"]), 403)
    expect_error(api.get(f"/api/campaigns/{campaign['id']}/leads", token=agent["token"]), 403)
    # The manager's token still works (sanity check of the helper's default).
    assert api.get(f"/api/imports/{import_id}", token=MANAGER_TOKEN).status_code == 200


def test_missing_file_field_is_rejected(api: Api) -> None:
    campaign = api.campaign()
    r = api.post(
        f"/api/campaigns/{campaign['id']}/imports",
        files={"upload": ("leads.csv", b"phone\n03-1111-2222\n", "text/csv")},
    )
    body = expect_error(r, 422)
    assert "file" in body["detail"]
    assert _leads(api, campaign["id"]) == []
