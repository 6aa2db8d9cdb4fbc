"""The do-not-call list in a real browser: a number added with a reason (in any
format), found by search, lifted with a reason kept in the audit, and a bulk
import with its report."""

from __future__ import annotations

from typing import Any

from conftest import STEP_MS, Service, manager, sign_in_manager
from playwright.sync_api import expect

expect.set_options(timeout=STEP_MS)


def test_add_search_lift_with_a_reason_and_the_audit(service: Service, browser: Any) -> None:
    manager(service)
    page = browser.new_page()
    sign_in_manager(page, service)
    page.goto(f"{service.url}/manage/dnc")
    add = page.locator("#dnc-add")
    add.get_by_label("Phone", exact=True).fill("090-1111-2222")
    add.get_by_label("Reason", exact=True).fill("本人の申し出")
    add.get_by_role("button", name="Add to the list", exact=True).click()
    expect(page.locator("#notice")).to_have_text("+819011112222 is on the list.")
    listed = page.get_by_role("table", name="Do-not-call list")
    expect(listed).to_contain_text("+819011112222")
    expect(listed).to_contain_text("本人の申し出")
    # Found in another format.
    search = page.locator("#dnc-search")
    search.get_by_label("Phone", exact=True).fill("+81 90 1111 2222")
    search.get_by_role("button", name="Search", exact=True).click()
    expect(listed.get_by_role("row")).to_have_count(2)

    listed.get_by_role("button", name="Lift: +819011112222").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Reason", exact=True).fill("listed by mistake")
    dialog.get_by_role("button", name="Lift", exact=True).click()
    expect(page.locator("#notice")).to_have_text("+819011112222 lifted from the list.")
    expect(listed).to_contain_text("No number on the list matches.")
    assert service.http.get("/api/dnc", params={"phone": "09011112222"}).json()["items"] == []
    audit = page.get_by_role("table", name="Audit")
    lifted = audit.get_by_role("row").filter(has_text="lifted")
    expect(lifted).to_contain_text("listed by mistake")
    expect(lifted).to_contain_text("tanaka")
    expect(audit.get_by_role("row").filter(has_text="added")).to_contain_text("本人の申し出")


def test_bulk_import_in_japanese(service: Service, browser: Any, tmp_path: Any) -> None:
    manager(service)
    listing = tmp_path / "dnc.csv"
    listing.write_bytes(
        "phone,reason\n090-3333-4444,苦情\n03-5555-6666,\nnot a phone,x\n".encode("cp932")
    )
    page = browser.new_page()
    sign_in_manager(page, service, lang="ja")
    page.goto(f"{service.url}/manage/dnc")
    page.get_by_label("禁止リストファイル", exact=True).set_input_files(str(listing))
    page.get_by_role("button", name="禁止リストを取り込む", exact=True).click()
    expect(page.locator("#di-rows")).to_have_text("3")
    expect(page.locator("#di-added")).to_have_text("2")
    expect(page.locator("#di-invalid")).to_have_text("1")
    expect(page.get_by_role("table", name="架電禁止リスト")).to_contain_text("+819033334444")
