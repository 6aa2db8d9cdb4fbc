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

and the manager console's (a manager, `manager`, signed in; Sato working in a
second browser, Suzuki dialling through the API, Takahashi paused):

    manage-floor        the live floor: agents by state and time in state, the call,
                        the queue in words
    manage-campaign     a campaign's form, its script preview and change history
    manage-list-preview a CP932 lead list with Japanese headers, previewed before import
    manage-lead         a lead's page: phones, history, why it is (not) being called
    manage-reports      the reports: leaderboard, funnel, the answer-rate chart
    manage-compliance   the report page's Compliance: the five checks, the abandon
                        rate per window, the violations (none)

    .venv/bin/python scripts/screenshots.py            # all screens, both languages
    .venv/bin/python scripts/screenshots.py --lang ja  # one language
    .venv/bin/python scripts/screenshots.py --manager-only  # the manager console's only
    .venv/bin/python scripts/screenshots.py --manager-only --only manage-compliance
"""

from __future__ import annotations

import argparse
import os
import re
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
        "dial": "Dial",
        "agents": "Agents",
        "save": "Save",
        "list_file": "Lead list file",
        "preview": "Preview",
        "leaderboard": "Leaderboard",
        "compliance": "Compliance",
    },
    "ja": {
        "locale": "ja-JP",
        "name": "名前",
        "password": "パスワード",
        "sign_in": "ログイン",
        "next": "次のリード",
        "plus10": "10分後",
        "dial": "発信",
        "agents": "エージェント",
        "save": "保存",
        "list_file": "リストファイル",
        "preview": "プレビュー",
        "leaderboard": "成績",
        "compliance": "コンプライアンス",
    },
}


MANAGER = "manager"
MANAGER_PASSWORD = "demo-password-manager"
# A lead list as a customer's spreadsheet exports it: Shift_JIS (CP932) with
# Japanese headers, one phone the import would refuse.
LIST_CSV = (
    "氏名,会社名,電話番号,現在の契約先,備考\r\n"
    "高橋 一郎,高橋工務店,03-5555-0101,東京電力,午前中希望\r\n"
    "伊藤 美咲,,090-5555-0102,東京電力,\r\n"
    "渡辺 健,渡辺商事,06-5555-0103,関西電力,担当者不在が多い\r\n"
    "小林 由美,,0120-55,東京電力,番号誤り\r\n"
)


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


# `--only`: the screens to write (the others are still driven through, unsaved).
ONLY: set[str] = set()


def _shoot(page: Any, name: str, lang: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}-{lang}.png"
    if ONLY and name not in ONLY:
        return path
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


def _sign_in(
    page: Any, words: dict[str, str], *, name: str = AGENT, password: str = PASSWORD
) -> None:
    page.get_by_label(words["name"], exact=True).fill(name)
    page.get_by_label(words["password"], exact=True).fill(password)
    page.get_by_role("button", name=words["sign_in"], exact=True).click()


def manager_screens(browser: Any, lang: str) -> None:
    """The manager console's screens, on a demo of their own."""
    from playwright.sync_api import expect

    words = LABELS[lang]
    with tempfile.TemporaryDirectory(prefix="screenshots-") as tmp:
        demo = Demo(Path(tmp))
        contexts: list[Any] = []
        try:
            people = {
                a["name"]: a
                for a in demo.ok(demo.http.get("/api/agents", params={"role": "any"}))["items"]
            }
            for name, password in ((MANAGER, MANAGER_PASSWORD), (AGENT, PASSWORD)):
                demo.ok(
                    demo.http.put(
                        f"/api/agents/{people[name]['id']}/password", json={"password": password}
                    ),
                    204,
                )
            campaign = demo.ok(demo.http.get("/api/campaigns"))["items"][0]

            def context() -> Any:
                made = browser.new_context(viewport=VIEWPORT, locale=words["locale"])
                made.set_default_timeout(STEP_MS)
                contexts.append(made)
                return made

            # Sato works in a browser of his own: the next lead, answered.
            agent = context().new_page()
            agent.goto(f"{demo.url}/login?lang={lang}")
            _sign_in(agent, words)
            next_lead = agent.get_by_role("button", name=words["next"], exact=True)
            expect(next_lead).to_be_enabled()
            # Takahashi went on a break eleven minutes ago (past the floor's
            # threshold for a pause), Sato and Suzuki start their calls now.
            demo.ok(
                demo.http.put(
                    f"/api/agents/{people['Takahashi']['id']}/state",
                    json={"state": "paused", "pause_code": campaign["pause_codes"][0]},
                )
            )
            demo.ok(demo.http.post("/api/admin/clock", json={"advance_seconds": 660}))
            next_lead.click()
            expect(agent.locator("#lead").get_by_role("heading", level=3)).to_be_visible()
            held = demo.ok(demo.http.get(f"/api/agents/{people[AGENT]['id']}/queue"))
            lead = demo.ok(demo.http.get(f"/api/leads/{held['claimed_lead_id']}"))
            demo.ok(
                demo.http.post(
                    "/api/admin/sim/outcomes",
                    json={"phone": lead["phones"][0]["number"], "outcomes": ["answered"]},
                )
            )
            agent.get_by_role("button", name=words["dial"], exact=True).click()
            expect(agent.locator("#call-status")).not_to_have_text(re.compile("^$"))
            # Sato has talked for a minute when Suzuki dials through the API (its
            # call rings: nobody answers).
            demo.ok(demo.http.post("/api/admin/clock", json={"advance_seconds": 50}))
            _dial_through_the_api(demo, people["Suzuki"])

            page = context().new_page()
            page.goto(f"{demo.url}/login?lang={lang}")
            _sign_in(page, words, name=MANAGER, password=MANAGER_PASSWORD)
            page.wait_for_url(lambda url: "/login" not in url, wait_until="commit")
            page.goto(f"{demo.url}/manage?campaign_id={campaign['id']}&lang={lang}")
            agents = page.get_by_role("region", name=words["agents"])
            expect(agents.get_by_role("rowheader", name=AGENT)).to_be_visible()
            expect(page.locator("#floor-conn")).to_have_attribute("data-state", "ok")
            # The queue's diagnosis comes in its own snapshot once computed.
            expect(page.locator("#floor-queue")).to_contain_text(re.compile(r"\d"))
            _shoot(page, "manage-floor", lang)

            page.goto(f"{demo.url}/manage/campaigns/{campaign['id']}?lang={lang}")
            expect(page.get_by_role("button", name=words["save"], exact=True)).to_be_visible()
            page.wait_for_load_state("networkidle")
            _shoot(page, "manage-campaign", lang)

            page.goto(f"{demo.url}/manage/campaigns/{campaign['id']}/lists?lang={lang}")
            page.get_by_label(words["list_file"], exact=True).set_input_files(
                files=[
                    {
                        "name": "リスト.csv",
                        "mimeType": "text/csv",
                        "buffer": LIST_CSV.encode("cp932"),
                    }
                ]
            )
            page.get_by_role("button", name=words["preview"], exact=True).click()
            expect(page.get_by_text("高橋工務店").first).to_be_visible()
            _shoot(page, "manage-list-preview", lang)

            page.goto(f"{demo.url}/manage/leads/{lead['id']}?lang={lang}")
            expect(page.get_by_text(lead["name"]).first).to_be_visible()
            page.wait_for_load_state("networkidle")
            _shoot(page, "manage-lead", lang)

            page.goto(f"{demo.url}/manage/reports?campaign_id={campaign['id']}&lang={lang}")
            expect(
                page.get_by_role("heading", name=words["leaderboard"], exact=True)
            ).to_be_visible()
            page.wait_for_function(
                "() => { const i = document.getElementById('hours-chart');"
                " return i && i.complete && i.naturalWidth > 0; }"
            )
            _shoot(page, "manage-reports", lang)

            section = page.get_by_role("region", name=words["compliance"], exact=True)
            expect(section.locator("#checks-rows tr")).to_have_count(5)
            section.scroll_into_view_if_needed()
            page.evaluate("document.getElementById('report-compliance').scrollIntoView()")
            _shoot(page, "manage-compliance", lang)
        finally:
            for made in contexts:
                made.close()
            demo.close()


