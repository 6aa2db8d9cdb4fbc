"""Browser tests of the agent console: the service as a real process (`python -m
dialer.cli serve`, SQLite file, simulated clock and telephony) and Debian's Chromium
driven by Playwright for Python (its bundled driver; never `playwright install`).

`service` can be stopped and started again on the same port and database (a
restart mid-shift). Chromium is launched once per worker; each test gets a fresh
context at 1366×768. Every wait is bounded (10 s a step, 30 s a scenario)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import CLOCK_START, MANAGER_TOKEN, free_port

from dialer.testing.browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, wait_until_healthy

STEP_MS = 10_000


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here and "browser" in item.fixturenames:
            item.add_marker(pytest.mark.browser)


class Service:
    """`python -m dialer.cli serve` on a free port over a SQLite file in tmp_path."""

    def __init__(self, root: Path, template: Path, **env: str) -> None:
        self.root = root
        self.db = root / "dialer.db"
        shutil.copy(template, self.db)  # the schema upgraded first (the template)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{self.db}",
            "DIALER_CLOCK": "simulated",
            "DIALER_CLOCK_START": CLOCK_START,
            "DIALER_TELEPHONY": "simulated",
            "DIALER_SIM_ANSWER_RATE": "0",
            "DIALER_SIM_SEED": "0",
            "DIALER_BOOTSTRAP_TOKEN": MANAGER_TOKEN,
            "DIALER_AUTO_UPGRADE": "false",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = root / "service.log"
        self.http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {MANAGER_TOKEN}"}, timeout=15
        )

    def start(self) -> None:
        assert self.proc is None
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "dialer.cli", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until_healthy(self.url, proc=self.proc, log_name=str(self.log), seconds=30)
        except RuntimeError as e:
            pytest.fail(f"{e}: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            # uvicorn waits for open event streams to end, which they never do:
            # a short grace, then the process is killed (as a crash would end it).
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None

    # -- set-up through the API, as the manager -----------------------------------
    def ok(self, r: httpx.Response, status: int = 200) -> Any:
        assert r.status_code == status, r.text
        return r.json() if r.content else None

    def campaign(self, **fields: Any) -> dict[str, Any]:
        fields.setdefault("name", "Kanto switch-over")
        fields.setdefault("timezone", "Asia/Tokyo")
        return dict(self.ok(self.http.post("/api/campaigns", json=fields), 201))

    def agent(self, campaign_ids: list[int], *, name: str, password: str) -> dict[str, Any]:
        agent = self.ok(
            self.http.post(
                "/api/agents",
                json={"name": name, "campaign_ids": campaign_ids, "endpoint": f"client:{name}"},
            ),
            201,
        )
        self.ok(
            self.http.put(f"/api/agents/{agent['id']}/password", json={"password": password}),
            204,
        )
        return dict(agent)

    def leads(self, campaign_id: int, csv: str) -> None:
        r = self.http.post(
            f"/api/campaigns/{campaign_id}/imports",
            files={"file": ("leads.csv", csv.encode(), "text/csv")},
        )
        assert self.ok(r, 201)["accepted"] == csv.count("\n") - 1, r.text

    def outcomes(self, phone: str, outcomes: list[str]) -> None:
        self.ok(
            self.http.post("/api/admin/sim/outcomes", json={"phone": phone, "outcomes": outcomes})
        )

    def advance(self, seconds: float) -> None:
        self.ok(self.http.post("/api/admin/clock", json={"advance_seconds": seconds}))

    def incoming(self, phone: str) -> dict[str, Any]:
        return dict(self.ok(self.http.post("/api/admin/sim/incoming", json={"from": phone}), 201))

    def close(self) -> None:
        self.stop()
        self.http.close()


@pytest.fixture
def service(tmp_path: Path, sqlite_template: Path) -> Iterator[Service]:
    svc = Service(tmp_path, sqlite_template)
    svc.start()
    try:
        yield svc
    finally:
        svc.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (scripts/ensure-chromium installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser(chromium: Any) -> Iterator[Any]:
    """A fresh context (cookies, storage) per test, at 1366×768."""
    context = chromium.new_context(viewport=VIEWPORT, locale="en-US")
    context.set_default_timeout(STEP_MS)
    try:
        yield context
    finally:
        context.close()


LEADS = (
    "name,company,phone,priority,current_provider,contract_number,notes,plan\n"
    "山田 太郎,,090-1234-5678,5,東京電力,TK-0001,夕方は不在がち,従量電灯B\n"
    "佐藤 花子,佐藤商店,03-1234-5678,1,関西電力,,,\n"
)
PASSWORD = "correct horse battery"


def sign_in(page: Any, service: Service, *, name: str, lang: str = "en") -> None:
    labels = {
        "en": ("Name", "Password", "Sign in", "Next lead"),
        "ja": ("名前", "パスワード", "ログイン", "次のリード"),
    }
    name_label, password_label, button, next_lead = labels[lang]
    page.goto(f"{service.url}/login?lang={lang}")
    page.get_by_label(name_label, exact=True).fill(name)
    page.get_by_label(password_label, exact=True).fill(PASSWORD)
    page.get_by_role("button", name=button, exact=True).click()
    wait_enabled(page.get_by_role("button", name=next_lead, exact=True))
    wait_connected(page)


def wait_connected(page: Any) -> None:
    """The event stream is open: what happens from now on reaches the page (a
    page that just loaded has no Last-Event-ID to ask for what came before)."""
    from playwright.sync_api import expect

    expect(page.locator("#conn")).to_have_attribute("data-state", "ok", timeout=STEP_MS)


def wait_enabled(locator: Any) -> None:
    from playwright.sync_api import expect

    expect(locator).to_be_enabled(timeout=STEP_MS)


def tab_to(page: Any, locator: Any, *, limit: int = 120) -> None:
    """Tab (forwards) until `locator` has the focus: the keyboard-only path."""
    target = locator.element_handle()
    for _ in range(limit):
        if page.evaluate("el => document.activeElement === el", target):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {locator}")


def shift(service: Service) -> tuple[dict[str, Any], dict[str, Any]]:
    """A campaign in Tokyo with two leads (山田 first, his phone answers twice) and
    an agent `sato` with a password."""
    campaign = service.campaign()
    service.leads(campaign["id"], LEADS)
    service.outcomes("090-1234-5678", ["answered", "answered"])
    agent = service.agent([campaign["id"]], name="sato", password=PASSWORD)
    return campaign, agent


# -- the manager console (issue 15) -------------------------------------------------


def manager(service: Service, *, name: str = "tanaka") -> dict[str, Any]:
    """A manager account with a password (signs in at /login like an agent)."""
    account = service.ok(
        service.http.post("/api/agents", json={"name": name, "role": "manager"}), 201
    )
    service.ok(
        service.http.put(f"/api/agents/{account['id']}/password", json={"password": PASSWORD}),
        204,
    )
    return dict(account)


def sign_in_manager(page: Any, service: Service, *, name: str = "tanaka", lang: str = "en") -> None:
    """Signs in through /login and lands on the manager console (`/` → `/manage`)."""
    labels = {"en": ("Name", "Password", "Sign in"), "ja": ("名前", "パスワード", "ログイン")}
    name_label, password_label, button = labels[lang]
    page.goto(f"{service.url}/login?lang={lang}")
    page.get_by_label(name_label, exact=True).fill(name)
    page.get_by_label(password_label, exact=True).fill(PASSWORD)
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_url(f"{service.url}/manage", timeout=STEP_MS)


def hold_reads(page: Any, pattern: str) -> list[Any]:
    """Holds every GET matching `pattern` until `release_reads`; other methods pass.
    The page is then certainly not ready when the test acts."""
    held: list[Any] = []

    def handle(route: Any) -> None:
        if route.request.method == "GET":
            held.append(route)
        else:
            route.continue_()

    page.route(pattern, handle)
    return held


def release_reads(page: Any, pattern: str, held: list[Any]) -> None:
    """Lets the reads `hold_reads` held go on (once the page has asked for one)."""
    for _ in range(400):  # the page asks as soon as its script runs
        if held:
            break
        page.wait_for_timeout(25)
    assert held, f"the page never asked for {pattern}"
    for route in held:
        route.continue_()
    page.unroute(pattern)


def manage_ready(page: Any) -> None:
    """The page's script has read the session (window.Manage.me is set)."""
    page.wait_for_function("() => window.Manage && window.Manage.me", timeout=STEP_MS)


