"""The console's panels beyond the four scenarios: the state bar (pause codes,
wrap-up), dispositions that ask for confirmation or a contract number, the
booker's suggestions when a slot is taken, nothing to call in words, and the
keyboard: every control reachable by Tab with a visible focus ring."""

from __future__ import annotations

import time
from typing import Any

from conftest import (
    LEADS,
    PASSWORD,
    STEP_MS,
    Service,
    shift,
    sign_in,
    wait_connected,
    wait_enabled,
)
from playwright.sync_api import expect

expect.set_options(timeout=STEP_MS)


def _talk(page: Any) -> None:
    page.get_by_role("button", name="Next lead", exact=True).click()
    wait_enabled(page.get_by_role("button", name="Dial", exact=True))
    page.get_by_role("button", name="Dial", exact=True).click()
    expect(page.locator("#call-status")).to_have_text("Talking")


def test_pause_code_wrapup_countdown_and_back_to_available(service: Service, browser: Any) -> None:
    campaign = service.campaign(wrapup_seconds=120, pause_codes=["休憩", "研修"])
    service.leads(campaign["id"], LEADS)
    service.outcomes("090-1234-5678", ["answered"])
    service.agent([campaign["id"]], name="sato", password=PASSWORD)
    page = browser.new_page()
    sign_in(page, service, name="sato")
    expect(page.get_by_role("button", name="Available", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    page.get_by_label("Pause reason").select_option("研修")
    page.get_by_role("button", name="Paused", exact=True).click()
    expect(page.get_by_role("button", name="Paused", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    got = service.http.get("/api/agents?role=agent").json()["items"][0]
    assert (got["state"], got["pause_code"]) == ("paused", "研修")
    page.get_by_role("button", name="Next lead", exact=True).click()
    expect(page.locator("#notice")).to_have_text("Set yourself Available to take leads.")

    page.get_by_role("button", name="Available", exact=True).click()
    _talk(page)
    page.get_by_role("button", name="Not interested", exact=True).click()
    expect(page.locator("#wrapup")).to_have_text("Wrap-up: 2:00 left")
    page.get_by_role("button", name="Next lead", exact=True).click()
    expect(page.locator("#notice")).to_contain_text("Wrap-up until")
    service.advance(60)
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.locator("#wrapup")).to_have_text("Wrap-up: 1:00 left")
    page.get_by_role("button", name="Available", exact=True).click()
    expect(page.locator("#wrapup")).to_be_hidden()
    page.get_by_role("button", name="Next lead", exact=True).click()
    expect(page.locator("#lead").get_by_role("heading", level=3)).to_contain_text("佐藤商店")


def test_refusal_asks_first_and_converted_asks_for_the_contract_number(
    service: Service, browser: Any
) -> None:
    campaign = service.campaign(contract_number_pattern=r"TK-\d{4}")
    service.leads(campaign["id"], LEADS)
    service.outcomes("090-1234-5678", ["answered"])
    service.outcomes("03-1234-5678", ["answered"])
    service.agent([campaign["id"]], name="sato", password=PASSWORD)
    page = browser.new_page()
    sign_in(page, service, name="sato")

    _talk(page)
    page.get_by_role("button", name="Refused", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("will never be called again")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert service.http.get("/api/calls").json()["items"][0]["disposition"] is None
    page.get_by_role("button", name="Refused", exact=True).click()
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.locator("#notice")).to_have_text("Recorded: Refused")
    assert service.http.get("/api/calls").json()["items"][0]["disposition"] == "refused"

    _talk(page)
    page.get_by_role("button", name="Converted", exact=True).click()
    expect(page.locator("#notice")).to_contain_text("Enter the contract number")
    contract = page.get_by_label("Contract number")
    expect(contract).to_be_focused()
    contract.fill("TK-1234")
    page.get_by_role("button", name="Converted", exact=True).click()
    expect(page.locator("#notice")).to_have_text("Recorded: Converted")
    expect(page.locator("#fig-conversions")).to_have_text("1")


def test_a_taken_slot_offers_the_suggested_times_as_buttons(service: Service, browser: Any) -> None:
    campaign = service.campaign(
        promise_policy={"slot_minutes": 15, "per_agent_per_slot": 1, "grace_minutes": 10}
    )
    service.leads(campaign["id"], LEADS)
    service.outcomes("090-1234-5678", ["answered"])
    service.outcomes("03-1234-5678", ["answered"])
    service.agent([campaign["id"]], name="sato", password=PASSWORD)
    page = browser.new_page()
    sign_in(page, service, name="sato")
    _talk(page)
    page.get_by_role("button", name="+10 min", exact=True).click()
    expect(page.locator("#notice")).to_have_text("Recorded: Callback")

    _talk(page)
    page.get_by_role("button", name="+10 min", exact=True).click()
    suggest = page.locator("#p-suggest")
    expect(suggest).to_contain_text("That time is taken")
    first = suggest.get_by_role("button").first
    expect(first).to_be_focused()
    when = first.inner_text()
    first.click()
    expect(page.locator("#notice")).to_have_text("Recorded: Callback")
    expect(page.locator("#p-list")).to_contain_text(when)
    expect(page.locator("#p-list li")).to_have_count(2)


def test_nothing_to_call_says_why_and_when_in_the_campaign_zone(
    service: Service, browser: Any
) -> None:
    campaign = service.campaign(
        calling_hours=[{"days": "mon-fri", "start": "11:00", "end": "20:00"}]
    )
    service.leads(campaign["id"], LEADS)
    service.agent([campaign["id"]], name="sato", password=PASSWORD)
    page = browser.new_page()
    sign_in(page, service, name="sato", lang="ja")
    page.get_by_role("button", name="次のリード", exact=True).click()
    nothing = page.locator("#nothing")
    expect(nothing).to_contain_text("架電可能時間外です。")
    # 11:00 in Tokyo (the browser's own zone is not Tokyo's).
    expect(nothing).to_contain_text("11:00 に変わります。")


def test_every_control_is_reached_by_tab_with_a_visible_focus_ring(
    service: Service, browser: Any
) -> None:
    shift(service)
    page = browser.new_page()
    sign_in(page, service, name="sato")
    _talk(page)
    enabled = page.evaluate(
        """() => [...document.querySelectorAll('button, a[href], input, select')]
            .filter((e) => !e.disabled && e.offsetParent !== null && e.type !== 'radio')
            .map((e) => e.id || e.getAttribute('aria-label') || e.textContent.trim())"""
    )
    seen: set[str] = set()
    for _ in range(len(enabled) + 30):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => { const e = document.activeElement;
                if (e === document.body) return {key: null, ring: false};
                const s = getComputedStyle(e);
                return {key: e.id || e.getAttribute('aria-label') || e.textContent.trim(),
                        ring: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2}; }"""
        )
        if focused["key"]:
            assert focused["ring"], focused
            seen.add(focused["key"])
    missing = [k for k in enabled if k not in seen]
    assert not missing, missing
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366


def test_a_lost_connection_pauses_the_agent_who_is_told_so(service: Service, browser: Any) -> None:
    shift(service)
    page = browser.new_page()
    sign_in(page, service, name="sato")
    expect(page.locator("#conn")).to_have_text("Connected")
    # The tab is gone (a crash, a closed lid): its event stream drops.
    page.close()
    deadline = time.monotonic() + 10
    while service.http.get("/api/agents?role=agent").json()["items"][0]["state"] != "paused":
        # The service's clock runs on: a minute later the agent is paused.
        service.advance(61)
        assert time.monotonic() < deadline, "the agent was never paused"
        time.sleep(0.2)
    page = browser.new_page()
    page.goto(f"{service.url}/")  # still signed in
    wait_enabled(page.get_by_role("button", name="Next lead", exact=True))
    expect(page.locator("#notice")).to_contain_text(
        "You were paused because the connection was lost"
    )
    expect(page.get_by_role("button", name="Paused", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    page.get_by_role("button", name="Available", exact=True).click()
    expect(page.get_by_role("button", name="Available", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )


def test_booker_time_picker_for_anyone_lunch_and_this_evening(
    service: Service, browser: Any
) -> None:
    campaign = service.campaign(
        promise_policy={"slot_minutes": 15, "per_agent_per_slot": 5, "grace_minutes": 10}
    )
    service.leads(
        campaign["id"],
        "name,phone,priority\n山田 太郎,090-1234-5678,3\n"
        "佐藤 花子,03-1234-5678,2\n鈴木 一郎,06-1234-5678,1\n",
    )
    service.outcomes("03-1234-5678", ["answered"])
    service.outcomes("06-1234-5678", ["answered"])
    service.agent([campaign["id"]], name="sato", password=PASSWORD)
    page = browser.new_page()
    sign_in(page, service, name="sato")

    # Standalone, on the lead held before any call: the time picker, for anyone.
    page.get_by_role("button", name="Next lead", exact=True).click()
    expect(page.locator("#lead").get_by_role("heading", level=3)).to_contain_text("山田 太郎")
    page.get_by_role("radio", name="Anyone", exact=True).check()
    page.get_by_label("Call back at").fill("2026-12-01T15:30")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.locator("#notice")).to_have_text("Callback booked for 1 Dec, 15:30.")
    page.get_by_role("radio", name="Me", exact=True).check()
    page.get_by_role("button", name="Release lead", exact=True).click()
    expect(page.locator("#lead")).to_be_empty()

    # As the callback outcome of a call: lunch, then this evening.
    _talk(page)
    page.get_by_role("button", name="Lunch 12–13", exact=True).click()
    expect(page.locator("#notice")).to_have_text("Recorded: Callback")
    _talk(page)
    page.get_by_role("button", name="This evening", exact=True).click()
    expect(page.locator("#notice")).to_have_text("Recorded: Callback")
    promises = service.http.get("/api/promises?status=scheduled").json()["items"]
    # Tokyo wall times: lunch 12:00–13:00, the evening 18:00 to the end of calling
    # hours (20:00); the picked time 15:30 with its grace.
    got = sorted((p["due_at"][11:16], p["window_end"][11:16], p["owner"]) for p in promises)
    assert got == [
        ("12:00", "13:00", "agent"),
        ("15:30", "15:40", "anyone"),
        ("18:00", "20:00", "agent"),
    ], got


def test_a_call_the_progressive_dialer_places_comes_on_screen_with_its_lead(
    service: Service, browser: Any
) -> None:
    """No click placed it: the call's first status on the stream brings the lead
    the dialer claimed, and the live call, onto the panel; the agent then
    dispositions it as any other."""
    campaign = service.campaign(dial_mode="progressive")
    agent = service.agent([campaign["id"]], name="sato", password=PASSWORD)
    # Paused until the console is open, so the call comes while it watches; the
    # leads come after the pause, or the dialer's tick could place the call first.
    service.ok(service.http.put(f"/api/agents/{agent['id']}/state", json={"state": "paused"}))
    service.outcomes("090-1234-5678", ["answered"])
    service.leads(campaign["id"], LEADS)
    page = browser.new_page()
    sign_in(page, service, name="sato")
    wait_connected(page)
    card = page.locator("#lead")
    expect(card).not_to_contain_text("山田 太郎")
    page.get_by_role("button", name="Available", exact=True).click()
    expect(card.get_by_role("heading", level=3)).to_contain_text("山田 太郎")
    expect(page.locator("#call-status")).to_have_text("Talking")
    page.get_by_role("button", name="Not interested", exact=True).click()
    expect(page.locator("#notice")).to_contain_text("Recorded: Not interested")


def test_a_call_the_predictive_dialer_connects_comes_on_screen_with_its_lead(
    service: Service, browser: Any
) -> None:
    """The progressive test's twin: the predictive dialer places the call for no
    agent (the agent holds no claim), and once the customer answers it hands the
    call and its lead to the agent waiting; the call's status on the stream
    brings both onto the panel."""
    campaign = service.campaign(dial_mode="predictive")
    agent = service.agent([campaign["id"]], name="sato", password=PASSWORD)
    service.ok(service.http.put(f"/api/agents/{agent['id']}/state", json={"state": "paused"}))
    service.outcomes("090-1234-5678", ["answered"])
    service.leads(campaign["id"], LEADS)
    page = browser.new_page()
    sign_in(page, service, name="sato")
    wait_connected(page)
    queue = service.ok(service.http.get(f"/api/agents/{agent['id']}/queue"))
    assert queue["claimed_lead_id"] is None
    card = page.locator("#lead")
    expect(card).not_to_contain_text("山田 太郎")
    page.get_by_role("button", name="Available", exact=True).click()
    expect(card.get_by_role("heading", level=3)).to_contain_text("山田 太郎")
    expect(page.locator("#call-status")).to_have_text("Talking")
    expect(card).to_contain_text("Connected to an agent")
    page.get_by_role("button", name="Not interested", exact=True).click()
    expect(page.locator("#notice")).to_contain_text("Recorded: Not interested")
