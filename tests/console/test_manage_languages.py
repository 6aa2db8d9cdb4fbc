"""Issue test 5 for the manager console's pages: each page, once its script has
filled it from the API, is wholly in the language asked (no English catalog text
on a Japanese page, no Japanese one on an English page), and keeps to the
1366-pixel width."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import LEADS, STEP_MS, Service, manager, sign_in_manager
from playwright.sync_api import expect

from dialer.console.i18n import catalog

expect.set_options(timeout=STEP_MS)
OTHER = {"en": "ja", "ja": "en"}


def foreign_pieces(lang: str) -> list[str]:
    """The fixed words of the other language's catalog that this one does not share."""
    own = set(catalog(lang).values())
    pieces = {
        piece.strip()
        for text in catalog(OTHER[lang]).values()
        for piece in re.split(r"\{\w+\}", text)
        if len(piece.strip()) >= 3
    }
    return sorted(p for p in pieces if p not in own)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_5_every_manager_page_is_in_one_language(service: Service, browser: Any, lang: str) -> None:
    campaign = service.campaign(name="Kanto 2026")
    service.leads(campaign["id"], LEADS)
    service.ok(
        service.http.post(
            "/api/conversions",
            json={"campaign_id": campaign["id"], "reference": "WEB-1", "channel": "web",
                  "phone": "080-9999-0000"},
        ),
        201,
    )  # fmt: skip
    service.ok(service.http.post("/api/dnc", json={"phone": "090-7777-8888", "reason": "x"}), 201)
    service.ok(service.http.patch(f"/api/campaigns/{campaign['id']}", json={"wrapup_seconds": 5}))
    lead = service.http.get("/api/leads", params={"phone": "090-1234-5678"}).json()["items"][0]
    manager(service)
    page = browser.new_page()
    sign_in_manager(page, service, lang=lang)
    foreign = foreign_pieces(lang)
    cid = campaign["id"]
    for path in [
        "/manage/campaigns",
        "/manage/campaigns/new",
        f"/manage/campaigns/{cid}",
        f"/manage/campaigns/{cid}/lists",
        "/manage/leads?name=%E5%B1%B1%E7%94%B0",
        f"/manage/leads/{lead['id']}",
        f"/manage/conversions?campaign_id={cid}",
        "/manage/dnc",
        "/manage/people",
    ]:
        page.goto(f"{service.url}{path}")
        page.wait_for_load_state("networkidle")
        assert page.locator("html").get_attribute("lang") == lang
        # The set-up's account is named in English whatever the page's language: data.
        shown = page.locator("body").inner_text().replace("bootstrap manager", "")
        found = [p for p in foreign if p in shown]
        assert not found, (path, found)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366, path
