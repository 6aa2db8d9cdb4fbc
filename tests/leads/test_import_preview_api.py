"""A lead list's preview (POST /api/campaigns/{id}/imports/preview) and an
import's progress (`size_bytes`, `bytes_read`)."""

from __future__ import annotations

import codecs
import io
import json
from typing import Any

import pytest
from helpers import Api, expect_error

from dialer.leads import importer
from dialer.leads.csvfile import COLUMN_ALIASES, PREVIEW_BYTES, complete_lines
from dialer.leads.models import ImportStatus, LeadImport
from dialer.runtime import Runtime
from dialer.uploads import save_upload

PREVIEW_KEYS = {
    "filename",
    "encoding",
    "delimiter",
    "columns",
    "fields",
    "rows",
    "has_phone",
    "errors",
}


def _preview(api: Api, campaign_id: int, data: bytes, **form: str) -> Any:
    return api.post(
        f"/api/campaigns/{campaign_id}/imports/preview",
        files={"file": ("リスト.csv", data, "text/csv")},
        data=form,
    )


def _ok(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body = dict(r.json())
    assert set(body) == PREVIEW_KEYS
    return body


CP932 = (
    "電話番号,氏名,会社名,担当支店,優先度\n"
    "090-1234-5678,山田 太郎,山田商店,東京本社,1\n"
    "03-12,佐藤 花子,,大阪支店,0\n"
    "\n"
    "080-1111-2222,鈴木 一郎,,,高い\n"
).encode("cp932")


def test_a_cp932_file_with_japanese_headers(api: Api) -> None:
    campaign = api.campaign()
    body = _ok(_preview(api, campaign["id"], CP932))
    assert body["filename"] == "リスト.csv"
    assert (body["encoding"], body["delimiter"]) == ("cp932", ",")
    assert body["columns"] == [
        {"index": 0, "header": "電話番号", "field": "phone"},
        {"index": 1, "header": "氏名", "field": "name"},
        {"index": 2, "header": "会社名", "field": "company"},
        {"index": 3, "header": "担当支店", "field": None},
        {"index": 4, "header": "優先度", "field": "priority"},
    ]
    assert body["fields"] == list(COLUMN_ALIASES)
    assert body["fields"][:3] == ["phone", "phone2", "name"]
    assert body["rows"] == [
        ["090-1234-5678", "山田 太郎", "山田商店", "東京本社", "1"],
        ["03-12", "佐藤 花子", "", "大阪支店", "0"],
        ["080-1111-2222", "鈴木 一郎", "", "", "高い"],
    ]
    assert body["has_phone"] is True
    # As the import counts rows: the blank line is row 3, skipped.
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(2, "phone"), (4, "priority")]
    # Nothing was written: no lead, no import.
    assert api.get(f"/api/campaigns/{campaign['id']}/leads").json()["items"] == []
    assert api.get(f"/api/campaigns/{campaign['id']}/imports").json()["items"] == []


def test_the_preview_says_what_the_import_then_does(api: Api) -> None:
    campaign = api.campaign()
    preview = _ok(_preview(api, campaign["id"], CP932))
    report = api.post(
        f"/api/campaigns/{campaign['id']}/imports",
        files={"file": ("リスト.csv", CP932, "text/csv")},
    ).json()
    assert (report["encoding"], report["delimiter"]) == (preview["encoding"], preview["delimiter"])
    assert [(e["row"], e["field"], e["reason"]) for e in report["errors"]] == [
        (e["row"], e["field"], e["reason"]) for e in preview["errors"]
    ]
    assert report["accepted"] == len(preview["rows"]) - len(preview["errors"])


def test_duplicates_and_do_not_call_phones_as_the_import_finds_them(api: Api) -> None:
    campaign = api.campaign()
    api.import_csv(campaign["id"], "phone,name\n090-1111-1111,Held\n")
    api.post("/api/dnc", json={"phone": "090-2222-2222", "reason": "asked"})
    data = (
        b"phone,name\n"
        b"090-1111-1111,already a lead\n"  # 1 duplicate
        b"090-2222-2222,on the list\n"  # 2 suppressed
        b"090-3333-3333,new\n"  # 3 taken
        b"09033333333,same as row 3\n"  # 4 duplicate of an earlier row
        b"03-12,invalid\n"  # 5 invalid
    )
    preview = _ok(_preview(api, campaign["id"], data))
    expected = [
        (1, "phone", "+819011111111 is already a lead of this campaign"),
        (2, "phone", "+819022222222 is on the do-not-call list"),
        (4, "phone", "+819033333333 is already a lead of this campaign"),
        (5, "phone"),
    ]
    got = [(e["row"], e["field"], e["reason"]) for e in preview["errors"]]
    assert got[:3] == expected[:3] and got[3][:2] == expected[3]
    # The import refuses the same rows.
    report = api.post(
        f"/api/campaigns/{campaign['id']}/imports", files={"file": ("x.csv", data, "text/csv")}
    ).json()
    assert (report["accepted"], report["duplicates"], report["suppressed"], report["invalid"]) == (
        1,
        2,
        1,
        1,
    )
    # Another campaign holds none of these phones.
    other = api.campaign()
    rows = [e["row"] for e in _ok(_preview(api, other["id"], data))["errors"]]
    assert rows == [2, 4, 5]


