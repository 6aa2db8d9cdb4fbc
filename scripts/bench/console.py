"""Agent console benchmark: from a promise's `due_at` to its alert on the agent's screen.

The demo as `./scripts/demo` runs it (`dialer demo --serve`: SQLite, simulated clock
and telephony, the demo's campaigns, agents and leads), with N agents in all (the
demo's three and more made through the API, each with a password set by the
manager). Each agent is signed in (`POST /api/session`) in its own headless
Chromium context and has the console (`/`) open at 1366×768. A lead list of P
uniquely named customers is imported into the demo's first campaign (its promise
slots widened so P fit in a minute) and the manager books one promise per lead,
owners in turn, due evenly over S seconds of the simulated clock.

The simulated clock is then moved in real time: every 50 ms it is advanced by the
real time elapsed (`POST /api/admin/clock`), so `due_at` maps to a real instant
(the run's real start + (due_at − the clock's start)). Measured:

- **page**: in every page a MutationObserver (installed before the console's own
  scripts) stamps each element with role `alert` the moment it enters the DOM;
  latency = that stamp − the due instant, for the alert naming the promise's lead
  in its owner's page;
- **baseline**: in the same run, a plain SSE client (httpx, one connection per
  agent, the manager's token) on the same agents' event streams; latency = the
  `promise_due` event's arrival − the due instant;
- **load**: navigation start to the "Next lead" button being enabled: each page
  reloaded alone while the others stay open (the goal's figure), and all pages
  loading at once at the start (a shift starting on one machine; shown beside it).

Printed: p50 / p99 / max of both and their ratio (page / baseline), lost alerts
(must be 0) and events, and the page loads. Goals: due → on screen p99 ≤ 1 s,
load ≤ 1 s. The last line is one JSON object with every figure; exit status 1
when an alert was lost or a goal missed.

    .venv/bin/python scripts/bench/console.py              # 10 agents, 200 promises in 60 s
    .venv/bin/python scripts/bench/console.py --quick      # 5 agents, 50 promises in 15 s
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from dialer.testing.browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, DemoProcess

REPO = Path(__file__).resolve().parents[2]
MANAGER_TOKEN = "bench-manager-token"
PASSWORD = "bench-password-{}"
TICK = 0.05  # real seconds between clock advances
LEAD_IN = 5.0  # seconds (simulated = real) from the clock's start to the first due_at

# Installed before the console's own scripts: stamps every role=alert element as it
# enters the DOM (or is shown, or its text changes), and the moment "Next lead"
# first becomes enabled. Stamps are epoch milliseconds (performance.timeOrigin +
# performance.now()), comparable with the bench's time.time() on the same machine.
OBSERVER = """(() => {
  const B = (window.__bench = { alerts: [], nextEnabledMs: null });
  const NEXT = ["Next lead", "次のリード"];
  const stamp = () => performance.timeOrigin + performance.now();
  const nameOf = (b) => (b.getAttribute("aria-label") || b.textContent || "").trim();
  function note(el, at) {
    if (!el.hidden) B.alerts.push({ at, text: el.textContent || "" });
  }
  function scan(at) {
    if (B.nextEnabledMs !== null) return;
    for (const b of document.querySelectorAll("button")) {
      if (!b.disabled && NEXT.some((n) => nameOf(b).startsWith(n))) {
        B.nextEnabledMs = performance.now();
        return;
      }
    }
  }
  new MutationObserver((records) => {
    const at = stamp();
    for (const r of records) {
      if (r.type === "childList") {
        for (const n of r.addedNodes) {
          if (n.nodeType !== 1) continue;
          if (n.matches('[role="alert"]')) note(n, at);
          n.querySelectorAll('[role="alert"]').forEach((a) => note(a, at));
        }
      }
      const target = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      const inAlert = target && target.closest && target.closest('[role="alert"]');
      if (inAlert && !(r.type === "childList" && [...r.addedNodes].includes(inAlert))) {
        note(inAlert, at);
      }
    }
    scan(at);
  }).observe(document, {
    childList: true, subtree: true, characterData: true,
    attributes: true, attributeFilter: ["disabled", "hidden"],
  });
})();"""


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _figures(values: list[float]) -> dict[str, float | None]:
    return {
        "p50_s": round(_percentile(values, 0.50), 3) if values else None,
        "p99_s": round(_percentile(values, 0.99), 3) if values else None,
        "max_s": round(max(values), 3) if values else None,
    }


@dataclass
class Promised:
    promise_id: int
    lead_name: str
    agent_id: int
    due_at: datetime


@dataclass
class Run:
    base: str
    http: httpx.Client
    agents: list[dict[str, Any]] = field(default_factory=list)  # id, name, password
    promised: list[Promised] = field(default_factory=list)
    clock_start: datetime | None = None


class Service(DemoProcess):
    """The demo service the pages are opened on."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, repo=REPO, manager_token=MANAGER_TOKEN)
        self.base = self.url


