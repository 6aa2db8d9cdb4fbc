"""CPU per Twilio status callback, in one process: the real route, signature
check, group-commit batcher and fast path, driven one request at a time by a
TestClient on SQLite. Steadier than the HTTP benchmark's throughput on a shared
machine, so before/after comparisons of the webhook path use it too.

    python scripts/bench/webhooks_cpu.py              # 3,700 timed callbacks
    python scripts/bench/webhooks_cpu.py --requests 1000
"""

from __future__ import annotations

import argparse
import runpy
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from dialer.app import create_app
from dialer.db import Database
from dialer.migrations import upgrade
from dialer.settings import Settings

HERE = Path(__file__).resolve().parent
WARM_UP = 300


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3700)
    args = parser.parse_args()
    # The HTTP benchmark's own data and signed requests, so both measure the same.
    bench = runpy.run_path(str(HERE / "webhooks.py"), run_name="webhooks_bench")
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-cpu-") as tmp:
        url = f"sqlite:///{tmp}/w.db"
        upgrade(url)
        db = Database(url)
        calls = bench["_populate"](db, calls=(WARM_UP + args.requests) // 3 + 1)
        db.dispose()
        public = "http://testserver"
        requests = [r for conn in bench["_requests"](calls, public) for r in conn]
        settings = Settings(
            DATABASE_URL=url, TWILIO_AUTH_TOKEN=bench["TOKEN"], DIALER_PUBLIC_URL=public,
            DIALER_AUTO_UPGRADE=False, DIALER_TELEPHONY="simulated",
        )  # fmt: skip
        with TestClient(create_app(settings)) as client:

            def send(raw: bytes) -> None:
                head, body = raw.split(b"\r\n\r\n", 1)
                lines = head.decode().split("\r\n")
                headers = dict(line.split(": ", 1) for line in lines[1:])
                r = client.post(lines[0].split(" ")[1], content=body, headers=headers)
                assert r.status_code == 204, r.text

            for raw in requests[:WARM_UP]:
                send(raw)
            timed = requests[WARM_UP : WARM_UP + args.requests]
            cpu, wall = time.process_time(), time.perf_counter()
            for raw in timed:
                send(raw)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{len(timed)} callbacks: CPU {1e6 * cpu / len(timed):.0f} µs each,"
          f" wall {1e6 * wall / len(timed):.0f} µs each")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
