"""Queue diagnosis benchmark: `GET /api/campaigns/{id}/queue` (manager), the same
as one agent's queue sees it (`GET /api/agents/{id}/queue`, `next?explain=true`),
and the single grouped count the diagnosis was before it gave the next callable
instant (the baseline).

The data set is the claim benchmark's (scripts/bench/claim.py: one campaign of N
leads, 99% new, 1% due retries, one phone each), plus a few hundred scheduled
promises (a fifth of them another agent's) so the promise aggregates have rows.
Each figure is the median of `--repeat` runs in one read transaction, as the
request runs it.

    python scripts/bench/queue_diagnosis.py --quick      # 100k leads
    python scripts/bench/queue_diagnosis.py              # 1M leads

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlmodel import col

sys.path.insert(0, str(Path(__file__).resolve().parent))

from claim import _engine_list, _setup, on_engines

from dialer.db import UTCDateTime
from dialer.leads.models import Lead
from dialer.views.queue import agent_diagnoses, queue_diagnosis

PROMISES = 500


def _baseline(session: Any, *, campaign_id: int, now: Any) -> int:
    """The diagnosis's grouped count as it was: status, zone, due, reason."""
    due = col(Lead.next_attempt_at).is_(None) | (col(Lead.next_attempt_at) <= now)
    rows = session.execute(
        select(
            col(Lead.status),
            col(Lead.timezone),
            due.label("due"),
            col(Lead.next_attempt_reason),
            func.count(),
        )
        .where(col(Lead.campaign_id) == campaign_id)
        .group_by(col(Lead.status), col(Lead.timezone), due, col(Lead.next_attempt_reason))
    ).all()
    return len(rows)


def _add_promises(bench: Any) -> None:
    """Scheduled promise leads, due within the hour; every fifth another agent's."""
    owner, other = bench.agent_ids[0], bench.agent_ids[-1]
    with bench.db.write() as session:
        for n in range(PROMISES):
            lead_id = 1 + n * 37
            session.execute(
                text(
                    "UPDATE lead SET status = 'scheduled', next_attempt_reason = 'promise',"
                    " next_attempt_at = :due, reserved_agent_id = :owner, reserved_until = :until"
                    " WHERE id = :id"
                ).bindparams(
                    bindparam("due", type_=UTCDateTime()), bindparam("until", type_=UTCDateTime())
                ),
                {
                    "due": bench.t0 + timedelta(minutes=n % 60),
                    "until": bench.t0 + timedelta(minutes=n % 60 + 5),
                    "owner": other if n % 5 == 0 else owner,
                    "id": lead_id,
                },
            )


def _median_ms(bench: Any, run: Callable[[Any], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        with bench.db.read() as session:
            began = time.perf_counter()
            run(session)
            times.append((time.perf_counter() - began) * 1000)
    return round(statistics.median(times), 1)


def bench_engine(engine: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()
    bench = _setup(engine, url, leads=args.leads, agents=2, sqlite_path=None)
    _add_promises(bench)
    print(f"# {engine}: {args.leads:,} leads ready in {time.perf_counter() - began:.1f}s")
    now, campaign_id, agent_id = bench.t0, bench.campaign_id, bench.agent_ids[0]
    try:
        figures = {
            "baseline_ms": _median_ms(
                bench, lambda s: _baseline(s, campaign_id=campaign_id, now=now), args.repeat
            ),
            "campaign_ms": _median_ms(
                bench, lambda s: queue_diagnosis(s, campaign_id=campaign_id, now=now), args.repeat
            ),
            "agent_ms": _median_ms(
                bench, lambda s: agent_diagnoses(s, agent_id=agent_id, now=now), args.repeat
            ),
        }
    finally:
        bench.db.dispose()
    print(f"# {engine}: {figures}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k leads")
    parser.add_argument("--leads", type=int, help="leads in the campaign (default 1M)")
    parser.add_argument("--engines", type=_engine_list, default=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    if args.leads is None:
        args.leads = 100_000 if args.quick else 1_000_000
    results: dict[str, Any] = {"leads": args.leads}

    def run(engine: str, url: str) -> dict[str, Any]:
        return bench_engine(engine, url, args)

    results |= on_engines(args.engines, prefix="bench-queue-", run=run)
    print(json.dumps(results, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
