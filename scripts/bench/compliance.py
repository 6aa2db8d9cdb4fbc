"""Abandon standing and compliance report benchmark (issue 16).

The data set is the claim benchmark's campaign (scripts/bench/claim.py: N leads,
one phone each, calling hours round the clock) with `--calls` calls spread over
the 30 days before now, each with the history a dial leaves: `call_placed`, a
`call_status` with who answered, and a `disposition` (a person answers a
quarter of them; 2% of those are abandoned, `call_abandoned`). A few hundred of
the numbers are on the do-not-call list, with their audit.

Measured, the median of `--repeat` runs in one read transaction as a request
runs it, wall and CPU time (this process's) in ms:

- `abandon_standing` (what the pacer reads every tick and the floor every
  0.5 s): the campaign's 30-day window, every call of the data set; with the
  indexes as they are, and with the partial index `ix_call_campaign_answered`
  (created here if the schema lacks it) to show what it buys;
- the compliance report (`dialer.reports.compliance.compliance_report`) over
  the last local day and over the last 30 days (each reads the 30-day abandon
  window before its period too).

    python scripts/bench/compliance.py --quick      # 20k leads, 50k calls
    python scripts/bench/compliance.py              # 100k leads, 300k calls

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, inspect, select, text
from sqlmodel import col

sys.path.insert(0, str(Path(__file__).resolve().parent))

from claim import _engine_list, _setup, on_engines

from dialer.calls.abandon import abandon_standing
from dialer.calls.models import ANSWERED_PREDICATE, Call
from dialer.campaign.models import Campaign
from dialer.dnc.models import DncEntry, DncEvent
from dialer.leads.models import Event, Phone
from dialer.reports.compliance import CompliancePeriod, compliance_report

BATCH = 5000
DNC_NUMBERS = 300


def _add_calls(bench: Any, *, calls: int, seed: int) -> None:
    rng = random.Random(seed)
    with bench.db.read() as session:
        phones = list(
            session.execute(
                select(col(Phone.lead_id), col(Phone.number)).where(
                    col(Phone.campaign_id) == bench.campaign_id
                )
            )
        )
    start = bench.t0 - timedelta(days=30)
    span = (bench.t0 - start).total_seconds()
    call_rows: list[dict[str, Any]] = []
    for n in range(calls):
        lead_id, number = phones[rng.randrange(len(phones))]
        at = start + timedelta(seconds=span * n / calls)
        person = rng.random() < 0.25
        abandoned = person and rng.random() < 0.02
        call_rows.append(
            {
                "lead_id": lead_id,
                "campaign_id": bench.campaign_id,
                "agent_id": bench.agent_ids[0],
                "to": number,
                "status": "completed" if person else "no-answer",
                "answered_by": "human" if person else None,
                "provider": "simulated",
                "created_at": at,
                "answered_at": at + timedelta(seconds=8) if person else None,
                "disposition": "abandoned"
                if abandoned
                else ("not_interested" if person else "no_answer"),
            }
        )
    with bench.db.write() as session:
        first = (session.scalar(select(col(Call.id)).order_by(col(Call.id).desc())) or 0) + 1
        for i in range(0, len(call_rows), BATCH):
            session.execute(insert(Call), call_rows[i : i + BATCH])
        events: list[dict[str, Any]] = []
        for offset, row in enumerate(call_rows):
            call_id, at, lead = first + offset, row["created_at"], row["lead_id"]
            events.append(
                {"lead_id": lead, "at": at, "kind": "call_placed", "actor": "agent:1",
                 "detail": {"call_id": call_id, "to": row["to"], "attempt": 1, "reserved": True}}
            )  # fmt: skip
            events.append(
                {"lead_id": lead, "at": at + timedelta(seconds=8), "kind": "call_status",
                 "actor": "provider:simulated",
                 "detail": {"call_id": call_id, "status": row["status"],
                            "answered_by": row["answered_by"]}}
            )  # fmt: skip
            if row["disposition"] == "abandoned":
                events.append(
                    {"lead_id": lead, "at": at + timedelta(seconds=10), "kind": "call_abandoned",
                     "actor": "system", "detail": {"call_id": call_id, "why": "bench"}}
                )  # fmt: skip
            else:
                events.append(
                    {"lead_id": lead, "at": at + timedelta(seconds=60), "kind": "disposition",
                     "actor": "agent:1",
                     "detail": {"call_id": call_id, "outcome": row["disposition"]}}
                )  # fmt: skip
            if len(events) >= BATCH:
                session.execute(insert(Event), events)
                events = []
        if events:
            session.execute(insert(Event), events)
        for lead_id, number in phones[:DNC_NUMBERS]:
            del lead_id
            session.add(DncEntry(phone=number, reason="bench", source="bench", created_at=start))
            session.add(DncEvent(phone=number, at=start, actor="bench", kind="added"))


def _median_ms(bench: Any, run: Callable[[Any], Any], repeat: int) -> dict[str, float]:
    """Wall and this process's CPU time (the service's side; on a shared machine
    the wall time follows the load, the CPU time much less)."""
    wall, cpu = [], []
    for _ in range(repeat):
        with bench.db.read() as session:
            began, began_cpu = time.perf_counter(), time.process_time()
            run(session)
            wall.append((time.perf_counter() - began) * 1000)
            cpu.append((time.process_time() - began_cpu) * 1000)
    return {"wall": round(statistics.median(wall), 1), "cpu": round(statistics.median(cpu), 1)}


def _has_partial_index(bench: Any) -> bool:
    with bench.db.read() as session:
        names = {i["name"] for i in inspect(session.connection()).get_indexes("call")}
    return "ix_call_campaign_answered" in names


def bench_engine(engine: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()
    bench = _setup(engine, url, leads=args.leads, agents=1, sqlite_path=None)
    _add_calls(bench, calls=args.calls, seed=1)
    with bench.db.write() as session:
        session.execute(text("ANALYZE"))
    print(
        f"# {engine}: {args.leads:,} leads, {args.calls:,} calls"
        f" in {time.perf_counter() - began:.1f}s"
    )
    now = bench.t0
    figures: dict[str, Any] = {}

    def standing(session: Any) -> Any:
        campaign = session.get(Campaign, bench.campaign_id)
        return abandon_standing(session, campaign=campaign, now=now)

    def report(days: int) -> Callable[[Any], Any]:
        period = CompliancePeriod(since=now - timedelta(days=days), until=now)
        return lambda s: compliance_report(s, campaign_id=bench.campaign_id, period=period)

    try:
        with bench.db.read() as session:
            found = standing(session)
        figures["standing"] = {"answered": found.answered, "abandoned": found.abandoned}
        had_index = _has_partial_index(bench)
        figures["standing_ms"] = _median_ms(bench, standing, args.repeat)
        if not had_index:
            with bench.db.write() as session:
                session.execute(
                    text(
                        "CREATE INDEX ix_call_campaign_answered ON call "
                        f"(campaign_id, created_at, disposition) WHERE {ANSWERED_PREDICATE}"
                    )
                )
                session.execute(text("ANALYZE"))
            figures["standing_with_partial_index_ms"] = _median_ms(bench, standing, args.repeat)
        figures["compliance_1_day_ms"] = _median_ms(bench, report(1), args.repeat)
        figures["compliance_30_days_ms"] = _median_ms(bench, report(30), max(1, args.repeat // 3))
        with bench.db.read() as session:
            out = report(30)(session)
        figures["compliance_30_days"] = {
            "dials": out.dials,
            "checks": {c.check: c.count for c in out.checks},
        }
    finally:
        bench.db.dispose()
    print(f"# {engine}: {figures}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20k leads, 50k calls")
    parser.add_argument("--leads", type=int, help="leads in the campaign (default 100k)")
    parser.add_argument("--calls", type=int, help="calls over the last 30 days (default 300k)")
    parser.add_argument("--engines", type=_engine_list, default=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    if args.leads is None:
        args.leads = 20_000 if args.quick else 100_000
    if args.calls is None:
        args.calls = 50_000 if args.quick else 300_000
    results: dict[str, Any] = {"leads": args.leads, "calls": args.calls}
    results |= on_engines(
        args.engines,
        prefix="bench-compliance-",
        run=lambda engine, url: bench_engine(engine, url, args),
    )
    print(json.dumps(results, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
