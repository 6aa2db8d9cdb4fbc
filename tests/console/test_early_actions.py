"""Acting right after a page loads: a click, an Enter or a shortcut made while a
page still reads its session and its data is held and done once the page is
ready — never lost, never a native form submit that reloads the page — and what
is typed meanwhile is kept, not overwritten by the page filling its form. Each test
holds one read with page.route so the page is certainly not ready when it acts."""

from __future__ import annotations

from typing import Any

from conftest import (
    LEADS,
    PASSWORD,
    STEP_MS,
    Service,
    hold_reads,
    manager,
    release_reads,
    sign_in,
    sign_in_manager,
)
from playwright.sync_api import expect

expect.set_options(timeout=STEP_MS)


def _manager_page_held(service: Service, browser: Any, pattern: str) -> tuple[Any, list[Any]]:
    """A signed-in manager's page whose GETs matching `pattern` are held."""
    manager(service)
    page = browser.new_page()
    sign_in_manager(page, service)
    return page, hold_reads(page, pattern)


def _mark(page: Any) -> None:
    page.evaluate("() => { window.samePage = true; }")


def _same_page(page: Any) -> bool:
    return bool(page.evaluate("() => window.samePage === true"))


def test_a_button_clicked_before_the_manager_page_is_ready_is_done_once_it_is(
    service: Service, browser: Any
) -> None:
    """Campaigns: "New campaign" is wired only after the session is read."""
    page, held = _manager_page_held(service, browser, "**/api/session")
    page.goto(f"{service.url}/manage/campaigns")
    page.get_by_role("button", name="New campaign", exact=True).click()
    release_reads(page, "**/api/session", held)
    page.wait_for_url("**/manage/campaigns/new")
    expect(page.locator("#main")).not_to_have_attribute("aria-busy", "true")


def test_a_control_disabled_until_the_page_is_ready_says_so(service: Service, browser: Any) -> None:
    """People: "New person" needs the campaigns to offer; until then it is disabled
    and the page busy, and then it works."""
    service.campaign(name="Kanto")
    page, held = _manager_page_held(service, browser, "**/api/campaigns")
    page.goto(f"{service.url}/manage/people")
    button = page.get_by_role("button", name="New person", exact=True)
    expect(button).to_be_disabled()
    expect(page.locator("#main")).to_have_attribute("aria-busy", "true")
    release_reads(page, "**/api/campaigns", held)
    button.click()
    form = page.get_by_role("form", name="New person")
    expect(form.get_by_label("Kanto", exact=True)).to_be_visible()
    expect(page.locator("#main")).not_to_have_attribute("aria-busy", "true")


def test_enter_in_a_form_before_the_manager_page_is_ready_submits_it_once_it_is(
    service: Service, browser: Any
) -> None:
    """DNC: Enter in the add form while the session is read adds the number, in place."""
    page, held = _manager_page_held(service, browser, "**/api/session")
    page.goto(f"{service.url}/manage/dnc")
    _mark(page)
    add = page.locator("#dnc-add")
    add.get_by_label("Phone", exact=True).fill("090-1111-2222")
    add.get_by_label("Reason", exact=True).press("Enter")
    release_reads(page, "**/api/session", held)
    expect(page.locator("#notice")).to_have_text("+819011112222 is on the list.")
    expect(page.get_by_role("table", name="Do-not-call list")).to_contain_text("+819011112222")
    assert _same_page(page), "the Enter submitted the form natively (a reload)"
    assert "phone=" not in page.url


def test_a_click_and_a_shortcut_before_the_agent_console_is_ready_are_done_once_it_is(
    service: Service, browser: Any
) -> None:
    """The console: "Paused" needs the agent's id and N needs the session; both wait."""
    campaign = service.campaign()
    service.leads(campaign["id"], LEADS)
    service.agent([campaign["id"]], name="sato", password=PASSWORD)
    page = browser.new_page()
    sign_in(page, service, name="sato")
    held = hold_reads(page, "**/api/session")
    page.goto(f"{service.url}/")
    _mark(page)
    page.get_by_role("button", name="Paused", exact=True).click()
    release_reads(page, "**/api/session", held)
    expect(page.get_by_role("button", name="Paused", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    got = service.http.get("/api/agents?role=agent").json()["items"][0]
    assert got["state"] == "paused"
    # Loaded again: N pressed while the session is read asks for the next lead
    # once it is, and (paused) is told why not, in words.
    held = hold_reads(page, "**/api/session")
    page.goto(f"{service.url}/")
    _mark(page)
    page.locator("body").press("n")
    release_reads(page, "**/api/session", held)
    expect(page.locator("#notice")).to_have_text("Set yourself Available to take leads.")
    assert _same_page(page)


def test_what_is_typed_in_the_new_campaign_form_while_the_page_loads_is_saved(
    service: Service, browser: Any
) -> None:
    """The form's defaults are filled before the session is read, not over the name
    typed meanwhile; Save waits for the session (its CSRF token) and creates it."""
    page, held = _manager_page_held(service, browser, "**/api/session")
    page.goto(f"{service.url}/manage/campaigns/new")
    page.get_by_label("Name", exact=True).fill("Kansai winter")
    page.get_by_label("Wrap-up seconds", exact=True).fill("25")
    page.get_by_role("button", name="Save", exact=True).click()
    release_reads(page, "**/api/session", held)
    page.wait_for_url("**/manage/campaigns/*?created=1")
    created = [c for c in service.http.get("/api/campaigns").json()["items"]]
    assert [(c["name"], c["wrapup_seconds"]) for c in created] == [("Kansai winter", 25)]


def test_a_field_edited_before_the_campaign_is_read_keeps_the_edit(
    service: Service, browser: Any
) -> None:
    """One campaign: a wrap-up typed while the campaign is still read stays what was
    typed (the page does not fill the campaign's value over it) and is saved."""
    campaign = service.campaign(name="Kanto")
    pattern = f"**/api/campaigns/{campaign['id']}"
    page, held = _manager_page_held(service, browser, pattern)
    page.goto(f"{service.url}/manage/campaigns/{campaign['id']}")
    wrapup = page.get_by_label("Wrap-up seconds", exact=True)
    wrapup.fill("25")
    release_reads(page, pattern, held)
    expect(page.locator("#main")).not_to_have_attribute("aria-busy", "true")
    expect(page.get_by_role("heading", name="Kanto", exact=True)).to_be_visible()
    expect(wrapup).to_have_value("25")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#notice")).to_have_text("Saved.")
    got = service.http.get(f"/api/campaigns/{campaign['id']}").json()
    assert got["wrapup_seconds"] == 25
