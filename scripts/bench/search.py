"""Lead search benchmark: each kind of search on the claim benchmark's data set.

The claim benchmark's campaign (scripts/bench/claim.py: N leads with a phone, a
kanji name, 30% a company, 60% a contract number, an external id each) is built
on SQLite and on a throw-away PostgreSQL cluster. Each kind of search then runs
`dialer.views.search.search_leads` in a read transaction, as GET /api/leads
does (the query, the page's phones and contacts, the response model), many
times with a different lead's value each time:

- phone, national format ('090-0001-2345'), full-width, and E.164; a phone nobody has;
- name: a surname (20,000 matches per million leads: the first page), a full
  name (400 matches), the same in a campaign, and its second page (cursor);
- company prefix; contract number (dashed) and external id, whole.

Latency is from before the transaction to after the page is built. Goal: p95
under 50 ms on 1M leads on both engines; the ratio printed is p95 / 50 ms
(goal: ≤ 1). Before measuring, each kind's plan on the populated database (real
statistics) is printed, and must use the index the kind is built on.

    python scripts/bench/search.py --quick          # 100k leads
    python scripts/bench/search.py                  # 1M leads
    python scripts/bench/search.py --engines sqlite --leads 300000 --repeat 100

The last line printed is one JSON object with every figure. Exit status 1 when a
plan does not use its index, or a search finds other leads than it must.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

import claim

from dialer.db import is_postgres
from dialer.leads.models import Lead
from dialer.leads.search_keys import lead_keys
from dialer.views.search import LeadQuery, search_leads, search_statement

GOAL_MS = 50.0
LIMIT = 50
FULL_WIDTH = str.maketrans("0123456789-+", "０１２３４５６７８９－＋")


def _national(lead_id: int) -> str:
    digits = f"{lead_id + claim.PHONE_BASE:08d}"
    return f"090-{digits[:4]}-{digits[4:]}"


# kind: (the query for a lead id, the index its plan must use, a check of the page)
Kind = tuple[Callable[[int, int], LeadQuery], str, Callable[[int, list[Any]], bool]]


def _name(lead_id: int) -> str:
    i = lead_id
    n = claim.NAMES_EACH
    return (
        claim.SURNAMES[(i % n) * 2 : (i % n) * 2 + 2]
        + " "
        + claim.GIVEN[((i // n) % n) * 2 : ((i // n) % n) * 2 + 2]
    )


def _company_lead(lead_id: int) -> int:
    """A lead id near `lead_id` that has a company."""
    while lead_id % claim.COMPANY_OF >= claim.COMPANY_EVERY:
        lead_id += 1
    return lead_id


def _contract_lead(lead_id: int) -> int:
    while lead_id % claim.CONTRACT_OF >= claim.CONTRACT_EVERY:
        lead_id += 1
    return lead_id


def _contract(lead_id: int) -> str:
    digits = f"{lead_id:010d}"
    return f"03{digits[:2]}-{digits[2:6]}-{digits[6:]}"


KINDS: dict[str, Kind] = {
    "phone national": (
        lambda i, c: LeadQuery(phone=_national(i)),
        "ix_phone_number",
        lambda i, items: [x.id for x in items] == [i],
    ),
    "phone full-width": (
        lambda i, c: LeadQuery(phone=_national(i).translate(FULL_WIDTH)),
        "ix_phone_number",
        lambda i, items: [x.id for x in items] == [i],
    ),
    "phone E.164 in campaign": (
        lambda i, c: LeadQuery(phone=f"+8190{i + claim.PHONE_BASE:08d}", campaign_id=c),
        "ix_phone_number",
        lambda i, items: [x.id for x in items] == [i],
    ),
    "phone unknown": (
        lambda i, c: LeadQuery(phone=f"080-{i % 10000:04d}-{i % 9999:04d}"),
        "ix_phone_number",
        lambda i, items: items == [],
    ),
    "name surname": (
        lambda i, c: LeadQuery(name=_name(i)[:2]),
        "ix_lead_name_key",
        lambda i, items: len(items) == LIMIT and all(x.name[:2] == _name(i)[:2] for x in items),
    ),
    "name full": (
        lambda i, c: LeadQuery(name=_name(i)),
        "ix_lead_name_key",
        lambda i, items: bool(items) and all(x.name == _name(i) for x in items),
    ),
    "name full in campaign": (
        lambda i, c: LeadQuery(name=_name(i).replace(" ", ""), campaign_id=c),
        "ix_lead_name_key",
        lambda i, items: bool(items) and all(x.name == _name(i) for x in items),
    ),
    "company prefix": (
        lambda i, c: LeadQuery(company=f"KANTO DENKI {(_company_lead(i) * 7919) % 20000}"),
        "ix_lead_company_key",
        lambda i, items: bool(items) and all(x.company is not None for x in items),
    ),
    "contract number": (
        lambda i, c: LeadQuery(contract_number=_contract(_contract_lead(i))),
        "ix_lead_contract_key",
        lambda i, items: [x.id for x in items] == [_contract_lead(i)],
    ),
    "external id": (
        lambda i, c: LeadQuery(external_id=f"crm-{i}"),
        "ix_lead_external_key",
        lambda i, items: [x.id for x in items] == [i],
    ),
}
# A second page: the same search after the first page's cursor.
PAGED = ("name surname",)


def _percentile(values: list[float], q: float) -> float:
    return claim._percentile(sorted(values), q)


def check_keys(bench: claim.Bench, *, sample: int) -> None:
    """The data set's SQL-made keys are the service's own fold of its fields."""
    with bench.db.read() as session:
        leads = session.query(Lead).order_by(Lead.id).limit(sample).all()  # type: ignore[arg-type]
        for lead in leads:
            want = lead_keys(
                name=lead.name,
                company=lead.company,
                contract_number=lead.contract_number,
                external_id=lead.external_id,
            )
            got = (lead.name_key, lead.company_key, lead.contract_key, lead.external_key)
            if want != got:
                raise RuntimeError(f"lead {lead.id}: keys {got} are not the fold {want}")


def plans(bench: claim.Bench, *, region: str) -> dict[str, str]:
    """Each kind's plan on the populated database, with its real statistics."""
    found: dict[str, str] = {}
    middle = max(1, bench_leads(bench) // 2)
    with bench.db.read() as session:
        dialect = session.get_bind().dialect
        for kind, (make, _index, _check) in KINDS.items():
            statement = search_statement(
                make(middle, bench.campaign_id), region=region, limit=LIMIT, after=None
            )
            sql = statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
            prefix = "EXPLAIN" if is_postgres(session) else "EXPLAIN QUERY PLAN"
            rows = session.execute(text(f"{prefix} {sql}")).all()
            found[kind] = " | ".join(" ".join(str(cell) for cell in row) for row in rows)
    return found


def bench_leads(bench: claim.Bench) -> int:
    with bench.db.read() as session:
        return int(session.execute(text("SELECT max(id) FROM lead")).scalar() or 0)


def measure(bench: claim.Bench, *, repeat: int, seed: int, region: str) -> dict[str, Any]:
    top = bench_leads(bench)
    rng = random.Random(seed)
    figures: dict[str, Any] = {}
    kinds = [*KINDS, *(f"{k}, page 2" for k in PAGED)]
    for kind in kinds:
        base = kind.removesuffix(", page 2")
        make, _index, check = KINDS[base]
        latencies: list[float] = []
        wrong = 0
        for _ in range(repeat):
            # Ids whose derived values stay in range (a company or contract lead after it).
            lead_id = rng.randint(1, max(1, top - 10))
            query = make(lead_id, bench.campaign_id)
            after_id = None
            if kind.endswith("page 2"):
                with bench.db.read() as session:
                    first = search_leads(
                        session, query=query, limit=LIMIT, after_id=None, default_region=region
                    )
                after_id = int(first.next_cursor) if first.next_cursor else None
            began = time.perf_counter()
            with bench.db.read() as session:
                page = search_leads(
                    session, query=query, limit=LIMIT, after_id=after_id, default_region=region
                )
            latencies.append((time.perf_counter() - began) * 1000)
            if after_id is None and not check(lead_id, page.items):
                wrong += 1
        p95 = _percentile(latencies, 0.95)
        figures[kind] = {
            "p50_ms": round(_percentile(latencies, 0.50), 2),
            "p95_ms": round(p95, 2),
            "max_ms": round(max(latencies), 2),
            "ratio": round(p95 / GOAL_MS, 3),
            "wrong": wrong,
        }
        row = figures[kind]
        print(
            f"# {bench.engine:<10} {kind:<28} p50 {row['p50_ms']:>7.2f} ms"
            f"  p95 {row['p95_ms']:>7.2f} ms  max {row['max_ms']:>7.2f} ms"
            f"  p95/goal {row['ratio']:.2f}{'  WRONG ' + str(wrong) if wrong else ''}",
            flush=True,
        )
    return figures


def bench_engine(
    engine: str, url: str, args: argparse.Namespace, sqlite_path: Path | None
) -> dict[str, Any]:
    began = time.perf_counter()
    bench = claim._setup(engine, url, leads=args.leads, agents=1, sqlite_path=sqlite_path)
    populate_s = time.perf_counter() - began
    print(f"# {engine}: {args.leads:,} leads ready in {populate_s:.1f}s", flush=True)
    result: dict[str, Any] = {"populate_s": round(populate_s, 2)}
    try:
        check_keys(bench, sample=2000)
        region = "JP"
        found = plans(bench, region=region)
        bad = []
        for kind, plan in found.items():
            print(f"# {engine} plan, {kind}: {plan}", flush=True)
            if KINDS[kind][1] not in plan:
                bad.append(kind)
        result["plans"] = found
        result["plans_without_their_index"] = bad
        result["kinds"] = measure(bench, repeat=args.repeat, seed=args.seed, region=region)
    finally:
        bench.db.dispose()
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k leads, 100 searches a kind")
    parser.add_argument("--engines", type=claim._engine_list, default=["sqlite", "postgresql"])
    parser.add_argument("--leads", type=int, help="leads in the campaign (default 1M, quick 100k)")
    parser.add_argument("--repeat", type=int, help="searches per kind (default 300, quick 100)")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args(argv)
    if args.leads is None:
        args.leads = 100_000 if args.quick else 1_000_000
    if args.repeat is None:
        args.repeat = 100 if args.quick else 300
    if not 1_000 <= args.leads < 10**8 - claim.PHONE_BASE:
        parser.error("--leads must be between 1,000 and 89,999,999")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    results: dict[str, Any] = claim.run_engines(bench_engine, args, prefix="bench-search-")
    wall = time.perf_counter() - started
    print(f"\nlead search, {args.leads:,} leads, {args.repeat} searches a kind, limit {LIMIT}")
    print(f"{'engine':<11}{'kind':<30}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'p95/50ms':>10}")
    failed = False
    for engine, figures in results.items():
        if "skipped" in figures:
            print(f"{engine:<11}skipped: {figures['skipped']}")
            continue
        failed |= bool(figures["plans_without_their_index"])
        for kind, row in figures["kinds"].items():
            failed |= bool(row["wrong"])
            print(
                f"{engine:<11}{kind:<30}{row['p50_ms']:>9.2f}{row['p95_ms']:>9.2f}"
                f"{row['max_ms']:>9.2f}{row['ratio']:>10.2f}"
            )
        if figures["plans_without_their_index"]:
            print(f"{engine:<11}plans without their index: {figures['plans_without_their_index']}")
    ratios = [
        row["ratio"]
        for figures in results.values()
        if "skipped" not in figures
        for row in figures["kinds"].values()
    ]
    summary: dict[str, Any] = {
        engine: {k: v for k, v in figures.items() if k != "plans"}
        for engine, figures in results.items()
    }
    summary.update(
        {
            "leads": args.leads,
            "repeat": args.repeat,
            "limit": LIMIT,
            "goal_ms": GOAL_MS,
            "goal_met": bool(ratios) and max(ratios) <= 1.0,
            "wall_s": round(wall, 1),
        }
    )
    print(f"# wall time {wall:.1f}s", flush=True)
    print(json.dumps(summary, ensure_ascii=False, separators=(",", ":")))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