def test_a_mapping_moves_columns_and_finds_the_phone(api: Api) -> None:
    campaign = api.campaign()
    data = "TEL(日中),お客様ID,氏名\n090-1234-5678,A-1,山田\n".encode()
    bare = _ok(_preview(api, campaign["id"], data))
    assert bare["has_phone"] is False
    assert bare["errors"] == []
    assert [c["field"] for c in bare["columns"]] == [None, None, "name"]
    mapping = json.dumps({"TEL(日中)": "phone", "お客様ID": "external_id"})
    mapped = _ok(_preview(api, campaign["id"], data, mapping=mapping))
    assert mapped["has_phone"] is True
    assert [c["field"] for c in mapped["columns"]] == ["phone", "external_id", "name"]
    assert mapped["errors"] == []
    # The real import without the mapping refuses the file; with it, takes it.
    refused = api.post(
        f"/api/campaigns/{campaign['id']}/imports",
        files={"file": ("x.csv", data, "text/csv")},
    )
    expect_error(refused, 400, "no_phone_column")
    taken = api.post(
        f"/api/campaigns/{campaign['id']}/imports",
        files={"file": ("x.csv", data, "text/csv")},
        data={"mapping": mapping},
    )
    assert taken.json()["accepted"] == 1


def test_only_the_first_ten_rows(api: Api) -> None:
    campaign = api.campaign()
    rows = "".join(f"090-0000-{i:04d},L{i}\n" for i in range(1, 31))
    body = _ok(_preview(api, campaign["id"], f"phone,name\n{rows}".encode()))
    assert [r[1] for r in body["rows"]] == [f"L{i}" for i in range(1, 11)]


def test_utf16_tab_and_semicolon_files(api: Api) -> None:
    campaign = api.campaign()
    tab = _ok(
        _preview(api, campaign["id"], "電話番号\t氏名\n090-1234-5678\t山田\n".encode("utf-16"))
    )
    assert (tab["encoding"], tab["delimiter"]) == ("utf-16", "\t")
    assert tab["rows"] == [["090-1234-5678", "山田"]]
    semi = _ok(_preview(api, campaign["id"], codecs.BOM_UTF8 + b"phone;name\n03-1234-5678;A\n"))
    assert (semi["encoding"], semi["delimiter"]) == ("utf-8-sig", ";")


def _cut_inside_a_character(encoding: str) -> bytes:
    """A file of multi-byte cells longer than the preview reads, whose first
    PREVIEW_BYTES end inside a character."""
    for pad in range(12):
        row = "090-1234-5678," + "a" * pad + "山" * 333 + "\n"
        data = ("phone,name\n" + row * 4000).encode(encoding)
        try:
            data[:PREVIEW_BYTES].decode(encoding)
        except UnicodeDecodeError:
            return data
    raise AssertionError("no padding cuts a character")


@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_a_large_file_is_read_up_to_its_first_mib(api: Api, encoding: str) -> None:
    campaign = api.campaign()
    data = _cut_inside_a_character(encoding)
    assert len(data) > 2 * PREVIEW_BYTES
    body = _ok(_preview(api, campaign["id"], data))
    assert body["encoding"] == encoding
    assert len(body["rows"]) == 10
    assert body["rows"][0][0] == "090-1234-5678"


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        pytest.param(b"", 400, "empty_file", id="empty"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 415, "not_text", id="png"),
        pytest.param(b"phone,name\n03-1111-2222,a\x00b\n", 415, None, id="nul"),
    ],
)
def test_refusals_as_the_import_s(api: Api, data: bytes, status: int, code: str | None) -> None:
    campaign = api.campaign()
    expect_error(_preview(api, campaign["id"], data), status, code)


