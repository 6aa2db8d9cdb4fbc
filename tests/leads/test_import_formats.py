"""Lead lists as managers really have them: messy cells, other encodings and
delimiters, headers no alias guesses, and files too large to take."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from helpers import Api, expect_error, make_settings

from dialer.app import create_app


def _upload(api: Api, campaign_id: int, data: bytes, **form: str) -> Any:
    return api.post(
        f"/api/campaigns/{campaign_id}/imports",
        files={"file": ("leads.csv", data, "text/csv")},
        data=form,
    )


def _leads(api: Api, campaign_id: int) -> list[dict[str, Any]]:
    return list(api.get(f"/api/campaigns/{campaign_id}/leads").json()["items"])


def test_notes_in_the_cell_and_two_numbers_in_one_cell(api: Api) -> None:
    c = api.campaign()
    text = (
        "name,phone\n"
        "Home,090-1234-5678 (自宅)\n"
        "Extension,03-1234-5678 内線12\n"
        "Two,090-2222-3333/080-4444-5555\n"
    )
    report = _upload(api, c["id"], text.encode()).json()
    assert (report["accepted"], report["invalid"]) == (3, 0)
    phones = {lead["name"]: [p["number"] for p in lead["phones"]] for lead in _leads(api, c["id"])}
    assert phones == {
        "Home": ["+819012345678"],
        "Extension": ["+81312345678"],
        "Two": ["+819022223333", "+818044445555"],
    }
    # Every number of the cell counts for duplicates.
    again = _upload(api, c["id"], b"name,phone\nSame,080-4444-5555\n").json()
    assert (again["accepted"], again["duplicates"]) == (0, 1)


def test_utf16_with_bom_and_tab_delimiter(api: Api) -> None:
    c = api.campaign()
    text = "電話番号\t氏名\t担当支店\n090-1234-5678\t山田 太郎\t東京本社\n"
    report = _upload(api, c["id"], text.encode("utf-16")).json()
    assert report["accepted"] == 1
    assert (report["encoding"], report["delimiter"]) == ("utf-16", "\t")
    lead = _leads(api, c["id"])[0]
    assert lead["name"] == "山田 太郎" and lead["extra"] == {"担当支店": "東京本社"}


def test_semicolon_delimiter_is_sniffed_and_reported(api: Api) -> None:
    c = api.campaign()
    report = _upload(api, c["id"], b"phone;name\n090-1234-5678;A\n03-1234-5678;B\n").json()
    assert (report["accepted"], report["delimiter"]) == (2, ";")


def test_mapping_overrides_headers_no_alias_guesses(api: Api) -> None:
    c = api.campaign()
    text = "TEL(日中),お客様名称,メモ欄\n090-1234-5678,山田,折り返し希望\n"
    refused = _upload(api, c["id"], text.encode())
    expect_error(refused, 400, "no_phone_column")
    mapping = '{"TEL(日中)": "phone", "お客様名称": "name"}'
    report = _upload(api, c["id"], text.encode(), mapping=mapping).json()
    assert report["accepted"] == 1
    lead = _leads(api, c["id"])[0]
    assert lead["name"] == "山田" and lead["extra"] == {"メモ欄": "折り返し希望"}


def test_a_column_mapped_to_nothing_stays_in_extra_though_an_alias_knows_it(
    api: Api,
) -> None:
    c = api.campaign()
    text = "電話番号,氏名,会社名\n090-1234-5678,山田,山田商店\n"
    report = _upload(api, c["id"], text.encode(), mapping='{"会社名": ""}').json()
    assert report["accepted"] == 1
    lead = _leads(api, c["id"])[0]
    assert (lead["name"], lead["company"]) == ("山田", None)
    assert lead["extra"] == {"会社名": "山田商店"}


def test_a_bad_mapping_is_refused_whole(api: Api) -> None:
    c = api.campaign()
    text = b"TEL,name\n090-1234-5678,A\n"
    for mapping in ('{"TEL": "telephone"}', "[1, 2]", "{not json"):
        body = expect_error(_upload(api, c["id"], text, mapping=mapping), 400, "bad_mapping")
        assert body["field"] == "mapping"
    assert _leads(api, c["id"]) == []


def test_upload_limit_answers_413_with_nothing_written(db_url: str) -> None:
    settings = make_settings(db_url, DIALER_MAX_UPLOAD_MB=0.001)  # 1,048 bytes
    with TestClient(create_app(settings)) as client:
        api = Api(client)
        c = api.campaign()
        rows = "".join(f"L{i},0901{i:07d}\n" for i in range(100))
        big = _upload(api, c["id"], f"name,phone\n{rows}".encode())
        expect_error(big, 413, "too_large")
        assert _leads(api, c["id"]) == []
        small = _upload(api, c["id"], b"name,phone\nA,090-1234-5678\n")
        assert small.status_code == 201
