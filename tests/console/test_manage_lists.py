"""Lead lists in a real browser (issue test 1): a CP932 file with Japanese
headers previewed (encoding, delimiter, the mapping, the first rows and their
problems), a column's mapping changed, the import with its progress bar, the
report, errors.csv downloaded, and the campaign's imports listed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import STEP_MS, Service, manager, sign_in_manager
from playwright.sync_api import expect

expect.set_options(timeout=STEP_MS)

# 連絡先 is a header no alias knows: the manager maps it to phone2 by hand.
LIST = (
    "電話番号,氏名,会社名,担当支店,連絡先\n"
    "090-1234-5678,山田 太郎,,東京本社,03-1111-2222\n"
    "03-12,佐藤 花子,佐藤商店,大阪支店,\n"
    "090-1234-5678,山田 太郎(重複),,東京本社,\n"
    "090-5555-6666,鈴木 一郎,鈴木工業,名古屋支店,\n"
    "080-2222-3333,高橋 次郎,,札幌支店,\n"
)


def test_1_a_cp932_list_is_previewed_mapped_imported_and_its_errors_downloaded(
    service: Service, browser: Any, tmp_path: Path
) -> None:
    campaign = service.campaign()
    service.ok(
        service.http.post("/api/dnc", json={"phone": "090-5555-6666", "reason": "苦情"}), 201
    )
    manager(service)
    upload = tmp_path / "顧客リスト.csv"
    upload.write_bytes(LIST.encode("cp932"))

    page = browser.new_page()
    sign_in_manager(page, service)
    page.goto(f"{service.url}/manage/campaigns/{campaign['id']}/lists")
    page.get_by_label("Lead list file", exact=True).set_input_files(str(upload))
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.get_by_role("progressbar", name="Upload")).to_be_visible()
    preview = page.get_by_role("region", name="Preview")
    expect(preview).to_be_visible()
    expect(page.locator("#pv-encoding")).to_have_text("cp932")
    expect(page.locator("#pv-delimiter")).to_have_text("comma")
    expect(page.get_by_label("Column for 電話番号", exact=True)).to_have_value("phone")
    expect(page.get_by_label("Column for 氏名", exact=True)).to_have_value("name")
    expect(page.get_by_label("Column for 担当支店", exact=True)).to_have_value("")
    table = page.locator("#preview-table")
    expect(table.get_by_role("row")).to_have_count(1 + 5)
    expect(table).to_contain_text("佐藤商店")
    expect(page.locator("#pv-errors")).to_contain_text("Row 2, phone")
    # The mapping is adjustable: the preview is asked again with it.
    contact = page.get_by_label("Column for 連絡先", exact=True)
    expect(contact).to_have_value("")
    contact.select_option("phone2")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_label("Column for 連絡先", exact=True)).to_have_value("phone2")

    page.get_by_role("button", name="Import", exact=True).click()
    rows = page.get_by_role("progressbar", name="Rows processed")
    expect(rows).to_be_visible()
    report = page.get_by_role("region", name="Import report")
    expect(page.locator("#r-status")).to_have_text("done")
    expect(page.locator("#r-accepted")).to_have_text("2")
    expect(page.locator("#r-duplicates")).to_have_text("1")
    expect(page.locator("#r-invalid")).to_have_text("1")
    expect(page.locator("#r-suppressed")).to_have_text("1")
    expect(page.locator("#r-encoding")).to_have_text("cp932")
    expect(rows).to_have_attribute("value", rows.get_attribute("max") or "")
    expect(report).to_contain_text("Row 2, phone")
    # The mapped column went where the manager put it.
    lead = service.http.get("/api/leads", params={"phone": "03-1111-2222"}).json()["items"]
    assert [x["name"] for x in lead] == ["山田 太郎"]

    with page.expect_download() as downloaded:
        page.get_by_role("link", name="Download errors.csv", exact=True).click()
    assert downloaded.value.suggested_filename == "errors.csv"
    text = Path(downloaded.value.path()).read_text(encoding="utf-8-sig")
    assert "invalid" in text and "duplicate" in text and "suppressed" in text
    assert "佐藤 花子" in text

    imports = page.get_by_role("table", name="Imports of this campaign")
    expect(imports).to_contain_text("顧客リスト.csv")
    expect(imports.get_by_role("row")).to_have_count(2)


def test_a_list_without_a_phone_column_is_mapped_before_import_in_japanese(
    service: Service, browser: Any, tmp_path: Path
) -> None:
    campaign = service.campaign()
    manager(service)
    upload = tmp_path / "list.csv"
    upload.write_bytes("TEL(日中),氏名\n090-1234-5678,山田 太郎\n".encode("cp932"))
    page = browser.new_page()
    sign_in_manager(page, service, lang="ja")
    page.goto(f"{service.url}/manage/campaigns/{campaign['id']}/lists")
    page.get_by_label("リストファイル", exact=True).set_input_files(str(upload))
    page.get_by_role("button", name="プレビュー", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("電話番号の列がありません")
    expect(page.get_by_role("button", name="取り込む", exact=True)).to_be_disabled()
    page.get_by_label("「TEL(日中)」の列", exact=True).select_option("phone")
    expect(page.get_by_role("button", name="取り込む", exact=True)).to_be_enabled()
    page.get_by_role("button", name="取り込む", exact=True).click()
    expect(page.locator("#r-accepted")).to_have_text("1")
    expect(page.get_by_role("progressbar", name="処理済みの行")).to_be_visible()
