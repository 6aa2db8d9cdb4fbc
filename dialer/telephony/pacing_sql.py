"""The pacing reservation (dialer.telephony.pacing.reserve) in hand-written SQL:
at 50 creates a second every reservation waits on the same rows."""

from __future__ import annotations

from functools import lru_cache

from dialer.sql import Sql, insert, sql, update

# A budget's first use: its row, unless another process made it just now.
INSERT_BUDGET = insert(
    "pacing.insert_budget",
    "dial_pacing",
    ("key", "next_at"),
    suffix=" ON CONFLICT (key) DO NOTHING",
)
PUSH_BUDGET = update("pacing.push_budget", "dial_pacing", ("next_at",), where="key = ?")


@lru_cache(maxsize=8)
def select_budgets(count: int) -> Sql:
    """The budgets' rows, locked in key order on PostgreSQL (no deadlock between
    reservations of overlapping budgets). One text per number of budgets (a
    create has two), not kept in the registry: it writes nothing."""
    marks = ", ".join("?" * count)
    return sql(
        f"pacing.select_budgets.{count}",
        f"SELECT key, next_at FROM dial_pacing WHERE key IN ({marks})",
        postgres_lock=" ORDER BY key FOR UPDATE",
        register=False,
    )