def _dial_through_the_api(demo: Demo, agent: dict[str, Any]) -> None:
    """`agent` takes its next lead and calls it, with a fresh token of its own."""
    token = demo.ok(demo.http.post(f"/api/agents/{agent['id']}/token"))["token"]
    auth = {"Authorization": f"Bearer {token}"}
    got = demo.http.post(f"/api/agents/{agent['id']}/next", headers=auth)
    if got.status_code != 200:
        return  # nothing to call for it: it shows as waiting
    lead = got.json()["lead"]
    demo.ok(demo.http.post(f"/api/leads/{lead['id']}/calls", json={}, headers=auth), 201)


def _campaign_of(demo: Demo, queue: Any) -> int:
    """The campaign of the lead the agent holds (`claimed_lead_id` of its queue)."""
    lead = demo.ok(demo.http.get(f"/api/leads/{queue['claimed_lead_id']}"))
    return int(lead["campaign_id"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", choices=sorted(LABELS), action="append")
    parser.add_argument(
        "--manager-only", action="store_true", help="only the manager console's screens"
    )
    parser.add_argument(
        "--only", action="append", metavar="SCREEN", help="write only this screen (repeatable)"
    )
    args = parser.parse_args()
    ONLY.update(args.only or [])
    if not os.path.exists(CHROMIUM):
        print(f"{CHROMIUM} not found (apt-get install chromium)")
        return 2
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for lang in args.lang or ["en", "ja"]:
                print(f"{lang}:", flush=True)
                if not args.manager_only:
                    screens(browser, lang)
                manager_screens(browser, lang)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
