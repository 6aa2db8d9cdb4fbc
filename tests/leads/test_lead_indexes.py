"""The partial indexes on `lead` (migration 0006) only help if the queries that
need them can still use them: each query's own condition must imply the index's
`… IS NOT NULL`. Checked against the planner of both engines with the queue's
real SQL, so a query rewritten without that condition fails here, not as a slow
floor in production."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dialer.agents.queue import DIALER_TIERS, TIERS, dialer_candidate_sql
from dialer.db import Database, is_postgres

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
SCOPE = "((campaign_id = ? AND timezone IN (?)))"

# (what, SQL, its parameters beyond the scope's, the index the planner must use)
QUERIES = [
    (
        "promise tier",
        TIERS[0].candidate_sql(scope_sql=SCOPE) + " LIMIT 1",
        ("now", 1),
        "ix_lead_queue_promise",
    ),
    (
        "retry tier",
        TIERS[1].candidate_sql(scope_sql=SCOPE) + " LIMIT 1",
        ("now",),
        "ix_lead_queue_retry",
    ),
    ("new tier", TIERS[2].candidate_sql(scope_sql=SCOPE) + " LIMIT 1", (), "ix_lead_queue_new"),
    # The predictive dialer's claims: the same tiers, leaving out leads abandoned lately.
    (
        "dialer retry tier",
        dialer_candidate_sql(DIALER_TIERS[0], scope_sql=SCOPE) + " LIMIT 5",
        ("now", "now"),
        "ix_lead_queue_retry",
    ),
    (
        "dialer new tier",
        dialer_candidate_sql(DIALER_TIERS[1], scope_sql=SCOPE) + " LIMIT 5",
        ("now",),
        "ix_lead_queue_new",
    ),
    (
        "next window end",
        "SELECT min(reserved_until) FROM lead WHERE reserved_until IS NOT NULL",
        None,
        "ix_lead_reserved_until",
    ),
    (
        "windows to close",
        "SELECT id FROM lead WHERE reserved_until <= ? ORDER BY reserved_until, id LIMIT 200",
        ("now",),
        "ix_lead_reserved_until",
    ),
    (
        "conversion by external id",
        "SELECT id FROM lead WHERE campaign_id = ? AND external_id = ?",
        (1, "CRM-1"),
        "ix_lead_campaign_external",
    ),
    (
        "conversion by contract number",
        "SELECT id FROM lead WHERE campaign_id = ? AND contract_number = ?",
        (1, "C-1"),
        "ix_lead_campaign_contract",
    ),
]


@pytest.mark.parametrize(("what", "sql", "params", "index"), QUERIES, ids=[q[0] for q in QUERIES])
def test_queries_use_the_partial_indexes(
    db_url: str, what: str, sql: str, params: tuple[object, ...] | None, index: str
) -> None:
    db = Database(db_url)
    try:
        with db.work() as work:
            raw = work.raw
            bound: tuple[object, ...] = ()
            if params is not None:
                scoped = (1, "Asia/Tokyo") if sql.count("?") > len(params) else ()
                bound = (*scoped, *(raw.instant(NOW) if p == "now" else p for p in params))
            if is_postgres(raw):
                # An empty table is cheapest to scan; ask which index the planner *can* use.
                raw.run("SET LOCAL enable_seqscan = off")
                plan = raw.rows("EXPLAIN " + sql, bound)
            else:
                plan = raw.rows("EXPLAIN QUERY PLAN " + sql, bound)
            text = "\n".join(" ".join(str(cell) for cell in row) for row in plan)
    finally:
        db.dispose()
    assert index in text, f"{what}: {text}"
