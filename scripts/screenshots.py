"""Screenshots of the agent console's main screens, in English and Japanese, for the
README: docs/screenshots/<screen>-<lang>.png at 1366×768.

For each language it starts the demo as `./scripts/demo` does (`dialer demo
--serve` in a scratch directory: SQLite, simulated clock and telephony, the demo's
campaigns, agents and leads), gives the demo agent Sato a password (as a manager
would), and drives Debian's Chromium through the screens, finding controls by
role and accessible name like the browser tests:

    signin              the sign-in page
    console-lead        signed in, the next lead taken: card, script, softphone, outcomes
    booker-suggestions  +10 min into a slot already taken: the suggested times as buttons
    due-alert           a promise comes due while the agent is on another lead
    nothing-to-call     after calling hours: why there is nothing to call, and until when

    .venv/bin/python scripts/screenshots.py            # all screens, both languages
    .venv/bin/python scripts/screenshots.py --lang ja  # one language
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from dialer.testing.browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, DemoProcess

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"
MANAGER_TOKEN = "screenshots-manager-token"
AGENT = "Sato"
PASSWORD = "demo-password-sato"
STEP_MS = 15_000
LABELS = {
    "en": {
        "locale": "en-US",
        "name": "Name",
        "password": "Password",
        "sign_in": "Sign in",
        "next": "Next lead",
        "plus10": "+10 min",
    },
    "ja": {
        "locale": "ja-JP",
        "name": "名前",
        "password": "パスワード",
        "sign_in": "ログイン",
        "next": "次のリード",
        "plus10": "10分後",
    },
}


class Demo(DemoProcess):
    """The demo service the screens are taken of, with a manager's client."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, repo=REPO, manager_token=MANAGER_TOKEN)
        self.http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {MANAGER_TOKEN}"}, timeout=30
        )

    def ok(self, r: httpx.Response, status: int = 200) -> Any:
        if r.status_code != status:
            raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}")
        return r.json() if r.content else None

    def close(self) -> None:
        self.http.close()
        super().close()


def _shoot(page: Any, name: str, lang: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}-{lang}.png"
    page.wait_for_timeout(300)  # let the last paint settle (fonts, countdowns)
    page.screenshot(path=str(path))
    print(f"  {path.relative_to(REPO)} ({path.stat().st_size // 1024} kB)", flush=True)
    return path


def screens(browser: Any, lang: str) -> None:
    from playwright.sync_api import expect

    words = LABELS[lang]
    with tempfile.TemporaryDirectory(prefix="screenshots-") as tmp:
        demo = Demo(Path(tmp))
        try:
            agents = demo.ok(demo.http.get("/api/agents", params={"role": "agent"}))["items"]
            sato = next(a for a in agents if a["name"] == AGENT)
            demo.ok(
                demo.http.put(f"/api/agents/{sato['id']}/password", json={"password": PASSWORD}),
                204,
            )
            context = browser.new_context(viewport=VIEWPORT, locale=words["locale"])
            context.set_default_timeout(STEP_MS)
            page = context.new_page()

            page.goto(f"{demo.url}/login?lang={lang}")
            expect(page.get_by_role("button", name=words["sign_in"], exact=True)).to_be_visible()
            _shoot(page, "signin", lang)

            _sign_in(page, words)
            next_lead = page.get_by_role("button", name=words["next"], exact=True)
            expect(next_lead).to_be_enabled()
            next_lead.click()
            card = page.locator("#lead")
            expect(card.get_by_role("heading", level=3)).to_be_visible()
            on_card = card.get_by_role("heading", level=3).inner_text()
            _shoot(page, "console-lead", lang)

            # Another customer already holds Sato's slot in ten minutes (the demo's
            # promise; else the manager books one): +10 min is refused with
            # suggestions.
            claimed = demo.ok(demo.http.get(f"/api/agents/{sato['id']}/queue"))
            campaign_id = _campaign_of(demo, claimed)
            other = next(
                lead
                for lead in demo.ok(
                    demo.http.get(
                        f"/api/campaigns/{campaign_id}/leads", params={"status": "new", "limit": 50}
                    )
                )["items"]
                if lead["name"] and lead["name"] not in on_card
            )
            r = demo.http.post(
                f"/api/leads/{other['id']}/promises",
                json={"in_minutes": 10, "agent_id": sato["id"], "made_by": "customer"},
            )
            if r.status_code != 201 and r.json().get("code") != "slot_taken":
                demo.ok(r, 201)
            page.get_by_role("button", name=words["plus10"], exact=True).click()
            expect(page.locator("#p-suggest button").first).to_be_visible()
            _shoot(page, "booker-suggestions", lang)

            # That promise comes due while Sato is on this lead.
            promises = demo.ok(
                demo.http.get(f"/api/agents/{sato['id']}/promises", params={"status": "scheduled"})
            )["items"]
            first = min(promises, key=lambda p: datetime.fromisoformat(p["due_at"]))
            due = datetime.fromisoformat(first["due_at"])
            demo.ok(demo.http.post("/api/admin/clock", json={"to": due.isoformat()}))
            alert = page.get_by_role("alert").filter(has_text=first["lead_name"])
            expect(alert).to_be_visible()
            _shoot(page, "due-alert", lang)

            # The end of the day: the lead given back, the clock past calling hours.
            demo.ok(demo.http.delete(f"/api/agents/{sato['id']}/claim"), 204)
            now = datetime.fromisoformat(demo.ok(demo.http.get("/api/admin/clock"))["now"])
            tokyo = now.astimezone(ZoneInfo("Asia/Tokyo"))
            evening = tokyo.replace(hour=21, minute=30, second=0, microsecond=0)
            demo.ok(demo.http.post("/api/admin/clock", json={"to": evening.isoformat()}))
            if context.request.get(f"{demo.url}/api/session").status == 401:
                # Hours later on the simulated clock the session has lapsed
                # (DIALER_SESSION_IDLE_MINUTES): sign in again, as the agent would.
                # The console sees it too and goes to the sign-in page itself.
                sign_in = page.get_by_role("button", name=words["sign_in"], exact=True)
                expect(sign_in).to_be_visible()
                _sign_in(page, words)
            else:
                page.reload()
            expect(next_lead).to_be_enabled()
            next_lead.click()
            expect(page.locator("#nothing")).to_be_visible()
            _shoot(page, "nothing-to-call", lang)
            context.close()
        finally:
            demo.close()


def _sign_in(page: Any, words: dict[str, str]) -> None:
    page.get_by_label(words["name"], exact=True).fill(AGENT)
    page.get_by_label(words["password"], exact=True).fill(PASSWORD)
    page.get_by_role("button", name=words["sign_in"], exact=True).click()


def _campaign_of(demo: Demo, queue: Any) -> int:
    """The campaign of the lead the agent holds (`claimed_lead_id` of its queue)."""
    lead = demo.ok(demo.http.get(f"/api/leads/{queue['claimed_lead_id']}"))
    return int(lead["campaign_id"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", choices=sorted(LABELS), action="append")
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        print(f"{CHROMIUM} not found (apt-get install chromium)")
        return 2
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for lang in args.lang or ["en", "ja"]:
                print(f"{lang}:", flush=True)
                screens(browser, lang)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
