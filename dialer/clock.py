"""The only place that reads the wall clock.

`SystemClock` is production. `SimulatedClock` keeps its instant in the database
(table `clock_state`), so every web worker and the scheduler agree on "now" and a
restart resumes where the clock stood; tests and demos move it forward in
milliseconds through `POST /api/admin/clock`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.orm import Session

from dialer.db import Database
from dialer.system import ClockState


def wall_now() -> datetime:
    """Real time, for what must stay real under a simulated clock too: leader
    leases and the calls-per-second pacing towards the provider."""
    return datetime.now(UTC)


def monotonic() -> float:
    return time.monotonic()


class Clock(Protocol):
    mode: str

    def now(self) -> datetime: ...


class SystemClock:
    mode = "system"

    def now(self) -> datetime:
        return wall_now()


class SimulatedClock:
    mode = "simulated"

    def __init__(self, db: Database, *, start: datetime | None) -> None:
        self._db = db
        self._start = start

    def ensure_started(self) -> None:
        with self._db.write() as session:
            if session.get(ClockState, 1) is None:
                start = self._start or wall_now()
                if start.tzinfo is None:
                    start = start.replace(tzinfo=UTC)
                session.add(ClockState(id=1, now=start.astimezone(UTC)))

    def now(self) -> datetime:
        with self._db.read() as session:
            return self.now_in(session)

    def now_in(self, session: Session) -> datetime:
        state = session.get(ClockState, 1)
        if state is None:
            raise RuntimeError("simulated clock not started")
        return state.now

    def set_in(self, session: Session, *, to: datetime) -> None:
        """Time never runs backwards: work already done at a later instant would be
        undone in nobody's eyes but the clock's."""
        state = session.get(ClockState, 1)
        if state is None:
            session.add(ClockState(id=1, now=to))
        elif to > state.now:
            state.now = to
