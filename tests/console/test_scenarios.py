"""The issue's four scenarios in a real browser, controls found by role and
accessible name, against the service on the simulated clock and telephony."""

from __future__ import annotations

import re
from typing import Any

from conftest import (
    PASSWORD,
    STEP_MS,
    Service,
    shift,
    sign_in,
    tab_to,
    wait_connected,
    wait_enabled,
)
from playwright.sync_api import expect

from dialer.console.i18n import catalog

expect.set_options(timeout=STEP_MS)


def english_pieces() -> list[str]:
    """The fixed words of the English catalog that the Japanese one does not share."""
    ja = set(catalog("ja").values())
    pieces = {
        piece.strip()
        for text in catalog("en").values()
        for piece in re.split(r"\{\w+\}", text)
        if len(piece.strip()) >= 3
    }
    return sorted(p for p in pieces if p not in ja)


def _figure(page: Any, which: str) -> Any:
    return page.locator(f"#fig-{which}")


def test_1_sign_in_dial_book_due_alert_on_another_lead_call_back_convert(
    service: Service, browser: Any
) -> None:
    shift(service)
    page = browser.new_page()
    sign_in(page, service, name="sato")

    page.get_by_role("button", name="Next lead", exact=True).click()
    card = page.locator("#lead")
    expect(card.get_by_role("heading", level=3)).to_contain_text("山田 太郎")
    expect(card).to_contain_text("東京電力")
    expect(card).to_contain_text("TK-0001")
    expect(card).to_contain_text("従量電灯B")
    expect(card.get_by_role("button", name=re.compile("^Call this number"))).to_be_enabled()
    page.get_by_role("button", name="Dial", exact=True).click()
    expect(page.locator("#call-status")).to_have_text("Talking")
    page.get_by_role("button", name="+10 min", exact=True).click()
    expect(page.locator("#notice")).to_contain_text("Recorded: Callback")
    expect(page.locator("#p-list")).to_contain_text("山田 太郎")

    # On another lead when the promise comes due.
    page.get_by_role("button", name="Next lead", exact=True).click()
    expect(card.get_by_role("heading", level=3)).to_contain_text("佐藤商店")
    service.advance(600)
    alert = page.get_by_role("alert").filter(has_text="山田 太郎")
    expect(alert).to_be_visible()

    alert.get_by_role("button", name="Call back now").click()
    expect(card.get_by_role("heading", level=3)).to_contain_text("山田 太郎")
    expect(alert).to_have_count(0)
    page.get_by_role("button", name="Dial", exact=True).click()
    expect(page.locator("#call-status")).to_have_text("Talking")
    page.get_by_role("button", name="Converted", exact=True).click()
    expect(page.locator("#notice")).to_contain_text("Recorded: Converted")
    expect(_figure(page, "calls")).to_have_text("2")
    expect(_figure(page, "contacts")).to_have_text("2")
    expect(_figure(page, "conversions")).to_have_text("1")
    expect(_figure(page, "kept")).to_have_text("1")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366


def test_2_a_callback_customer_rings_in_and_the_card_pops(service: Service, browser: Any) -> None:
    shift(service)
    page = browser.new_page()
    sign_in(page, service, name="sato")
    page.get_by_role("button", name="Next lead", exact=True).click()
    page.get_by_role("button", name="Dial", exact=True).click()
    expect(page.locator("#call-status")).to_have_text("Talking")
    page.get_by_role("button", name="+30 min", exact=True).click()
    expect(page.locator("#notice")).to_contain_text("Recorded: Callback")
    # A fresh page holds no card: what shows next is the pop.
    page.reload()
    wait_enabled(page.get_by_role("button", name="Next lead", exact=True))
    wait_connected(page)
    expect(page.locator("#lead")).to_be_empty()

    service.incoming("090-1234-5678")
    pop = page.locator("#incoming")
    expect(pop).to_be_visible()
    expect(pop).to_contain_text("Incoming call from")
    expect(pop).to_contain_text("Callback promised for")
    expect(page.locator("#lead").get_by_role("heading", level=3)).to_contain_text("山田 太郎")


