"""Promise delivery benchmark: from `due_at` to the `promise_due` event at the agent.

The deployment shape of production, on the real clock: `uvicorn dialer.app:app
--workers 2` and one `python -m dialer.scheduler`, on SQLite and on a throw-away
PostgreSQL cluster. Agents listen on `GET /api/agents/{id}/events` (one SSE
connection each, spread over the workers by the kernel). Promises are written
straight into the database before the processes start (booking speed is not what
is measured): N spread evenly over the spread period, plus a burst all due in the
same instant halfway through. Owners take turns among the agents. Nobody calls,
so windows end 5 minutes after due and the misses are swept during the run, as
on a real floor where some promises slip.

For every promise: lateness = arrival of its `promise_due` at its owner's
connection − `due_at`. Printed: p50 / p99 / max lateness (all, and the burst
alone), lost (never arrived) and duplicated counts, which must be 0. Goal:
p99 ≤ 1 s.

    python scripts/bench/promises.py --quick      # 2,000 over 30 s + 500 burst, < 1 minute
    python scripts/bench/promises.py              # 10,000 over 10 minutes + 1,000 burst

The last line printed is one JSON object with every figure. Exit status 1 when a
promise was lost or duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, update

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from dialer.agents.service import create_agent  # noqa: E402
from dialer.campaign.schemas import CampaignCreate  # noqa: E402
from dialer.campaign.service import create_campaign  # noqa: E402
from dialer.db import Database  # noqa: E402
from dialer.leads.models import Lead, LeadStatus, NextAttemptReason, Phone  # noqa: E402
from dialer.migrations import upgrade  # noqa: E402
from dialer.promises.models import Promise, PromiseStatus  # noqa: E402
from dialer.testing.postgres import PostgresCluster, find_pg_bin_dir  # noqa: E402

GRACE = timedelta(minutes=5)
ROUND_THE_CLOCK = [{"days": "mon-sun", "start": "00:00", "end": "24:00"}]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Plan:
    spread: int  # promises spread evenly over `seconds`
    seconds: float
    burst: int  # promises due in one instant, halfway
    agents: int
    lead_in: float  # seconds from the end of set-up to the first due_at


@dataclass
class Setup:
    tokens: dict[int, str]  # agent id -> token
    due: dict[int, tuple[datetime, int, bool]]  # promise id -> (due_at, owner, in burst)
    first_due: datetime
    last_due: datetime


def _populate(db: Database, plan: Plan, *, start: datetime) -> Setup:
    with db.write() as session:
        campaign = create_campaign(
            session,
            data=CampaignCreate(
                name="Promise delivery bench",
                calling_hours=ROUND_THE_CLOCK,  # type: ignore[arg-type]
                skip_holidays=False,
                promise_policy={"slot_minutes": 1, "per_agent_per_slot": 100_000},  # type: ignore[arg-type]
            ),
            now=start,
        )
        tokens = {}
        for k in range(plan.agents):
            agent, token = create_agent(
                session,
                name=f"Agent {k}",
                campaign_ids=[campaign.id],
                endpoint=None,
                now=start,  # type: ignore[list-item]
            )
            assert agent.id is not None
            tokens[agent.id] = token
    total = plan.spread + plan.burst
    first = start + timedelta(seconds=plan.lead_in)
    step = plan.seconds / max(plan.spread - 1, 1)
    burst_at = first + timedelta(seconds=plan.seconds / 2)
    owners = list(tokens)
    due: dict[int, tuple[datetime, int, bool]] = {}
    with db.write() as session:
        lead_rows = [
            {
                "campaign_id": campaign.id,
                "status": LeadStatus.scheduled,
                "timezone": "Asia/Tokyo",
                "name": f"Lead {i}",
                "failure_counts": {},
                "extra": {},
                "raw": {},
                "created_at": start,
                "updated_at": start,
            }
            for i in range(total)
        ]
        lead_ids = list(
            session.scalars(
                insert(Lead).returning(Lead.id, sort_by_parameter_order=True), lead_rows
            )
        )
        session.execute(
            insert(Phone),
            [
                {
                    "lead_id": lead_id,
                    "campaign_id": campaign.id,
                    "number": f"+8190{i:08d}",
                    "position": 0,
                }
                for i, lead_id in enumerate(lead_ids)
            ],
        )
        promise_rows = []
        for i, lead_id in enumerate(lead_ids):
            in_burst = i >= plan.spread
            at = burst_at if in_burst else first + timedelta(seconds=i * step)
            owner = owners[i % len(owners)]
            promise_rows.append(
                {
                    "lead_id": lead_id,
                    "campaign_id": campaign.id,
                    "agent_id": owner,
                    "booked_by_agent_id": owner,
                    "booked_by": f"agent:{owner}",
                    "made_by": "customer",
                    "kind": "at",
                    "due_at": at,
                    "window_end": at + GRACE,
                    "slot_start": at.replace(second=0, microsecond=0),
                    "status": PromiseStatus.scheduled,
                    "followups": 0,
                    "created_at": start,
                    "updated_at": start,
                }
            )
        promise_ids = list(
            session.scalars(
                insert(Promise).returning(Promise.id, sort_by_parameter_order=True), promise_rows
            )
        )
        for i, (promise_id, row) in enumerate(zip(promise_ids, promise_rows, strict=True)):
            due[promise_id] = (row["due_at"], row["agent_id"], i >= plan.spread)
        session.execute(
            update(Lead),
            [
                {
                    "id": lead_id,
                    "promise_id": pid,
                    "next_attempt_at": row["due_at"],
                    "next_attempt_reason": NextAttemptReason.promise,
                    "reserved_agent_id": row["agent_id"],
                    "reserved_until": row["window_end"],
                }
                for lead_id, pid, row in zip(lead_ids, promise_ids, promise_rows, strict=True)
            ],
        )
    dues = [d for d, _o, _b in due.values()]
    return Setup(tokens=tokens, due=due, first_due=min(dues), last_due=max(dues))


@dataclass
class Received:
    arrivals: dict[int, list[float]] = field(default_factory=dict)  # promise id -> epoch times
    wrong_agent: int = 0
    connected: int = 0
    errors: list[str] = field(default_factory=list)


async def _listen(
    client: httpx.AsyncClient,
    base: str,
    agent_id: int,
    token: str,
    setup: Setup,
    got: Received,
    stop: asyncio.Event,
) -> None:
    url = f"{base}/api/agents/{agent_id}/events"
    try:
        async with client.stream(
            "GET", url, headers={"Authorization": f"Bearer {token}"}
        ) as response:
            if response.status_code != 200:
                got.errors.append(f"agent {agent_id}: HTTP {response.status_code}")
                return
            got.connected += 1
            event, data = "", ""
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif line == "" and data:
                    arrived = time.time()
                    if event == "promise_due":
                        body = json.loads(data)
                        if not body.get("reassigned"):
                            pid = int(body["promise_id"])
                            owner = setup.due.get(pid, (None, None, None))[1]
                            if owner != agent_id:
                                got.wrong_agent += 1
                            got.arrivals.setdefault(pid, []).append(arrived)
                    event, data = "", ""
                if stop.is_set():
                    return
    except (httpx.HTTPError, asyncio.CancelledError) as exc:
        if not stop.is_set():
            got.errors.append(f"agent {agent_id}: {exc!r}")


async def _run_listeners(base: str, setup: Setup, *, until_epoch: float) -> Received:
    got = Received()
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=len(setup.tokens) + 10)
    async with httpx.AsyncClient(timeout=httpx.Timeout(30, read=None), limits=limits) as client:
        tasks = [
            asyncio.create_task(_listen(client, base, agent_id, token, setup, got, stop))
            for agent_id, token in setup.tokens.items()
        ]
        while time.time() < until_epoch:
            await asyncio.sleep(0.2)
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return got


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))
    return ordered[index]


def _wait_http(base: str, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the web workers did not answer /healthz")


def bench_engine(engine: str, url: str, plan: Plan, workdir: Path) -> dict[str, Any]:
    upgrade(url)
    db = Database(url)
    started = datetime.now(UTC)
    setup = _populate(db, plan, start=started)
    db.dispose()
    print(
        f"[{engine}] {len(setup.due):,} promises for {plan.agents} agents, "
        f"due {setup.first_due:%H:%M:%S} .. {setup.last_due:%H:%M:%S} UTC",
        flush=True,
    )
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DIALER_CLOCK": "system",
        "DIALER_TELEPHONY": "simulated",
        "DIALER_AUTO_UPGRADE": "false",
        "PYTHONPATH": str(REPO),
    }
    logs = (
        (workdir / f"{engine}-web.log").open("w"),
        (workdir / f"{engine}-scheduler.log").open("w"),
    )
    web = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "dialer.app:app", "--workers", "2", "--port", str(port),
         "--log-level", "warning", "--timeout-graceful-shutdown", "1"],
        env=env, stdout=logs[0], stderr=subprocess.STDOUT, cwd=REPO,
    )  # fmt: skip
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "dialer.scheduler"], env=env, stdout=logs[1],
        stderr=subprocess.STDOUT, cwd=REPO,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_http(base, seconds=30)
        until = setup.last_due.timestamp() + 5
        got = asyncio.run(_run_listeners(base, setup, until_epoch=until))
    finally:
        for proc in (web, scheduler):
            proc.send_signal(signal.SIGTERM)
        for proc in (web, scheduler):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()
    lateness, burst_lateness = [], []
    lost = duplicated = 0
    for pid, (due_at, _owner, in_burst) in setup.due.items():
        arrivals = got.arrivals.get(pid, [])
        if not arrivals:
            lost += 1
            continue
        duplicated += len(arrivals) - 1
        late = min(arrivals) - due_at.timestamp()
        lateness.append(late)
        if in_burst:
            burst_lateness.append(late)
    result = {
        "engine": engine,
        "promises": len(setup.due),
        "burst": plan.burst,
        "agents": plan.agents,
        "connected": got.connected,
        "p50_s": round(_percentile(lateness, 0.50), 3),
        "p99_s": round(_percentile(lateness, 0.99), 3),
        "max_s": round(max(lateness), 3) if lateness else None,
        "burst_p50_s": round(_percentile(burst_lateness, 0.50), 3),
        "burst_p99_s": round(_percentile(burst_lateness, 0.99), 3),
        "burst_max_s": round(max(burst_lateness), 3) if burst_lateness else None,
        "early": sum(1 for x in lateness if x < 0),
        "lost": lost,
        "duplicated": duplicated,
        "wrong_agent": got.wrong_agent,
        "errors": got.errors[:5],
    }
    result["goal_met"] = bool(
        result["p99_s"] <= 1.0 and lost == 0 and duplicated == 0 and got.wrong_agent == 0
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 + 500 over 30 s")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--promises", type=int, help="spread promises (default 10,000)")
    parser.add_argument("--seconds", type=float, help="spread period (default 600)")
    parser.add_argument("--burst", type=int, help="promises due in one instant (default 1,000)")
    parser.add_argument("--agents", type=int, default=50)
    args = parser.parse_args()
    plan = Plan(spread=10_000, seconds=600, burst=1_000, agents=args.agents, lead_in=12)
    if args.quick:
        plan = Plan(spread=2_000, seconds=30, burst=500, agents=args.agents, lead_in=8)
    plan.spread = args.promises or plan.spread
    plan.seconds = args.seconds or plan.seconds
    plan.burst = args.burst if args.burst is not None else plan.burst
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-promises-") as tmp:
        workdir = Path(tmp)
        for engine in engines:
            if engine == "sqlite":
                results.append(
                    bench_engine(engine, f"sqlite:///{workdir / 'bench.db'}", plan, workdir)
                )
            elif engine == "postgresql":
                if find_pg_bin_dir() is None:
                    print("[postgresql] skipped: no PostgreSQL server binaries")
                    continue
                cluster = PostgresCluster()
                cluster.start()
                try:
                    url = cluster.create_database("bench_promises")
                    results.append(bench_engine(engine, url, plan, workdir))
                finally:
                    cluster.stop()
            else:
                parser.error(f"unknown engine {engine!r}")
    print()
    print(
        "| engine | promises | p50 | p99 | max | burst p50 | burst p99 | burst max | lost | dup | goal p99 ≤ 1 s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['engine']} | {r['promises']:,} ({r['burst']:,} burst) | {r['p50_s']} s | {r['p99_s']} s"
            f" | {r['max_s']} s | {r['burst_p50_s']} s | {r['burst_p99_s']} s | {r['burst_max_s']} s"
            f" | {r['lost']} | {r['duplicated']} | {'met' if r['goal_met'] else 'NOT met'} |"
        )
    print(json.dumps({"benchmark": "promises", "results": results}))
    return 1 if any(r["lost"] or r["duplicated"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
