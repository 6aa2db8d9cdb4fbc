"""Session cookie benchmark: what a request authenticated by the browser's
session cookie costs against the same request with a bearer token, and what a
sign-in (Argon2id verify) costs.

The data set: `--accounts` agents, each with a bearer token, a password and one
open browser session (so both lookups search an index of that many digests).
Each figure is the median (and p99) of `--requests` requests through the app
(FastAPI's TestClient, in process): `GET /api/agents/{id}` (a read) and
`PUT /api/agents/{id}/state` (a write; the cookie request carries
`X-CSRF-Token`). The clock is simulated and stands still, so the cookie's
`last_seen_at` write (at most once a minute per session) does not happen in
the measured requests: in production it adds one short write a minute per
session.

    python scripts/bench/sessions.py --quick      # 1,000 accounts, 300 requests
    python scripts/bench/sessions.py              # 10,000 accounts, 1,000 requests

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from claim import _engine_list, run_engines
from fastapi.testclient import TestClient

from dialer.agents import passwords, sessions
from dialer.agents.models import Agent, WebSession
from dialer.agents.service import create_agent
from dialer.agents.signin import normalize_name
from dialer.app import create_app
from dialer.auth import authenticate, hash_token
from dialer.campaign.schemas import CampaignCreate
from dialer.campaign.service import create_campaign
from dialer.runtime import Runtime
from dialer.settings import Settings

MANAGER = "bench-manager-token"
PASSWORD = "bench password 1"


def _settings(url: str) -> Settings:
    return Settings(
        DATABASE_URL=url,
        DIALER_CLOCK="simulated",
        DIALER_CLOCK_START="2026-12-01T10:00:00+09:00",
        DIALER_TELEPHONY="simulated",
        DIALER_BOOTSTRAP_TOKEN=MANAGER,
        DIALER_AUTO_UPGRADE=True,
    )


def _seed(settings: Settings, accounts: int) -> list[tuple[int, str, str, str]]:
    """(agent id, bearer token, session cookie, csrf token) per account."""
    runtime = Runtime(settings)
    runtime.start()
    # One Argon2 hash for everyone: the data set is about index sizes, not hashing.
    shared_hash = passwords.hash_password(PASSWORD)
    out = []
    lifetime = sessions.Lifetime(absolute=timedelta(hours=12), idle=timedelta(hours=12))
    try:
        with runtime.write() as (session, now):
            campaign = create_campaign(session, data=CampaignCreate(name="Bench"), now=now)
            assert campaign.id is not None
            for n in range(accounts):
                agent, token = create_agent(
                    session, name=f"Agent {n}", campaign_ids=[campaign.id], endpoint=None, now=now
                )
                agent.password_hash = shared_hash
                agent.sign_in_name = normalize_name(agent.name)
                opened = sessions.open_session(session, agent=agent, now=now, lifetime=lifetime)
                assert agent.id is not None
                out.append((agent.id, token, opened.token, opened.row.csrf_token))
        with runtime.db.read() as session:
            assert session.query(WebSession).count() == accounts
            assert session.query(Agent).count() >= accounts
            assert hash_token(out[0][2]) != hash_token(out[0][1])
    finally:
        runtime.close()
    return out


def _figures(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "p50_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 3),
    }


def _timed(call: Any, n: int) -> dict[str, float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        r = call()
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code in (200, 204), r.text
    return _figures(times)


def _paired(first: Any, second: Any, n: int) -> tuple[dict[str, float], dict[str, float]]:
    """The two calls in turn, so the shared machine's load falls on both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(n):
        for call, into in ((first, times[0]), (second, times[1])):
            started = time.perf_counter()
            r = call()
            into.append((time.perf_counter() - started) * 1000)
            assert r.status_code in (200, 204), r.text
    return _figures(times[0]), _figures(times[1])


