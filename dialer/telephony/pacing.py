"""Calls per second, kept across every process that dials.

Each budget (the account's, a campaign's) is a row holding the next free send
slot. A create reserves, in one short transaction, the first instant free in all
of its budgets and pushes each budget's next slot one interval further; then it
sleeps until its slot and sends. Slots are spaced a hair wider than 1/cps, so the
few milliseconds a woken thread can be late never put cps + 1 creates inside one
second at the provider. Real (wall) time throughout: the provider counts real
seconds even when the dialer's clock is simulated.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from dialer.clock import wall_now
from dialer.db import Database, Work

# Slots sit 0.95% wider than 1/cps: 9.5 ms per second to absorb a sender that
# reaches the provider late; achieved rates stay above 99% of the target.
SPACING_MARGIN = 1.0095


@dataclass(frozen=True, slots=True)
class Budget:
    key: str
    cps: float

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=SPACING_MARGIN / self.cps)


def first_free(*, now: datetime, next_free: list[datetime]) -> datetime:
    """The earliest instant at or after `now` free in every budget."""
    return max([now, *next_free])


def reserve(work: Work, *, budgets: list[Budget], now: datetime) -> datetime:
    """Take the next send slot in all `budgets` at once; returns its instant.

    Hand-written SQL in three round trips (lock, update, commit): at 50 creates a
    second every reservation waits on the same rows, so their lock is held for as
    short a time as a transaction can be."""
    raw = work.raw
    keys = sorted(b.key for b in budgets)
    marks = ", ".join("?" for _ in keys)
    lock = " ORDER BY key FOR UPDATE" if raw.postgres else ""
    select_sql = f"SELECT key, next_at FROM dial_pacing WHERE key IN ({marks}){lock}"
    found = {key: raw.read_instant(at) for key, at in raw.rows(select_sql, tuple(keys))}
    if len(found) < len(keys):
        # First use of a budget: create its row without colliding with another
        # process doing the same, then lock what exists.
        conflict = " ON CONFLICT (key) DO NOTHING" if raw.postgres else ""
        verb = "INSERT" if raw.postgres else "INSERT OR IGNORE"
        for key in keys:
            if key not in found:
                raw.run(f"{verb} INTO dial_pacing (key, next_at) VALUES (?, ?){conflict}",
                        (key, raw.instant(now)))  # fmt: skip
        found = {key: raw.read_instant(at) for key, at in raw.rows(select_sql, tuple(keys))}
    slot = first_free(now=now, next_free=[found[k] for k in keys])
    raw.many(
        "UPDATE dial_pacing SET next_at = ? WHERE key = ?",
        [(raw.instant(slot + b.interval), b.key) for b in budgets],
    )
    return slot


# Even an idle budget hands out a slot this far ahead: the reserving transaction
# (a new pool connection, a lock wait) happens before the slot, not between the
# slot and the send, where it would make a create late and its successor early.
LEAD = timedelta(milliseconds=100)


def wait_for_slot(db: Database, *, budgets: list[Budget]) -> datetime:
    """Reserve a slot and sleep until it; returns the slot."""
    with db.work() as work:
        slot = reserve(work, budgets=budgets, now=wall_now() + LEAD)
    delay = (slot - wall_now()).total_seconds()
    if delay > 0:
        time.sleep(delay)
    return slot
