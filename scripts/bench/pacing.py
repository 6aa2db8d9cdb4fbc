"""Pacing benchmark: calls created per second against a slow, throttling Twilio.

The adapter's create path (`TwilioTelephony.send_create`: pacing slot from the
database, SDK create, tenacity retry of 429s honouring Retry-After) runs in many
threads at once against the local Twilio-compatible test server
(`tests/telephony/fake_twilio.py`), which answers after 75–450 ms and throws a
429 (Retry-After 0.5 s) at every 25th create. Every create the server receives
is timestamped on arrival; a 429'ed request counts too (it is a request in that
second). At 1, 10 and 50 CPS it prints the achieved rate over the target and
the most creates seen in any one-second window, which must never exceed the CPS.
The server runs in a process of its own, as Twilio would be.

    python scripts/bench/pacing.py --quick      # 10 s per rate, SQLite (< 1 minute)
    python scripts/bench/pacing.py              # 30 s per rate, SQLite and PostgreSQL

Goal: achieved / target ≥ 0.99 and max per 1-s window ≤ CPS. The last line is
one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "telephony"))

from fake_twilio import FakeTwilio  # noqa: E402

from dialer.campaign.models import Campaign  # noqa: E402
from dialer.db import Database  # noqa: E402
from dialer.migrations import upgrade  # noqa: E402
from dialer.telephony.models import DialPacing  # noqa: E402
from dialer.telephony.twilio import TwilioApi, TwilioTelephony  # noqa: E402
from dialer.testing.postgres import PostgresCluster, find_pg_bin_dir  # noqa: E402

ACCOUNT = "AC" + "7" * 32
TOKEN = "pacing-bench-token"


def _max_in_window(times: list[float]) -> int:
    best, j = 0, 0
    for i in range(len(times)):
        while times[i] - times[j] >= 1.0:
            j += 1
        best = max(best, i - j + 1)
    return best


def _serve_fake(conn: Connection, cpus: set[int] | None) -> None:
    """The test server in a process of its own, as Twilio is: its threads must not
    take the senders' GIL, or its own scheduling shows up as pacing jitter. With
    `cpus`, on a core of its own too (Twilio is another machine): on two shared
    cores its threads were at times stamping an arrival 25 ms after the request
    had reached its socket, which is the server's delay, not the dialer's."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    with FakeTwilio(account_sid=ACCOUNT, auth_token=TOKEN) as fake:
        fake.latency = (0.075, 0.450)
        conn.send(fake.base_url)
        while True:
            command, argument = conn.recv()
            if command == "stop":
                return
            if command == "clear":
                fake.creates.clear()
                conn.send(None)
            elif command == "fail_next":
                fake.fail_next(**argument)
            elif command == "creates":
                conn.send([(a.at, a.status_code or 0) for a in fake.creates])


class RemoteFake:
    def __init__(self, *, cpus: set[int] | None) -> None:
        self.conn, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("spawn").Process(
            target=_serve_fake, args=(child, cpus), daemon=True
        )
        self.process.start()
        self.base_url: str = self.conn.recv()
        self.lock = threading.Lock()

    def call(self, command: str, argument: Any = None, *, reply: bool = True) -> Any:
        with self.lock:
            self.conn.send((command, argument))
            return self.conn.recv() if reply else None

    def close(self) -> None:
        self.call("stop", reply=False)
        self.process.join(timeout=10)