@pytest.mark.parametrize("mapping", ["not json", '["phone"]', '{"TEL": "telephone"}'])
def test_a_bad_mapping_is_refused(api: Api, mapping: str) -> None:
    campaign = api.campaign()
    r = _preview(api, campaign["id"], b"TEL\n090-1234-5678\n", mapping=mapping)
    assert expect_error(r, 400, "bad_mapping")["field"] == "mapping"


def test_unknown_campaign_missing_file_and_agents(api: Api) -> None:
    expect_error(_preview(api, 999, b"phone\n090-1234-5678\n"), 404, "campaign_not_found")
    campaign = api.campaign()
    r = api.post(f"/api/campaigns/{campaign['id']}/imports/preview", data={"mapping": "{}"})
    assert r.status_code in (415, 422), r.text
    agent = api.agent([campaign["id"]])
    r = api.post(
        f"/api/campaigns/{campaign['id']}/imports/preview",
        files={"file": ("x.csv", b"phone\n090-1234-5678\n", "text/csv")},
        token=agent["token"],
    )
    expect_error(r, 403)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"a,b\nc,d\ne,", b"a,b\nc,d\n"),
        (b"a,b\r\nc,d\r\n", b"a,b\r\nc,d\r\n"),
        (b"no line end", b"no line end"),
        # UTF-16: cut after a whole "\n" code unit of the file's byte order.
        (codecs.BOM_UTF16_LE + "a\nb".encode("utf-16-le"), codecs.BOM_UTF16_LE + b"a\x00\n\x00"),
        (codecs.BOM_UTF16_BE + "a\nb".encode("utf-16-be"), codecs.BOM_UTF16_BE + b"\x00a\x00\n"),
        # "\u0a0a" holds the byte 0x0a twice: not a line end.
        (
            codecs.BOM_UTF16_LE + "\u0a0a\nx".encode("utf-16-le"),
            codecs.BOM_UTF16_LE + "\u0a0a\n".encode("utf-16-le"),
        ),
    ],
)
def test_complete_lines(head: bytes, expected: bytes) -> None:
    assert complete_lines(head) == expected


# --- progress ---------------------------------------------------------------------------


def test_a_done_import_has_read_its_whole_file(api: Api) -> None:
    campaign = api.campaign()
    data = "phone,name\n090-1234-5678,A\n03-1234-5678,B\n"
    report = api.import_csv(campaign["id"], data).json()
    size = len(data.encode())
    assert (report["size_bytes"], report["bytes_read"]) == (size, size)
    again = api.get(f"/api/imports/{report['id']}").json()
    assert (again["size_bytes"], again["bytes_read"]) == (size, size)
    (item,) = api.get(f"/api/campaigns/{campaign['id']}/imports").json()["items"]
    assert (item["size_bytes"], item["bytes_read"]) == (size, size)


def test_a_running_import_shows_how_far_it_has_read(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime: Runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    monkeypatch.setattr(importer, "BATCH_ROWS", 500)
    campaign = api.campaign()
    rows = "".join(f"090{i:08d},L{i},{'x' * 900}\n" for i in range(3000))
    data = f"phone,name,notes\n{rows}".encode()
    seen: list[tuple[int, int, int]] = []

    def progress(lead_import: LeadImport, _fraction: float) -> None:
        if lead_import.status == ImportStatus.running:
            report = api.get(f"/api/imports/{lead_import.id}").json()
            seen.append((report["rows"], report["bytes_read"], report["size_bytes"]))

    with runtime.db.read() as session:
        now = runtime.now_in(session)
    import_id = importer.start_import(
        runtime.db,
        runner=None,
        campaign_id=campaign["id"],
        path=save_upload(io.BytesIO(data), limit=10**8),
        filename="big.csv",
        actor="test",
        now=now,
        mapping=None,
        sync_limit_bytes=0,
        progress=progress,
        remove_file=True,
    )
    assert [s[0] for s in seen] == list(range(500, 3001, 500))
    assert {s[2] for s in seen} == {len(data)}
    read = [s[1] for s in seen]
    assert read == sorted(read)
    # Read in steps while running, not all at once at the end.
    assert 0 < read[0] < len(data)
    assert len(set(read)) > 1
    done = api.get(f"/api/imports/{import_id}").json()
    assert (done["status"], done["bytes_read"], done["size_bytes"]) == (
        "done",
        len(data),
        len(data),
    )
