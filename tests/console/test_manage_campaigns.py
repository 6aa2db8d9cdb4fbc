"""The campaign pages in a real browser: a campaign created from the form, every
field edited and kept, a refused value shown beside its field (issue test 2),
pause and resume, clone, the script preview from a sample lead and the change
history."""

from __future__ import annotations

import re
from typing import Any

from conftest import LEADS, STEP_MS, Service, manager, sign_in_manager
from helpers import block_dialing
from playwright.sync_api import expect

from dialer.db import Database

expect.set_options(timeout=STEP_MS)


def _open(page: Any, service: Service, campaign_id: int) -> None:
    """The campaign's page, once its script has filled the form."""
    page.goto(f"{service.url}/manage/campaigns/{campaign_id}")
    name = service.http.get(f"/api/campaigns/{campaign_id}").json()["name"]
    expect(page.locator("#campaign-title")).to_have_text(name)


def test_a_campaign_is_created_from_the_form_and_listed(service: Service, browser: Any) -> None:
    manager(service)
    page = browser.new_page()
    sign_in_manager(page, service)
    page.goto(f"{service.url}/manage/campaigns")
    page.get_by_role("button", name="New campaign", exact=True).click()
    page.wait_for_url("**/manage/campaigns/new")
    page.get_by_label("Name", exact=True).fill("Kansai winter")
    page.get_by_label("Time zone", exact=True).fill("Asia/Tokyo")
    page.get_by_label("Dial mode", exact=True).select_option("progressive")
    page.get_by_label("Caller ID", exact=True).fill("+81312345678")
    page.get_by_label("Until, row 1", exact=True).fill("19:00")
    page.get_by_label("Pause codes", exact=True).fill("休憩\n研修")
    page.get_by_label("Wrap-up seconds", exact=True).fill("15")
    page.get_by_label("Retry after no answer (s)", exact=True).fill("900, 3600")
    page.get_by_label("Script", exact=True).fill("{name}様、{seller_name}の{agent_name}です。")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/manage/campaigns/*?created=1")
    expect(page.locator("#notice")).to_have_text("Campaign created.")
    campaign = service.http.get("/api/campaigns").json()["items"][0]
    assert campaign["name"] == "Kansai winter"
    assert campaign["dial_mode"] == "progressive"
    assert campaign["caller_id"] == "+81312345678"
    # The form started from the defaults: the second row (Saturday) was kept.
    assert campaign["calling_hours"] == [
        {"days": "mon-fri", "start": "09:00", "end": "19:00"},
        {"days": "sat", "start": "10:00", "end": "18:00"},
    ]
    assert campaign["pause_codes"] == ["休憩", "研修"]
    assert campaign["wrapup_seconds"] == 15
    assert campaign["retry_policy"]["no_answer"] == [900, 3600]
    assert campaign["skip_holidays"] is True
    # The form shows what was saved; the list links to it.
    expect(page.get_by_label("Wrap-up seconds", exact=True)).to_have_value("15")
    page.goto(f"{service.url}/manage/campaigns")
    page.get_by_role("link", name="Kansai winter", exact=True).click()
    expect(page.get_by_label("Caller ID", exact=True)).to_have_value("+81312345678")


def test_2_an_invalid_value_is_shown_beside_its_field_and_nothing_is_saved(
    service: Service, browser: Any
) -> None:
    campaign = service.campaign()
    manager(service)
    page = browser.new_page()
    sign_in_manager(page, service)
    _open(page, service, campaign["id"])
    ladder = page.get_by_label("Retry after busy (s)", exact=True)
    expect(ladder).to_have_value("600, 1800, 7200")
    ladder.fill("600, -5")
    page.get_by_label("Wrap-up seconds", exact=True).fill("30")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(ladder).to_have_attribute("aria-invalid", "true")
    expect(ladder).to_be_focused()
    # The message is the field's description: a screen reader says it with the field.
    expect(ladder).to_have_accessible_description(re.compile(r"not accepted: retry_policy\.busy"))
    # Refused whole: the other field changed with it was not saved either.
    after = service.http.get(f"/api/campaigns/{campaign['id']}").json()
    assert after["retry_policy"]["busy"] == [600, 1800, 7200]
    assert after["wrapup_seconds"] == 0
    # A row of calling hours: the message lands on that row's input.
    start = page.get_by_label("From, row 1", exact=True)
    start.fill("25:00")
    ladder.fill("600")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(start).to_have_attribute("aria-invalid", "true")
    expect(ladder).not_to_have_attribute("aria-invalid", "true")
    # Corrected, it saves and the marks go.
    start.fill("09:30")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#notice")).to_have_text("Saved.")
    expect(start).not_to_have_attribute("aria-invalid", "true")
    after = service.http.get(f"/api/campaigns/{campaign['id']}").json()
    assert after["calling_hours"][0]["start"] == "09:30"
    assert after["retry_policy"]["busy"] == [600]
    assert after["wrapup_seconds"] == 30


def test_2_in_japanese_the_message_is_japanese(service: Service, browser: Any) -> None:
    campaign = service.campaign()
    manager(service)
    page = browser.new_page()
    sign_in_manager(page, service, lang="ja")
    _open(page, service, campaign["id"])
    caps = page.get_by_label("最大発信回数", exact=True)
    caps.fill("0")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(caps).to_have_attribute("aria-invalid", "true")
    expect(caps).to_have_accessible_description(re.compile("この値は受け付けられません"))


def test_pause_resume_clone_preview_and_history(service: Service, browser: Any) -> None:
    campaign = service.campaign(script="{name}様、{seller_name}です。{company}")
    service.leads(campaign["id"], LEADS)
    manager(service)
    page = browser.new_page()
    sign_in_manager(page, service)
    _open(page, service, campaign["id"])
    # The preview is filled from the campaign's first lead.
    preview = page.get_by_role("region", name="Script preview")
    expect(preview).to_contain_text("山田 太郎様、Kanto switch-overです。")
    expect(preview).to_contain_text("Not filled: {company}")

    page.get_by_role("button", name="Pause campaign", exact=True).click()
    expect(page.get_by_role("button", name="Resume campaign", exact=True)).to_be_visible()
    assert service.http.get(f"/api/campaigns/{campaign['id']}").json()["status"] == "paused"
    page.get_by_role("button", name="Resume campaign", exact=True).click()
    expect(page.get_by_role("button", name="Pause campaign", exact=True)).to_be_visible()
    assert service.http.get(f"/api/campaigns/{campaign['id']}").json()["status"] == "active"

    page.get_by_label("Wrap-up seconds", exact=True).fill("20")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#notice")).to_have_text("Saved.")
    history = page.get_by_role("table", name="Change history")
    row = history.get_by_role("row").filter(has_text="Wrap-up seconds")
    expect(row).to_contain_text("0 → 20")
    expect(row).to_contain_text("tanaka")
    status = history.get_by_role("row").filter(has_text="Status")
    expect(status.filter(has_text="active → paused")).to_have_count(1)
    expect(status.filter(has_text="paused → active")).to_have_count(1)

    page.get_by_label("Name of the copy", exact=True).fill("Kanto January")
    page.get_by_role("button", name="Clone", exact=True).click()
    page.wait_for_url("**?cloned=1")
    expect(page.locator("#notice")).to_contain_text("Copied as Kanto January (paused).")
    expect(page.get_by_role("button", name="Resume campaign", exact=True)).to_be_visible()
    expect(page.get_by_label("Wrap-up seconds", exact=True)).to_have_value("20")
    expect(page.get_by_role("table", name="Change history")).to_contain_text(
        f"Cloned from campaign {campaign['id']}"
    )
    # No lead in the copy: the template as written.
    expect(page.get_by_role("region", name="Script preview")).to_contain_text(
        "{name}様、{seller_name}です。"
    )


def _block(service: Service, campaign_id: int) -> None:
    """The campaign's caller id refused by Twilio (what a 21210 on a create sets),
    written to the service's database."""
    db = Database(f"sqlite:///{service.db}")
    try:
        block_dialing(db, provider_code=21210, campaign_id=campaign_id)
    finally:
        db.dispose()


def test_a_block_is_lifted_from_the_page_and_a_pause_keeps_unsaved_edits(
    service: Service, browser: Any
) -> None:
    campaign = service.campaign(caller_id="+81312345678")
    _block(service, campaign["id"])
    manager(service)
    page = browser.new_page()
    sign_in_manager(page, service)
    _open(page, service, campaign["id"])
    expect(page.get_by_role("alert")).to_contain_text(
        "The campaign's caller ID is neither a Twilio number"
    )
    page.get_by_role("button", name="Lift the block", exact=True).click()
    expect(page.locator("#notice")).to_have_text("The block is lifted: dialing resumes.")
    expect(page.locator("#blocked")).to_be_hidden()
    assert service.http.get(f"/api/campaigns/{campaign['id']}").json()["dialing_blocked"] is None
    history = page.get_by_role("table", name="Change history")
    expect(history).to_contain_text("Dialing block lifted")

    # Blocked again; a test call (simulated: nothing placed) lifts it too.
    _block(service, campaign["id"])
    _open(page, service, campaign["id"])
    page.get_by_label("Test call to", exact=True).fill("090-1234-5678")
    page.get_by_role("button", name="Place a test call", exact=True).click()
    expect(page.locator("#notice")).to_contain_text("accepted: the block is lifted")
    expect(page.locator("#blocked")).to_be_hidden()

    # An edit not saved yet survives a pause.
    page.get_by_label("Wrap-up seconds", exact=True).fill("45")
    page.get_by_role("button", name="Pause campaign", exact=True).click()
    expect(page.get_by_role("button", name="Resume campaign", exact=True)).to_be_visible()
    expect(page.get_by_label("Wrap-up seconds", exact=True)).to_have_value("45")

    # In Japanese the block and the history say it in Japanese, not Twilio's words.
    _block(service, campaign["id"])
    page.goto(f"{service.url}/manage/campaigns/{campaign['id']}?lang=ja")
    expect(page.get_by_role("alert")).to_contain_text("確認済みの発信者番号でもありません")
    history = page.get_by_role("table", name="変更履歴")
    expect(history).to_contain_text("発信停止を解除")
    expect(history).not_to_contain_text("not verified")


def test_the_campaign_page_by_keyboard_only_with_a_visible_focus_ring(
    service: Service, browser: Any
) -> None:
    campaign = service.campaign()
    manager(service)
    page = browser.new_page()
    sign_in_manager(page, service)
    _open(page, service, campaign["id"])
    expect(page.get_by_label("Wrap-up seconds", exact=True)).to_have_value("0")
    controls = page.evaluate(
        """() => [...document.querySelectorAll('button, a[href], input, select, textarea')]
            .filter((e) => !e.disabled && e.offsetParent !== null).length"""
    )
    seen = 0
    for _ in range(controls + 10):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => { const e = document.activeElement;
                if (e === document.body) return {name: null, ring: false};
                const s = getComputedStyle(e);
                return {name: e.name || e.textContent.trim(),
                        ring: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2}; }"""
        )
        if focused["name"]:
            assert focused["ring"], focused
            seen += 1
        if focused["name"] == "wrapup_seconds":
            page.keyboard.type("45")
    assert seen >= controls
    # Enter in a field submits the form, as Save does.
    page.get_by_label("Wrap-up seconds", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#notice")).to_have_text("Saved.")
    assert service.http.get(f"/api/campaigns/{campaign['id']}").json()["wrapup_seconds"] == 45
    page.get_by_role("button", name="Pause campaign", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Resume campaign", exact=True)).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
