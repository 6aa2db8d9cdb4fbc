"""The pages in a real Chromium: sign-in controls by role and accessible name in
each language, the remembered switch, the console sending a stranger to sign in,
no horizontal scroll at 1366×768."""

from __future__ import annotations

from typing import Any

from conftest import Service, shift, sign_in


def test_sign_in_page_in_both_languages_and_the_switch_is_remembered(
    service: Service, browser: Any
) -> None:
    page = browser.new_page()
    page.goto(f"{service.url}/")  # no session: sent to sign in
    assert page.url == f"{service.url}/login"
    page.get_by_label("Name", exact=True).wait_for()
    page.get_by_label("Password", exact=True).wait_for()
    page.get_by_role("button", name="Sign in", exact=True).wait_for()
    page.get_by_role("link", name="日本語").click()
    page.get_by_role("button", name="ログイン", exact=True).wait_for()
    page.get_by_label("名前", exact=True).wait_for()
    page.get_by_label("パスワード", exact=True).wait_for()
    assert page.locator("html").get_attribute("lang") == "ja"
    # Remembered: a new visit without ?lang= stays Japanese.
    page.goto(f"{service.url}/login")
    assert page.locator("html").get_attribute("lang") == "ja"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366


def test_sign_out_ends_the_session(service: Service, browser: Any) -> None:
    shift(service)
    page = browser.new_page()
    sign_in(page, service, name="sato")
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url(f"{service.url}/login")
    page.goto(f"{service.url}/")
    assert page.url == f"{service.url}/login"
    status = page.evaluate("async () => (await fetch('/api/session')).status")
    assert status == 401
