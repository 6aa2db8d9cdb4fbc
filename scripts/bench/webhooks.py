"""Twilio status-callback benchmark: signed callbacks against the real app.

`uvicorn dialer.app:app --workers 2` on SQLite and on a throw-away PostgreSQL.
64 keep-alive connections send Twilio-shaped, correctly signed status callbacks
(`X-Twilio-Signature` over DIALER_PUBLIC_URL + path + query and every form
field) for 30 s. Each connection walks its own calls through ringing →
in-progress → completed, in order, so every request changes a call and stores
one `call_status` event: rows stored must equal requests answered 204.

Baseline, measured in the same run: the same uvicorn (2 workers, same flags)
serving a no-op endpoint that reads the form and answers 204. Goal: ≥ 0.3× its
requests per second.

    python scripts/bench/webhooks.py --quick     # 10 s per measurement
    python scripts/bench/webhooks.py             # 30 s per measurement

The last line printed is one JSON object with every figure.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import func, insert, select

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from twilio.request_validator import RequestValidator  # noqa: E402

from dialer.agents.service import create_agent  # noqa: E402
from dialer.calls.models import Call  # noqa: E402
from dialer.campaign.schemas import CampaignCreate  # noqa: E402
from dialer.campaign.service import create_campaign  # noqa: E402
from dialer.db import Database  # noqa: E402
from dialer.leads.models import Event, Lead, LeadStatus  # noqa: E402
from dialer.migrations import upgrade  # noqa: E402
from dialer.testing.postgres import PostgresCluster, find_pg_bin_dir  # noqa: E402

TOKEN = "bench-auth-token"
ACCOUNT = "AC" + "b" * 32
CONNECTIONS = 64
STEPS = ("ringing", "in-progress", "completed")

# The baseline is the dialer's own application (same FastAPI stack, middleware and
# error handlers) with one extra route that reads the form and answers 204: the
# ratio is then the cost of what the status webhook does, not of the framework.
NOOP_APP = """
from fastapi import Request
from fastapi.responses import Response

from dialer.app import create_app

app = create_app()


@app.post("/bench/noop", status_code=204)
async def noop(request: Request) -> Response:
    await request.body()
    return Response(status_code=204)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _populate(db: Database, *, calls: int) -> list[tuple[int, str, str]]:
    now = datetime.now(UTC)
    with db.write() as session:
        campaign = create_campaign(session, data=CampaignCreate(name="Webhook bench"), now=now)
        agent, _token = create_agent(
            session,
            name="Bench",
            campaign_ids=[campaign.id],
            endpoint="client:bench",
            now=now,  # type: ignore[list-item]
        )
        lead_ids = list(
            session.scalars(
                insert(Lead).returning(Lead.id, sort_by_parameter_order=True),
                [
                    {
                        "campaign_id": campaign.id,
                        "status": LeadStatus.claimed,
                        "timezone": "Asia/Tokyo",
                        "failure_counts": {},
                        "extra": {},
                        "raw": {},
                        "created_at": now,
                        "updated_at": now,
                    }
                    for _ in range(calls)
                ],  # fmt: skip
            )
        )
        rows = [
            {"lead_id": lead_id, "campaign_id": campaign.id, "agent_id": agent.id,
             "to": f"+8190{i:08d}", "from_": "+81312345678", "status": "queued",
             "provider": "twilio", "provider_sid": f"CA{i:032x}", "created_at": now,
             "for_promise": False}
            for i, lead_id in enumerate(lead_ids)
        ]  # fmt: skip
        call_ids = list(
            session.scalars(insert(Call).returning(Call.id, sort_by_parameter_order=True), rows)
        )
    return [(cid, row["provider_sid"], row["to"]) for cid, row in zip(call_ids, rows, strict=True)]


def _requests(
    calls: list[tuple[int, str, str]], public: str, *, noop: bool = False
) -> list[list[bytes]]:
    """Per connection, its requests in order, signed up front: the client's CPU
    should go to sending, not to HMAC."""
    validator = RequestValidator(TOKEN)
    per_connection: list[list[bytes]] = [[] for _ in range(CONNECTIONS)]
    for n, (call_id, sid, to) in enumerate(calls):
        path = "/bench/noop" if noop else f"/webhooks/twilio/status?call={call_id}"
        for seq, status in enumerate(STEPS, start=1):
            params = {
                "AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", "CallSid": sid,
                "CallStatus": status, "Called": to, "Caller": "+81312345678",
                "Direction": "outbound-api", "From": "+81312345678", "To": to,
                "SequenceNumber": str(seq), "CallbackSource": "call-progress-events",
                "Timestamp": "Tue, 01 Dec 2026 01:00:00 +0000", "CallerName": "",
            }  # fmt: skip
            if status == "in-progress":
                params["AnsweredBy"] = "human"
            if status == "completed":
                params["CallDuration"] = "30"
            body = urlencode(params).encode()
            signature = validator.compute_signature(public + path, params)
            head = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            per_connection[n % CONNECTIONS].append(head + body)
    return per_connection


@dataclass
class Load:
    sent: int = 0
    ok: int = 0
    errors: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)


