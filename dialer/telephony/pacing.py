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

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from dialer.clock import wall_now
from dialer.db import Database, Work
from dialer.telephony.pacing_sql import INSERT_BUDGET, PUSH_BUDGET, select_budgets

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
    select_sql = select_budgets(len(keys))
    found = {key: raw.read_instant(at) for key, at in raw.rows(select_sql, tuple(keys))}
    if len(found) < len(keys):
        # First use of a budget: create its row without colliding with another
        # process doing the same, then lock what exists.
        for key in keys:
            if key not in found:
                raw.run(INSERT_BUDGET, (key, raw.instant(now)))
        found = {key: raw.read_instant(at) for key, at in raw.rows(select_sql, tuple(keys))}
    slot = first_free(now=now, next_free=[found[k] for k in keys])
    raw.many(PUSH_BUDGET, [(raw.instant(slot + b.interval), b.key) for b in budgets])
    return slot


# Even an idle budget hands out a slot this far ahead: the reserving transaction
# (a new pool connection, a lock wait) happens before the slot, not between the
# slot and the send, where it would make a create late and its successor early.
LEAD = timedelta(milliseconds=100)


# The last checks before a send (do-not-call, calling hours, still wanted) run
# this long before the slot: fresh to within a blink, yet a query of theirs that
# takes a few milliseconds makes no create late, and so none of the next early.
CHECK_AHEAD = timedelta(milliseconds=50)


def wait_for_slot(
    db: Database, *, budgets: list[Budget], last_check: Callable[[], None] | None = None
) -> datetime:
    """Reserve a slot and sleep until it, and until the process's own sends allow
    (SENT); returns the slot. `last_check` runs CHECK_AHEAD before the slot, and
    again if SENT held the send back longer than that; what it raises gives the
    slot up (unused slots only ever lower the rate)."""
    with db.work() as work:
        slot = reserve(work, budgets=budgets, now=wall_now() + LEAD)
    if last_check is not None:
        _sleep_until(slot - CHECK_AHEAD)
        last_check()
    _sleep_until(slot)
    held = SENT.admit(budgets=budgets, scope=db.url)
    if last_check is not None and held > CHECK_AHEAD.total_seconds():
        last_check()
    return slot


# Across any floor(cps) sends of one process, the first and the last are at
# least this share of floor(cps)/cps seconds apart: less than the slots' own
# spacing (SPACING_MARGIN), so senders at their slots are not held here unless a
# stall made the sends before them late.
WINDOW_MARGIN = 1.005


class SendWindow:
    """The sends this process actually made, per budget.

    Slots keep creates apart only if each goes out at its slot. When the process
    stalls (a GC pass, the SQLite writer, two busy cores), every sender whose slot
    passed meanwhile wakes at once, and those sends, with the on-time ones of the
    second before and after, put more than cps into one second: 54 at 50 CPS in
    a 30-s run. Here a sender waits until at most floor(cps) sends, its own
    included, fall within floor(cps)/cps × WINDOW_MARGIN seconds (1.005 s for a
    whole cps), measured on what went out, not on what was planned.

    Keyed by database (`scope`) and budget: budgets of different databases in
    one process (tests, tools) are different budgets."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sent: dict[tuple[str, str], deque[float]] = {}

    def admit(self, *, budgets: list[Budget], scope: str) -> float:
        """Returns the seconds the send was held back (0.0: not held)."""
        held = 0.0
        while True:
            with self._lock:
                at = self._clock()
                wait = 0.0
                for budget in budgets:
                    room = max(1, math.floor(budget.cps))
                    window = room / budget.cps * WINDOW_MARGIN
                    sent = self._sent.setdefault((scope, budget.key), deque())
                    while sent and sent[0] <= at - window:
                        sent.popleft()
                    if len(sent) >= room:
                        wait = max(wait, sent[-room] + window - at)
                if wait <= 0:
                    for budget in budgets:
                        self._sent[(scope, budget.key)].append(at)
                    return held
            self._sleep(wait)
            held += wait


SENT = SendWindow()


def _sleep_until(at: datetime) -> None:
    delay = (at - wall_now()).total_seconds()
    if delay > 0:
        time.sleep(delay)