# -- the manager console's floor and reports (issue 15) ------------------------------
def live_manager(service: Service, *, name: str = "suzuki") -> dict[str, Any]:
    """A manager with a password (the bootstrap manager has only its token)."""
    manager = service.ok(
        service.http.post("/api/agents", json={"name": name, "role": "manager"}), 201
    )
    service.ok(
        service.http.put(f"/api/agents/{manager['id']}/password", json={"password": PASSWORD}), 204
    )
    return dict(manager)


def live_sign_in(page: Any, service: Service, *, name: str, path: str, lang: str = "en") -> None:
    """Sign in on /login as `name`, then open the manager page `path` in `lang`."""
    labels = {"en": ("Name", "Password", "Sign in"), "ja": ("名前", "パスワード", "ログイン")}
    name_label, password_label, button = labels[lang]
    page.goto(f"{service.url}/login?lang={lang}")
    page.get_by_label(name_label, exact=True).fill(name)
    page.get_by_label(password_label, exact=True).fill(PASSWORD)
    page.get_by_role("button", name=button, exact=True).click()
    # Signed in once the sign-in page has moved on (to wherever it sends a manager).
    page.wait_for_url(lambda url: "/login" not in url, wait_until="commit", timeout=STEP_MS)
    sep = "&" if "?" in path else "?"
    page.goto(f"{service.url}{path}{sep}lang={lang}")