def _lookups(settings: Settings, *, token: str, cookie: str, n: int) -> dict[str, float]:
    """The credential lookups alone, each in its own read transaction (as a
    request's check runs it), in turn: microseconds, medians."""
    runtime = Runtime(settings)
    runtime.start()
    lifetime = sessions.Lifetime(absolute=timedelta(hours=12), idle=timedelta(hours=12))
    bearer: list[float] = []
    browser: list[float] = []
    try:
        for _ in range(n):
            started = time.perf_counter()
            with runtime.db.read() as session:
                runtime.now_in(session)
                authenticate(session, authorization=f"Bearer {token}")
            bearer.append(time.perf_counter() - started)
            started = time.perf_counter()
            with runtime.db.read() as session:
                now = runtime.now_in(session)
                sessions.find(session, token=cookie, now=now, lifetime=lifetime)
            browser.append(time.perf_counter() - started)
    finally:
        runtime.close()
    return {
        "lookup_bearer_us": round(statistics.median(bearer) * 1e6, 1),
        "lookup_cookie_us": round(statistics.median(browser) * 1e6, 1),
    }


def bench_engine(
    engine: str, url: str, args: argparse.Namespace, _sqlite_path: Path | None
) -> dict[str, Any]:
    settings = _settings(url)
    people = _seed(settings, args.accounts)
    agent_id, token, cookie, csrf = people[len(people) // 2]
    bearer = {"Authorization": f"Bearer {token}"}
    browser = {"Cookie": f"{sessions.COOKIE}={cookie}"}
    with TestClient(create_app(settings)) as client:
        path = f"/api/agents/{agent_id}"
        state = f"{path}/state"
        # Warm both paths (imports, statement caches, the connection pool).
        for _ in range(20):
            client.get(path, headers=bearer)
            client.get(path, headers=browser)
            client.cookies.clear()
        figures: dict[str, Any] = {}
        figures["read_bearer"], figures["read_cookie"] = _paired(
            lambda: client.get(path, headers=bearer),
            lambda: client.get(path, headers=browser),
            args.requests,
        )
        figures["write_bearer"], figures["write_cookie"] = _paired(
            lambda: client.put(state, headers=bearer, json={"state": "available"}),
            lambda: client.put(
                state, headers={**browser, "X-CSRF-Token": csrf}, json={"state": "available"}
            ),
            args.requests,
        )
        name = f"Agent {len(people) // 2}"

        def sign_in() -> Any:
            r = client.post("/api/session", json={"name": name, "password": PASSWORD})
            client.cookies.clear()
            return r

        figures["sign_in"] = _timed(sign_in, args.sign_ins)
    figures.update(_lookups(settings, token=token, cookie=cookie, n=args.requests * 2))
    figures["cookie_over_bearer_read"] = round(
        figures["read_cookie"]["p50_ms"] / figures["read_bearer"]["p50_ms"], 2
    )
    figures["cookie_over_bearer_write"] = round(
        figures["write_cookie"]["p50_ms"] / figures["write_bearer"]["p50_ms"], 2
    )
    print(f"# {engine}: {json.dumps(figures)}", flush=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 accounts, 300 requests")
    parser.add_argument("--engines", type=_engine_list, default=["sqlite", "postgresql"])
    parser.add_argument("--accounts", type=int)
    parser.add_argument("--requests", type=int)
    parser.add_argument("--sign-ins", type=int, default=10)
    args = parser.parse_args(argv)
    if args.accounts is None:
        args.accounts = 1_000 if args.quick else 10_000
    if args.requests is None:
        args.requests = 300 if args.quick else 1_000
    results = run_engines(bench_engine, args, prefix="bench-sessions-")
    print(f"{'engine':<11} {'read bearer':>12} {'read cookie':>12} {'write bearer':>13} "
          f"{'write cookie':>13} {'sign-in':>9}  (p50 ms)  lookups (µs)")  # fmt: skip
    for engine, f in results.items():
        if "skipped" in f:
            print(f"{engine:<11} skipped: {f['skipped']}")
            continue
        print(
            f"{engine:<11} {f['read_bearer']['p50_ms']:>12} {f['read_cookie']['p50_ms']:>12} "
            f"{f['write_bearer']['p50_ms']:>13} {f['write_cookie']['p50_ms']:>13} "
            f"{f['sign_in']['p50_ms']:>9}   {f['lookup_bearer_us']} / {f['lookup_cookie_us']}"
        )
    print(json.dumps({"accounts": args.accounts, "requests": args.requests, **results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
