"""The live floor (/manage) in a real browser: a manager watches while an agent
works in a second browser context (issue 15, test 3), the banner while the
stream is down, and the page in both languages."""

from __future__ import annotations

import re
import time
from typing import Any

from conftest import (
    STEP_MS,
    Service,
    live_manager,
    live_sign_in,
    shift,
    sign_in,
)
from playwright.sync_api import expect

from dialer.console.i18n import catalog
from dialer.testing.browser import VIEWPORT

expect.set_options(timeout=STEP_MS)
# The bound: what an agent does shows on the floor within 2 s.
LIVE_MS = 2_000

HEADINGS = {
    "en": [
        "Agents",
        "Calls live now",
        "Promises due in the next 30 minutes",
        "Missed today",
        "Queue",
    ],
    "ja": ["エージェント", "通話中", "30分以内の約束", "本日の不履行", "キュー"],
}


def _foreign(lang: str) -> list[str]:
    """The fixed words of the other language's catalog that this one does not share."""
    other = catalog("ja" if lang == "en" else "en").values()
    own = set(catalog(lang).values())
    pieces = {
        piece.strip()
        for text in other
        for piece in re.split(r"\{\w+\}", text)
        if len(piece.strip()) >= 3
    }
    return sorted(p for p in pieces if p not in own)


def _agent_row(floor: Any, name: str) -> Any:
    return (
        floor.get_by_role("region", name="Agents")
        .get_by_role("row")
        .filter(has=floor.get_by_role("rowheader", name=name, exact=True))
    )


def _within(locator: Any, text: str, *, started: float) -> None:
    """`locator` shows `text` within LIVE_MS of `started` (a monotonic instant)."""
    left = max(1, int(LIVE_MS - (time.monotonic() - started) * 1000))
    expect(locator).to_contain_text(text, timeout=left)


def test_3_the_floor_shows_an_agent_working_in_another_browser_within_2_s(
    service: Service, browser: Any, chromium: Any
) -> None:
    campaign, _ = shift(service)
    live_manager(service)
    floor = browser.new_page()
    live_sign_in(floor, service, name="suzuki", path="/manage")
    for heading in HEADINGS["en"]:
        expect(floor.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(floor.get_by_label("Campaign", exact=True)).to_have_value(str(campaign["id"]))
    expect(floor.locator("#floor-conn")).to_have_attribute("data-state", "ok")
    row = _agent_row(floor, "sato")
    expect(row).to_have_count(1)
    # Nothing is callable for the queue's words to hide: two new leads, callable now.
    expect(floor.get_by_role("region", name="Queue")).to_contain_text("Callable now: 2")

    # The agent, in a browser of its own.
    agent_context = chromium.new_context(viewport=VIEWPORT, locale="en-US")
    agent_context.set_default_timeout(STEP_MS)
    try:
        agent = agent_context.new_page()
        sign_in(agent, service, name="sato")

        agent.get_by_role("button", name="Paused", exact=True).click()
        expect(agent.get_by_role("button", name="Paused", exact=True)).to_have_attribute(
            "aria-pressed", "true"
        )
        started = time.monotonic()
        _within(row, "Paused", started=started)

        agent.get_by_role("button", name="Available", exact=True).click()
        expect(agent.get_by_role("button", name="Available", exact=True)).to_have_attribute(
            "aria-pressed", "true"
        )
        _within(row, "Available", started=time.monotonic())

        agent.get_by_role("button", name="Next lead", exact=True).click()
        expect(agent.locator("#lead").get_by_role("heading", level=3)).to_contain_text("山田 太郎")
        _within(row, "山田 太郎", started=time.monotonic())
        # The lead on the floor links to its page.
        expect(row.get_by_role("link", name=re.compile("山田 太郎"))).to_have_attribute(
            "href", re.compile(r"/manage/leads/\d+$")
        )

        agent.get_by_role("button", name="Dial", exact=True).click()
        expect(agent.locator("#call-status")).to_have_text("Talking")
        started = time.monotonic()
        _within(row, "Talking", started=started)
        calls = floor.get_by_role("region", name="Calls live now")
        _within(calls, "山田 太郎", started=started)
        expect(calls).to_contain_text("sato")
        # Time in state: a clock and its level, repainted from the service's clock.
        cell = row.locator("td.in-state")
        expect(cell).to_have_text(re.compile(r"^\d+:\d\d"))
        expect(cell).to_have_attribute("data-level", "ok")

        agent.get_by_role("button", name="Hang up", exact=True).click()
        _within(calls, "No calls right now.", started=time.monotonic())
    finally:
        agent_context.close()
    assert floor.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]


def test_the_floor_says_when_its_stream_is_down_and_recovers(
    service: Service, browser: Any
) -> None:
    shift(service)
    live_manager(service)
    floor = browser.new_page()
    live_sign_in(floor, service, name="suzuki", path="/manage")
    banner = floor.get_by_role("alert").filter(has_text="disconnected")
    expect(floor.locator("#floor-conn")).to_have_attribute("data-state", "ok")
    expect(banner).to_be_hidden()

    service.stop()
    expect(banner).to_be_visible()
    expect(floor.locator("#floor-conn")).to_have_text("Disconnected")
    service.start()
    # The browser reconnects by itself (the stream's `retry`); the snapshot repaints.
    expect(banner).to_be_hidden(timeout=3 * STEP_MS)
    expect(floor.locator("#floor-conn")).to_have_attribute("data-state", "ok")
    expect(_agent_row(floor, "sato")).to_have_count(1)


def test_the_floor_in_japanese_and_in_english_only(service: Service, browser: Any) -> None:
    shift(service)
    live_manager(service)
    floor = browser.new_page()
    for lang in ("ja", "en"):
        if lang == "ja":
            live_sign_in(floor, service, name="suzuki", path="/manage", lang="ja")
        else:
            floor.goto(f"{service.url}/manage?lang=en")
        for heading in HEADINGS[lang]:
            expect(floor.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        expect(floor.locator("#floor-conn")).to_have_attribute("data-state", "ok")
        queue = floor.get_by_role("region", name=HEADINGS[lang][4])
        expect(queue).to_contain_text("今すぐ発信可能: 2件" if lang == "ja" else "Callable now: 2")
        assert floor.locator("html").get_attribute("lang") == lang
        shown = floor.locator("body").inner_text()
        foreign = [p for p in _foreign(lang) if p in shown]
        assert not foreign, (lang, foreign)