def run_rate(db: Database, fake: RemoteFake, *, cps: int, seconds: float) -> dict[str, Any]:
    with db.write() as session:
        session.query(DialPacing).delete()
    telephony = TwilioTelephony(
        api=TwilioApi(account_sid=ACCOUNT, auth_token=TOKEN, api_base=fake.base_url, timeout=5),
        public_url="https://dialer.example.com",
        ring_timeout=25,
        account_cps=float(cps),
    )
    campaign = Campaign(
        id=1, name="pacing", cps=cps, caller_id="+81312345678", created_at=datetime.now(UTC),
        updated_at=datetime.now(UTC),
    )  # fmt: skip
    fake.call("clear")
    stop_at = time.monotonic() + seconds
    # Enough senders to keep `cps` creates in flight at 450 ms, plus 429 back-offs.
    threads = max(4, int(cps * 1.2) + 4)
    counter = iter(range(10**9))
    lock = threading.Lock()
    outcomes = {"ok": 0, "failed": 0}

    def sender() -> None:
        while time.monotonic() < stop_at:
            with lock:
                n = next(counter)
            params = {
                "to": f"+8190{n:08d}",
                "from_": "+81312345678",
                "url": "https://dialer.example.com/webhooks/twilio/voice?call=1",
                "status_callback": "https://dialer.example.com/webhooks/twilio/status?call=1",
                "status_callback_event": ["initiated", "ringing", "answered", "completed"],
                "timeout": 25,
            }
            if n and n % 25 == 0:
                fake.call("fail_next", {"status": 429, "retry_after": 0.5}, reply=False)
            try:
                telephony.send_create(db, params=params, campaign=campaign)
                key = "ok"
            except Exception:
                key = "failed"
            with lock:
                outcomes[key] += 1

    workers = [threading.Thread(target=sender) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    creates = fake.call("creates")
    times = sorted(at for at, _status in creates)
    # Steady state: from the first create to the deadline (senders stop sending then).
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    achieved = (len(times) - 1) / span if len(times) > 1 else 0.0
    statuses: dict[int, int] = {}
    for _at, status in creates:
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "cps": cps,
        "seconds": seconds,
        "threads": threads,
        "requests": len(times),
        "by_status": statuses,
        "achieved_cps": round(achieved, 3),
        "ratio": round(achieved / cps, 4),
        "max_per_1s_window": _max_in_window(times),
        "goal_met": achieved / cps >= 0.99 and _max_in_window(times) <= cps,
        **outcomes,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--engines")
    parser.add_argument("--rates", default="1,10,50")
    parser.add_argument(
        "--shared-cores",
        action="store_true",
        help="let the test server share every core with the dialer (default: one of its own)",
    )
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    server_cpus: set[int] | None = None
    if len(cpus) >= 2 and not args.shared_cores:
        # The dialer (and a PostgreSQL started below) on the other cores.
        server_cpus = {cpus[-1]}
        os.sched_setaffinity(0, set(cpus[:-1]))
    print(f"test server on cpus {sorted(server_cpus) if server_cpus else cpus}, dialer on "
          f"{sorted(os.sched_getaffinity(0))}")  # fmt: skip
    seconds = args.seconds or (10.0 if args.quick else 30.0)
    engines = (args.engines or ("sqlite" if args.quick else "sqlite,postgresql")).split(",")
    rates = [int(r) for r in args.rates.split(",")]
    results = []
    fake = RemoteFake(cpus=server_cpus)
    with tempfile.TemporaryDirectory(prefix="bench-pacing-") as tmp:
        for engine in engines:
            cluster = None
            if engine == "sqlite":
                url = f"sqlite:///{Path(tmp) / 'pacing.db'}"
            elif find_pg_bin_dir() is not None:
                cluster = PostgresCluster()
                cluster.start()
                url = cluster.create_database("bench_pacing")
            else:
                print("[postgresql] skipped: no server binaries")
                continue
            try:
                upgrade(url)
                db = Database(url, pool_size=80)
                for cps in rates:
                    result = {"engine": engine, **run_rate(db, fake, cps=cps, seconds=seconds)}
                    print(result, flush=True)
                    results.append(result)
                db.dispose()
            finally:
                if cluster is not None:
                    cluster.stop()
    fake.close()
    print()
    print("| engine | CPS | requests | achieved | achieved / target | max in any 1 s | goal |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['engine']} | {r['cps']} | {r['requests']} ({r['by_status']}) | "
              f"{r['achieved_cps']} | {r['ratio']} | {r['max_per_1s_window']} | "
              f"{'met' if r['goal_met'] else 'NOT met'} |")  # fmt: skip
    print(json.dumps({"benchmark": "pacing", "server_cpus": sorted(server_cpus or []),
                      "results": results}))  # fmt: skip
    return 0 if all(r["max_per_1s_window"] <= r["cps"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
