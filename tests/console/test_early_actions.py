"""Acting right after a page loads: a click, an Enter or a shortcut made while a
page still reads its session and its data is held and done once the page is
ready — never lost, never a native form submit that reloads the page. Each test
holds one read with page.route so the page is certainly not ready when it acts."""

from __future__ import annotations

from typing import Any

from conftest import LEADS, PASSWORD, STEP_MS, Service, manager, sign_in, sign_in_manager
from playwright.sync_api import expect

expect.set_options(timeout=STEP_MS)


def _hold(page: Any, pattern: str) -> list[Any]:
    """Holds every GET matching `pattern` until `_release`; other methods pass."""
    held: list[Any] = []

    def handle(route: Any) -> None:
        if route.request.method == "GET":
            held.append(route)
        else:
            route.continue_()

    page.route(pattern, handle)
    return held


def _release(page: Any, pattern: str, held: list[Any]) -> None:
    for _ in range(400):  # the page asks as soon as its script runs
        if held:
            break
        page.wait_for_timeout(25)
    assert held, f"the page never asked for {pattern}"
    for route in held:
        route.continue_()
    page.unroute(pattern)


def _mark(page: Any) -> None:
    page.evaluate("() => { window.samePage = true; }")


def _same_page(page: Any) -> bool:
    return bool(page.evaluate("() => window.samePage === true"))


def test_a_button_clicked_before_the_manager_page_is_ready_is_done_once_it_is(
    service: Service, browser: Any
) -> None:
    """Campaigns: "New campaign" is wired only after the session is read."""
    manager(service)
    page = browser.new_page()
    sign_in_manager(page, service)
    held = _hold(page, "**/api/session")
    page.goto(f"{service.url}/manage/campaigns")
    page.get_by_role("button", name="New campaign", exact=True).click()
    _release(page, "**/api/session", held)
    page.wait_for_url("**/manage/campaigns/new")
    expect(page.locator("#main")).not_to_have_attribute("aria-busy", "true")


def test_a_control_disabled_until_the_page_is_ready_says_so(service: Service, browser: Any) -> None:
    """People: "New person" needs the campaigns to offer; until then it is disabled
    and the page busy, and then it works."""
    service.campaign(name="Kanto")
    manager(service)
    page = browser.new_page()
    sign_in_manager(page, service)
    held = _hold(page, "**/api/campaigns")
    page.goto(f"{service.url}/manage/people")
    button = page.get_by_role("button", name="New person", exact=True)
    expect(button).to_be_disabled()
    expect(page.locator("#main")).to_have_attribute("aria-busy", "true")
    _release(page, "**/api/campaigns", held)
    button.click()
    form = page.get_by_role("form", name="New person")
    expect(form.get_by_label("Kanto", exact=True)).to_be_visible()
    expect(page.locator("#main")).not_to_have_attribute("aria-busy", "true")


def test_enter_in_a_form_before_the_manager_page_is_ready_submits_it_once_it_is(
    service: Service, browser: Any
) -> None:
    """DNC: Enter in the add form while the session is read adds the number, in place."""
    manager(service)
    page = browser.new_page()
    sign_in_manager(page, service)
    held = _hold(page, "**/api/session")
    page.goto(f"{service.url}/manage/dnc")
    _mark(page)
    add = page.locator("#dnc-add")
    add.get_by_label("Phone", exact=True).fill("090-1111-2222")
    add.get_by_label("Reason", exact=True).press("Enter")
    _release(page, "**/api/session", held)
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
    held = _hold(page, "**/api/session")
    page.goto(f"{service.url}/")
    _mark(page)
    page.get_by_role("button", name="Paused", exact=True).click()
    _release(page, "**/api/session", held)
    expect(page.get_by_role("button", name="Paused", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    got = service.http.get("/api/agents?role=agent").json()["items"][0]
    assert got["state"] == "paused"
    # Loaded again: N pressed while the session is read asks for the next lead
    # once it is, and (paused) is told why not, in words.
    held = _hold(page, "**/api/session")
    page.goto(f"{service.url}/")
    _mark(page)
    page.locator("body").press("n")
    _release(page, "**/api/session", held)
    expect(page.locator("#notice")).to_have_text("Set yourself Available to take leads.")
    assert _same_page(page)
