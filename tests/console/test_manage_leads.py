"""Finding a customer in a real browser: the lead search by phone in any format
and by name, the lead page's sections, and why the lead is not being called, in
words, in both languages."""

from __future__ import annotations

import re
from typing import Any

from conftest import LEADS, STEP_MS, Service, hold_reads, manager, release_reads, sign_in_manager
from playwright.sync_api import expect

expect.set_options(timeout=STEP_MS)


def test_a_phone_in_any_format_finds_the_lead_and_its_page_says_why_it_waits(
    service: Service, browser: Any
) -> None:
    campaign = service.campaign()
    service.leads(campaign["id"], LEADS)
    service.ok(service.http.patch(f"/api/campaigns/{campaign['id']}", json={"status": "paused"}))
    manager(service)
    page = browser.new_page()
    sign_in_manager(page, service)
    page.goto(f"{service.url}/manage/leads")
    page.get_by_label("Phone", exact=True).fill("+81 90 1234 5678")
    page.get_by_role("button", name="Search", exact=True).click()
    results = page.get_by_role("table", name="Results")
    expect(results.get_by_role("row")).to_have_count(2)  # the header and one lead
    expect(results).to_contain_text("+819012345678")
    expect(results).to_contain_text("Kanto switch-over")
    results.get_by_role("link", name="山田 太郎").click()
    page.wait_for_url("**/manage/leads/*")
    expect(page.get_by_role("heading", level=2)).to_have_text("山田 太郎")
    why = page.get_by_role("region", name="Why isn't it being called?")
    expect(why).to_contain_text("The campaign is paused")
    expect(why).to_contain_text("Nothing will make it callable by itself.")
    expect(page.get_by_role("region", name="Phones")).to_contain_text("+819012345678")
    details = page.get_by_role("region", name="Details")
    expect(details).to_contain_text("TK-0001")
    expect(details).to_contain_text("東京電力")
    expect(details).to_contain_text("従量電灯B")  # an extra column of the list
    expect(page.get_by_role("region", name="History").get_by_role("row")).not_to_have_count(1)
    expect(page.get_by_role("region", name="Calls")).to_contain_text("None.")


def test_name_search_in_japanese_and_a_search_with_nothing_is_refused_at_the_form(
    service: Service, browser: Any
) -> None:
    campaign = service.campaign()
    service.leads(campaign["id"], LEADS)
    manager(service)
    page = browser.new_page()
    sign_in_manager(page, service, lang="ja")
    page.goto(f"{service.url}/manage/leads")
    page.get_by_role("button", name="検索", exact=True).click()
    expect(page.get_by_label("電話番号", exact=True)).to_have_accessible_description(
        re.compile("いずれかを入力してください")
    )
    page.get_by_label("名前", exact=True).fill("佐藤")
    page.get_by_role("button", name="検索", exact=True).click()
    results = page.get_by_role("table", name="検索結果")
    results.get_by_role("link", name="佐藤 花子").click()
    why = page.get_by_role("region", name="発信されない理由")
    expect(why).to_contain_text("発信")
    expect(page.get_by_role("region", name="詳細")).to_contain_text("佐藤商店")
    # A bad phone is named at its field.
    page.goto(f"{service.url}/manage/leads?phone=12")
    phone = page.get_by_label("電話番号", exact=True)
    expect(phone).to_have_attribute("aria-invalid", "true")


def test_a_search_asked_for_while_the_page_is_still_loading_waits_for_it(
    service: Service, browser: Any
) -> None:
    """A click before the page has read its campaigns is not lost in a reload."""
    campaign = service.campaign()
    service.leads(campaign["id"], LEADS)
    manager(service)
    page = browser.new_page()
    sign_in_manager(page, service)
    held = hold_reads(page, "**/api/campaigns")
    page.goto(f"{service.url}/manage/leads")
    page.evaluate("() => { window.samePage = true; }")
    page.get_by_role("button", name="Search", exact=True).click()  # nothing asked
    release_reads(page, "**/api/campaigns", held)
    expect(page.get_by_label("Phone", exact=True)).to_have_accessible_description(
        re.compile("Enter at least one")
    )
    assert page.evaluate("() => window.samePage === true"), "the click reloaded the page"