def _ok(r: httpx.Response, status: int = 200) -> Any:
    if r.status_code != status:
        raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}")
    return r.json() if r.content else None


def _prepare(run: Run, *, agents: int, promises: int, seconds: float, passwords: bool) -> None:
    http = run.http
    campaigns = _ok(http.get("/api/campaigns"))
    campaigns = campaigns["items"] if isinstance(campaigns, dict) else campaigns
    campaign = min(campaigns, key=lambda c: c["id"])
    # P promises for N agents within a minute: one-minute slots, room for all.
    _ok(
        http.patch(
            f"/api/campaigns/{campaign['id']}",
            json={"promise_policy": {"slot_minutes": 1, "per_agent_per_slot": 1000}},
        )
    )
    found = _ok(http.get("/api/agents", params={"role": "agent", "active": "true"}))["items"]
    people = sorted(found, key=lambda a: a["id"])[:agents]
    for k in range(len(people), agents):
        people.append(
            _ok(
                http.post(
                    "/api/agents",
                    json={"name": f"Bench{k + 1:02d}", "campaign_ids": [campaign["id"]]},
                ),
                201,
            )
        )
    for k, person in enumerate(people):
        if campaign["id"] not in person.get("campaign_ids", [campaign["id"]]):
            _ok(
                http.patch(
                    f"/api/agents/{person['id']}",
                    json={"campaign_ids": [*person["campaign_ids"], campaign["id"]]},
                )
            )
        password = PASSWORD.format(k + 1)
        if passwords:
            _ok(
                http.put(f"/api/agents/{person['id']}/password", json={"password": password}),
                204,
            )
        run.agents.append({"id": person["id"], "name": person["name"], "password": password})

    names = [f"ベンチ顧客{i + 1:03d}" for i in range(promises)]
    csv = "name,phone\n" + "".join(
        f"{name},080-7{i // 10000:03d}-{i % 10000:04d}\n" for i, name in enumerate(names)
    )
    report = _ok(
        http.post(
            f"/api/campaigns/{campaign['id']}/imports",
            files={"file": ("bench.csv", csv.encode(), "text/csv")},
        ),
        201,
    )
    if report.get("accepted") != promises:
        raise RuntimeError(f"the bench's lead list was not imported whole: {report}")
    lead_ids: dict[str, int] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"status": "new", "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        page = _ok(http.get(f"/api/campaigns/{campaign['id']}/leads", params=params))
        for lead in page["items"]:
            if lead["name"] in names:
                lead_ids[lead["name"]] = lead["id"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    start = datetime.fromisoformat(_ok(http.get("/api/admin/clock"))["now"])
    run.clock_start = start
    step = seconds / max(promises - 1, 1)
    for i, name in enumerate(names):
        owner = run.agents[i % len(run.agents)]
        due = start + timedelta(seconds=LEAD_IN + i * step)
        body = _ok(
            http.post(
                f"/api/leads/{lead_ids[name]}/promises",
                json={"at": due.isoformat(), "agent_id": owner["id"], "made_by": "customer"},
            ),
            201,
        )
        run.promised.append(
            Promised(
                promise_id=body["id"],
                lead_name=name,
                agent_id=owner["id"],
                due_at=datetime.fromisoformat(body["due_at"]),
            )
        )


async def _load_ms(page: Any, url: str) -> float:
    """Navigation start to "Next lead" enabled, in milliseconds (the observer's stamp)."""
    await page.goto(url)
    await page.wait_for_function("window.__bench && window.__bench.nextEnabledMs !== null")
    return float(await page.evaluate("window.__bench.nextEnabledMs"))


async def _open_pages(browser: Any, run: Run) -> list[tuple[dict[str, Any], Any, Any]]:
    pages = []
    for agent in run.agents:
        context = await browser.new_context(viewport=VIEWPORT, locale="en-US")
        r = await context.request.post(
            f"{run.base}/api/session", data={"name": agent["name"], "password": agent["password"]}
        )
        if r.status != 200:
            raise RuntimeError(f"sign-in of {agent['name']}: {r.status} {await r.text()}")
        page = await context.new_page()
        await page.add_init_script(OBSERVER)
        pages.append((agent, context, page))
    url = f"{run.base}/"
    # The start of a shift: every page loads at once, in one browser on this machine.
    burst = await asyncio.gather(*(_load_ms(page, url) for _a, _c, page in pages))
    # Then each agent reloads alone (the others open and listening): one page load.
    for (agent, _context, page), at_once in zip(pages, burst, strict=True):
        agent["burst_load_ms"] = at_once
        agent["load_ms"] = await _load_ms(page, url)
    return pages


async def _listen(
    client: httpx.AsyncClient, run: Run, agent_id: int, got: dict[int, float], ready: list[int]
) -> None:
    url = f"{run.base}/api/agents/{agent_id}/events"
    headers = {"Authorization": f"Bearer {MANAGER_TOKEN}"}
    async with client.stream("GET", url, headers=headers) as response:
        if response.status_code != 200:
            raise RuntimeError(f"agent {agent_id}'s stream: HTTP {response.status_code}")
        ready.append(agent_id)
        event, data = "", ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
            elif line == "" and data:
                if event == "promise_due":
                    body = json.loads(data)
                    got.setdefault(int(body["promise_id"]), time.time())
                event, data = "", ""


async def _drive_clock(run: Run, *, until_sim: datetime) -> float:
    """Moves the simulated clock with real time; returns the real instant the
    clock's start maps to."""
    assert run.clock_start is not None
    async with httpx.AsyncClient(
        base_url=run.base, headers={"Authorization": f"Bearer {MANAGER_TOKEN}"}, timeout=30
    ) as http:
        real_start = time.time()
        moved = 0.0
        while True:
            target = time.time() - real_start
            step = target - moved
            if step >= 0.001:
                r = await http.post("/api/admin/clock", json={"advance_seconds": round(step, 3)})
                _ok(r)
                moved += round(step, 3)
            if run.clock_start + timedelta(seconds=moved) >= until_sim:
                return real_start
            await asyncio.sleep(TICK)


async def _measure(run: Run, *, pages_too: bool) -> dict[str, Any]:
    got: dict[int, float] = {}
    ready: list[int] = []
    limits = httpx.Limits(max_connections=len(run.agents) + 5)
    async with httpx.AsyncClient(timeout=httpx.Timeout(30, read=None), limits=limits) as client:
        listeners = [
            asyncio.create_task(_listen(client, run, a["id"], got, ready)) for a in run.agents
        ]
        pw = browser = None
        pages: list[tuple[dict[str, Any], Any, Any]] = []
        try:
            if pages_too:
                from playwright.async_api import async_playwright

                pw = await async_playwright().start()
                browser = await pw.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                pages = await _open_pages(browser, run)
            deadline = time.monotonic() + 15
            while len(ready) < len(run.agents):
                if time.monotonic() > deadline:
                    raise RuntimeError("the baseline's streams did not all open")
                await asyncio.sleep(0.05)
            last_due = max(p.due_at for p in run.promised)
            real_start = await _drive_clock(run, until_sim=last_due + timedelta(seconds=3))
            await asyncio.sleep(2)  # what is still on its way
            seen: dict[int, list[dict[str, Any]]] = {}
            for agent, _context, page in pages:
                seen[agent["id"]] = await page.evaluate("window.__bench.alerts")
        finally:
            for task in listeners:
                task.cancel()
            await asyncio.gather(*listeners, return_exceptions=True)
            if browser is not None:
                await browser.close()
            if pw is not None:
                await pw.stop()
    assert run.clock_start is not None

    def due_real(p: Promised) -> float:
        return real_start + (p.due_at - run.clock_start).total_seconds()

    base_lat, page_lat = [], []
    base_lost = page_lost = 0
    for p in run.promised:
        if p.promise_id in got:
            base_lat.append(got[p.promise_id] - due_real(p))
        else:
            base_lost += 1
        if pages_too:
            stamps = [a["at"] / 1000 for a in seen[p.agent_id] if p.lead_name in a["text"]]
            if stamps:
                page_lat.append(min(stamps) - due_real(p))
            else:
                page_lost += 1
    loads = [a["load_ms"] / 1000 for a in run.agents if "load_ms" in a]
    burst_loads = [a["burst_load_ms"] / 1000 for a in run.agents if "burst_load_ms" in a]
    result: dict[str, Any] = {
        "agents": len(run.agents),
        "promises": len(run.promised),
        "baseline": {**_figures(base_lat), "lost": base_lost},
    }
    if pages_too:
        result["page"] = {**_figures(page_lat), "lost": page_lost}
        result["load"] = _figures(loads)
        result["load_all_at_once"] = _figures(burst_loads)
        b, p = result["baseline"], result["page"]
        result["ratio_p50"] = round(p["p50_s"] / b["p50_s"], 2) if b["p50_s"] else None
        result["ratio_p99"] = round(p["p99_s"] / b["p99_s"], 2) if b["p99_s"] else None
        result["goal_met"] = bool(
            page_lost == 0
            and p["p99_s"] is not None
            and p["p99_s"] <= 1.0
            and result["load"]["max_s"] is not None
            and result["load"]["max_s"] <= 1.0
        )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 agents, 50 promises in 15 s")
    parser.add_argument("--agents", type=int)
    parser.add_argument("--promises", type=int)
    parser.add_argument("--seconds", type=float, help="the promises come due over this long")
    parser.add_argument(
        "--baseline-only", action="store_true", help="the SSE clients alone, no browser"
    )
    args = parser.parse_args()
    agents, promises, seconds = (5, 50, 15.0) if args.quick else (10, 200, 60.0)
    agents = args.agents or agents
    promises = args.promises or promises
    seconds = args.seconds or seconds
    if not args.baseline_only and not os.path.exists(CHROMIUM):
        print(f"{CHROMIUM} not found (apt-get install chromium); --baseline-only runs without it")
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        service = Service(Path(tmp))
        try:
            with httpx.Client(
                base_url=service.base,
                headers={"Authorization": f"Bearer {MANAGER_TOKEN}"},
                timeout=30,
            ) as http:
                run = Run(base=service.base, http=http)
                _prepare(
                    run,
                    agents=agents,
                    promises=promises,
                    seconds=seconds,
                    passwords=not args.baseline_only,
                )
                print(
                    f"{len(run.agents)} agents, {len(run.promised)} promises due over "
                    f"{seconds:g} s (simulated clock moved in real time, every {TICK * 1000:g} ms)",
                    flush=True,
                )
                result = asyncio.run(_measure(run, pages_too=not args.baseline_only))
        finally:
            service.close()
    b = result["baseline"]
    print(
        f"baseline (SSE client): p50 {b['p50_s']} s  p99 {b['p99_s']} s  max {b['max_s']} s"
        f"  lost {b['lost']}"
    )
    if "page" in result:
        p, load = result["page"], result["load"]
        print(
            f"console page (DOM):    p50 {p['p50_s']} s  p99 {p['p99_s']} s  max {p['max_s']} s"
            f"  lost {p['lost']}"
        )
        print(f"page / baseline:       p50 ×{result['ratio_p50']}  p99 ×{result['ratio_p99']}")
        print(
            f"load to 'Next lead' enabled, one page: p50 {load['p50_s']} s  p99 {load['p99_s']} s"
            f"  max {load['max_s']} s"
        )
        burst = result["load_all_at_once"]
        print(
            f"  all {len(run.agents)} pages at once:           p50 {burst['p50_s']} s"
            f"  p99 {burst['p99_s']} s  max {burst['max_s']} s"
        )
        print("goals (p99 ≤ 1 s, load ≤ 1 s, lost 0):", "met" if result["goal_met"] else "MISSED")
    print(json.dumps(result))
    failed = b["lost"] > 0 or ("page" in result and not result["goal_met"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