def test_3_the_server_restarts_mid_shift_and_the_missed_alert_is_replayed(
    service: Service, browser: Any
) -> None:
    shift(service)
    page = browser.new_page()
    sign_in(page, service, name="sato")
    page.get_by_role("button", name="Next lead", exact=True).click()
    page.get_by_role("button", name="Dial", exact=True).click()
    expect(page.locator("#call-status")).to_have_text("Talking")
    page.get_by_role("button", name="+10 min", exact=True).click()
    expect(page.locator("#notice")).to_contain_text("Recorded: Callback")
    expect(page.locator("#conn")).to_have_text("Connected")

    service.stop()
    banner = page.get_by_role("alert").filter(has_text="Connection lost")
    expect(banner).to_be_visible()
    # Kept off the line while the service comes back and the promise falls due,
    # so the alert can only arrive as a replay (Last-Event-ID).
    browser.set_offline(True)
    service.start()
    service.advance(600)
    browser.set_offline(False)
    expect(banner).to_be_hidden(timeout=20_000)
    replayed = page.get_by_role("alert").filter(has_text="山田 太郎")
    expect(replayed).to_be_visible()
    # It came down the stream (Last-Event-ID), not from re-reading the list.
    assert replayed.get_attribute("data-from") == "stream"
    # Re-read after the reconnect: the session survived the restart.
    wait_enabled(page.get_by_role("button", name="Next lead", exact=True))


def test_4_the_whole_of_1_in_japanese_by_keyboard_only(service: Service, browser: Any) -> None:
    shift(service)
    page = browser.new_page()
    page.goto(f"{service.url}/login?lang=ja")
    kb = page.keyboard
    tab_to(page, page.get_by_label("名前", exact=True))
    kb.type("sato")
    kb.press("Tab")
    kb.type(PASSWORD)
    kb.press("Enter")
    wait_enabled(page.get_by_role("button", name="次のリード", exact=True))
    wait_connected(page)

    kb.press("n")
    card = page.locator("#lead")
    expect(card.get_by_role("heading", level=3)).to_contain_text("山田 太郎")
    wait_enabled(page.get_by_role("button", name="発信", exact=True))
    kb.press("d")
    expect(page.locator("#call-status")).to_have_text("通話中")
    tab_to(page, page.get_by_role("button", name="10分後", exact=True))
    kb.press("Enter")
    expect(page.locator("#notice")).to_contain_text("記録しました：再架電")

    kb.press("n")
    expect(card.get_by_role("heading", level=3)).to_contain_text("佐藤商店")
    service.advance(600)
    alert = page.get_by_role("alert").filter(has_text="山田 太郎")
    expect(alert).to_be_visible()
    tab_to(page, alert.get_by_role("button", name="今すぐ再架電"))
    kb.press("Enter")
    expect(card.get_by_role("heading", level=3)).to_contain_text("山田 太郎")
    wait_enabled(page.get_by_role("button", name="発信", exact=True))
    kb.press("d")
    expect(page.locator("#call-status")).to_have_text("通話中")
    kb.press("1")
    expect(page.locator("#notice")).to_contain_text("記録しました：成約")
    expect(_figure(page, "conversions")).to_have_text("1")
    expect(_figure(page, "kept")).to_have_text("1")
    # The screen, as the script filled it in, is in Japanese only.
    assert page.locator("html").get_attribute("lang") == "ja"
    shown = page.locator("body").inner_text()
    foreign = [p for p in english_pieces() if p in shown]
    assert not foreign, foreign


def test_4_refusals_in_japanese_bad_password_csrf_missing_locked_out(
    service: Service, browser: Any
) -> None:
    campaign, _ = shift(service)
    service.agent([campaign["id"]], name="suzuki", password=PASSWORD)
    page = browser.new_page()
    page.goto(f"{service.url}/login?lang=ja")
    page.get_by_label("名前", exact=True).fill("sato")
    page.get_by_label("パスワード", exact=True).fill("not the password")
    page.get_by_role("button", name="ログイン", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("名前またはパスワードが違います。")

    # Signed in, a write without the CSRF header is refused and changes nothing.
    sign_in(page, service, name="sato", lang="ja")
    refused = page.evaluate(
        """async () => {
            const r = await fetch('/api/session', {credentials: 'same-origin'});
            const me = (await r.json()).agent;
            const w = await fetch(`/api/agents/${me.id}/state`, {
                method: 'PUT', credentials: 'same-origin',
                headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({state: 'offline'})});
            const after = await (await fetch(`/api/agents/${me.id}`)).json();
            return {status: w.status, code: (await w.json()).code, state: after.state};
        }"""
    )
    assert refused == {"status": 403, "code": "csrf_missing", "state": "available"}

    # Ten failures in a row lock the name (the back-off waits on the service's clock).
    for _ in range(10):
        r = service.http.post("/api/session", json={"name": "suzuki", "password": "wrong-wrong"})
        assert r.status_code in (401, 423), r.text
        service.advance(61)
    other = browser.new_page()
    other.goto(f"{service.url}/login?lang=ja")
    other.get_by_label("名前", exact=True).fill("suzuki")
    other.get_by_label("パスワード", exact=True).fill(PASSWORD)
    other.get_by_role("button", name="ログイン", exact=True).click()
    expect(other.get_by_role("alert")).to_contain_text("ロックされています")
