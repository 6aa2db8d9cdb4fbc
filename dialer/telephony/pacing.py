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

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.clock import wall_now
from dialer.db import Database
from dialer.telephony.models import DialPacing

# Slots sit 0.8% wider than 1/cps: the margin, per second, that absorbs a late
# wake-up; achieved rates stay above 99% of the target.
SPACING_MARGIN = 1.008


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


def reserve(session: Session, *, budgets: list[Budget], now: datetime, lock_rows: bool) -> datetime:
    """Take the next send slot in all `budgets` at once; returns its instant."""
    keys = sorted(b.key for b in budgets)
    # The rows exist before they are locked: two processes creating the same budget
    # at once must not collide on its key.
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for key in keys:
        session.execute(insert(DialPacing).values(key=key, next_at=now).on_conflict_do_nothing())
    query = select(DialPacing).where(col(DialPacing.key).in_(keys)).order_by(col(DialPacing.key))
    if lock_rows:
        query = query.with_for_update()
    rows = {row.key: row for row in session.scalars(query)}
    slot = first_free(now=now, next_free=[rows[k].next_at for k in keys])
    for budget in budgets:
        rows[budget.key].next_at = slot + budget.interval
    session.flush()
    return slot


# Even an idle budget hands out a slot this far ahead: the reserving transaction's
# commit happens before the slot, not between the slot and the send.
LEAD = timedelta(milliseconds=20)


def wait_for_slot(db: Database, *, budgets: list[Budget]) -> datetime:
    """Reserve a slot and sleep until it; returns the slot."""
    with db.write() as session:
        slot = reserve(session, budgets=budgets, now=wall_now() + LEAD, lock_rows=not db.is_sqlite)
    delay = (slot - wall_now()).total_seconds()
    if delay > 0:
        time.sleep(delay)
    return slot
