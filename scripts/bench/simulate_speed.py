"""`dialer simulate` speed: wall time, CPU time and SQL statements per call
placed, for the issue-16 floor (20 agents, 25% answer rate, talk 180,90 s,
ring 10,5 s, wrap-up 20 s, seed 16).

    python scripts/bench/simulate_speed.py --pacer predictive --minutes 60
    python scripts/bench/simulate_speed.py --pacer progressive          # the 8-hour day

The CPU time (of this process) says more than the wall time on a shared
machine. Two statement counts: those made through SQLAlchemy (`statements`,
the figure of the first steps) and every statement SQLite runs
(`sqlite_statements`: hand-written SQL on the DBAPI connection included, and
BEGIN/COMMIT/SAVEPOINT), which a step moving ORM reads to hand-written SQL
cannot hide from. The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from dialer.simulation import SimConfig, run_simulation  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pacer", choices=("progressive", "predictive"), default="predictive")
    parser.add_argument("--minutes", type=int, default=None)
    parser.add_argument("--agents", type=int, default=20)
    args = parser.parse_args()
    statements = 0
    executed = 0

    # Every engine's every statement made through SQLAlchemy (the simulation
    # makes its own engine)...
    def count(*_a: Any, **_k: Any) -> None:
        nonlocal statements
        statements += 1

    # ...and every statement SQLite itself runs: the hand-written ones
    # (dialer.sql, on the DBAPI connection) pass no SQLAlchemy event, and
    # BEGIN, COMMIT and savepoints are counted too.
    def executes(_text: str) -> None:
        nonlocal executed
        executed += 1

    def traced(dbapi_connection: Any, _record: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.set_trace_callback(executes)

    event.listen(Engine, "before_cursor_execute", count)
    event.listen(Engine, "connect", traced)
    config = SimConfig(
        agents=args.agents,
        pacer=args.pacer,
        wrapup=20,
        talk=(180.0, 90.0),
        ring=(10.0, 5.0),
        answer_rate=0.25,
        seed=16,
        minutes=args.minutes,
    )
    began, cpu = time.perf_counter(), time.process_time()
    result = run_simulation(config)
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    figures = {
        "pacer": args.pacer,
        "minutes": args.minutes,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "calls_placed": result.calls_placed,
        "statements": statements,
        "statements_per_call": round(statements / max(1, result.calls_placed), 1),
        "sqlite_statements": executed,
        "sqlite_statements_per_call": round(executed / max(1, result.calls_placed), 1),
        "occupancy": result.occupancy,
        "abandon_rate": result.abandon_rate,
        "contacts": result.contacts,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