async def _connection(port: int, requests: list[bytes], deadline: float, load: Load) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for request in requests:
            if time.monotonic() >= deadline:
                return
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
            if not status_line:
                # The server closed an idle keep-alive connection: reconnect, resend.
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(request)
                await writer.drain()
                status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            load.latencies.append(time.perf_counter() - started)
            load.sent += 1
            status = int(status_line.split()[1])
            if status == 204:
                load.ok += 1
            else:
                load.errors[status] = load.errors.get(status, 0) + 1
    finally:
        writer.close()


def _drive(port: int, per_connection: list[list[bytes]], seconds: float) -> tuple[Load, float]:
    load = Load()

    async def run() -> float:
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(
            *(_connection(port, requests, deadline, load) for requests in per_connection)
        )
        return time.monotonic() - started

    elapsed = asyncio.run(run())
    return load, elapsed


def _serve(
    app: str, port: int, env: dict[str, str], cwd: Path, log: Path
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--workers", "2", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        env=env, cwd=cwd, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{app} did not start; see {log}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else float("nan")


def bench_engine(engine: str, url: str, seconds: float, workdir: Path) -> dict[str, Any]:
    upgrade(url)
    db = Database(url)
    # Enough calls that no connection runs out: 3 requests each, ~3k req/s at most.
    calls = _populate(db, calls=max(20_000, int(seconds * 1500)))
    port = _free_port()
    public = f"http://127.0.0.1:{port}"
    per_connection = _requests(calls, public)
    env = {**os.environ, "DATABASE_URL": url, "TWILIO_AUTH_TOKEN": TOKEN,
           "DIALER_PUBLIC_URL": public, "DIALER_AUTO_UPGRADE": "false",
           "PYTHONPATH": str(REPO)}  # fmt: skip
    with db.read() as session:
        before = session.scalar(select(func.count()).select_from(Event)) or 0
    proc = _serve("dialer.app:app", port, env, REPO, workdir / f"{engine}-web.log")
    try:
        load, elapsed = _drive(port, per_connection, seconds)
    finally:
        _stop(proc)
    with db.read() as session:
        stored = (session.scalar(select(func.count()).select_from(Event)) or 0) - before
    db.dispose()
    return {
        "engine": engine,
        "requests": load.sent,
        "ok": load.ok,
        "errors": load.errors,
        "req_per_s": round(load.sent / elapsed, 1),
        "p99_ms": round(_p99(load.latencies) * 1000, 1),
        "rows_stored": stored,
        "rows_match": stored == load.ok,
    }


def bench_noop(seconds: float, workdir: Path) -> dict[str, Any]:
    (workdir / "noop_app.py").write_text(NOOP_APP)
    port = _free_port()
    # The no-op needs no signatures to be right, but gets the same bytes.
    calls = [(i, f"CA{i:032x}", f"+8190{i:08d}") for i in range(max(20_000, int(seconds * 3000)))]
    per_connection = _requests(calls, f"http://127.0.0.1:{port}", noop=True)
    url = f"sqlite:///{workdir / 'noop.db'}"
    # Migrated before the two workers start: both upgrading one new file at once
    # fail one of them ("database is locked") and the no-op loses a worker.
    upgrade(url)
    env = {**os.environ, "PYTHONPATH": f"{workdir}:{REPO}", "DATABASE_URL": url,
           "DIALER_AUTO_UPGRADE": "false"}  # fmt: skip
    proc = _serve("noop_app:app", port, env, workdir, workdir / "noop.log")
    try:
        load, elapsed = _drive(port, per_connection, seconds)
    finally:
        _stop(proc)
    return {"req_per_s": round(load.sent / elapsed, 1), "p99_ms": round(_p99(load.latencies) * 1000, 1),
            "requests": load.sent}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 s per measurement")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    seconds = args.seconds or (10.0 if args.quick else 30.0)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp:
        workdir = Path(tmp)
        noop = bench_noop(seconds, workdir)
        print(f"[no-op] {noop['req_per_s']} req/s, p99 {noop['p99_ms']} ms", flush=True)
        for engine in engines:
            if engine == "sqlite":
                result = bench_engine(engine, f"sqlite:///{workdir / 'hooks.db'}", seconds, workdir)
            elif find_pg_bin_dir() is None:
                print("[postgresql] skipped: no PostgreSQL server binaries")
                continue
            else:
                cluster = PostgresCluster()
                cluster.start()
                try:
                    url = cluster.create_database("bench_webhooks")
                    result = bench_engine(engine, url, seconds, workdir)
                finally:
                    cluster.stop()
            result["ratio_to_noop"] = round(result["req_per_s"] / noop["req_per_s"], 3)
            result["goal_met"] = result["ratio_to_noop"] >= 0.3 and result["rows_match"]
            print(f"[{engine}] {result}", flush=True)
            results.append(result)
    print()
    print("| engine | req/s | p99 | rows stored = 204s | no-op req/s | ratio | goal ≥ 0.3× |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['engine']} | {r['req_per_s']} | {r['p99_ms']} ms | {r['rows_match']} "
              f"({r['rows_stored']}/{r['ok']}) | {noop['req_per_s']} | {r['ratio_to_noop']} | "
              f"{'met' if r['goal_met'] else 'NOT met'} |")  # fmt: skip
    print(
        json.dumps({"benchmark": "webhooks", "seconds": seconds, "noop": noop, "results": results})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
