"""The scheduler process (`python -m dialer.scheduler`): short, idempotent ticks
that do whatever rows say is due. One leader at a time: a lease row in the
database, renewed every tick, so a second scheduler idles until the first one
stops renewing. The rows are the schedule, so a restart (even kill -9) loses
nothing: the next leader finds the same rows due."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from datetime import datetime, timedelta
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from dialer.clock import wall_now
from dialer.db import Database, affected
from dialer.jobs import RENEW_EVERY, TICK_JOBS, is_due, run_tick_job
from dialer.metrics import SCHEDULER_TICKS
from dialer.runtime import Runtime
from dialer.settings import Settings, get_settings
from dialer.system import SchedulerLease

log = logging.getLogger("dialer.scheduler")

LEASE_NAME = "scheduler"
LEASE_TTL = timedelta(seconds=15)


def try_lead(db: Database, *, holder: str, now: datetime, ttl: timedelta = LEASE_TTL) -> bool:
    """Take or renew the leader lease. Wall-clock time on purpose: leases must
    expire in real time even when the domain clock is simulated and frozen."""
    try:
        with db.write() as session:
            taken = session.execute(
                update(SchedulerLease)
                .where(
                    col(SchedulerLease.name) == LEASE_NAME,
                    (col(SchedulerLease.holder) == holder) | (col(SchedulerLease.expires_at) < now),
                )
                .values(holder=holder, expires_at=now + ttl)
            )
            if affected(taken) == 1:
                return True
            exists = session.scalar(
                select(col(SchedulerLease.name)).where(col(SchedulerLease.name) == LEASE_NAME)
            )
            if exists is not None:
                return False
            session.add(SchedulerLease(name=LEASE_NAME, holder=holder, expires_at=now + ttl))
        return True
    except IntegrityError:
        return False


def release_lead(db: Database, *, holder: str) -> None:
    with db.write() as session:
        session.execute(
            update(SchedulerLease)
            .where(col(SchedulerLease.name) == LEASE_NAME, col(SchedulerLease.holder) == holder)
            .values(expires_at=wall_now() - timedelta(seconds=1))
        )


class Ticker:
    """One tick: lead or idle; when leading, run dialer.jobs.TICK_JOBS, each when
    its cadence says so, in the table's order.

    Ticks are frequent (a promise must reach its agent within a second of being
    due) and cheap: a read of the next due instant, and write transactions only
    when something is due or the lease needs renewing (every RENEW_EVERY)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.leading: bool | None = None  # unknown until the first tick says
        self._renewed_at: datetime | None = None
        # Wall-clock instant each job last ran at, by name.
        self._ran_at: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def _lead(self, *, wall: datetime) -> bool:
        if self.leading and self._renewed_at and wall - self._renewed_at < RENEW_EVERY:
            return True
        leading = try_lead(self.runtime.db, holder=self.holder, now=wall)
        if leading != self.leading:
            log.info("scheduler %s %s", self.holder, "leads" if leading else "idles")
            self.leading = leading
        if leading:
            self._renewed_at = wall
        return leading

    def tick(self) -> None:
        if not self._lock.acquire(blocking=False):
            return
        try:
            # Wall-clock time for the lease and the cadences: both are real time
            # even when the domain clock is simulated and frozen.
            wall = wall_now()
            leading = self._lead(wall=wall)
            SCHEDULER_TICKS.labels("yes" if leading else "no").inc()
            if not leading:
                return
            for job in TICK_JOBS:
                if is_due(job, last_run_at=self._ran_at.get(job.name), wall=wall):
                    self._ran_at[job.name] = wall
                    run_tick_job(job, self.runtime, wall)
        except Exception:
            log.exception("scheduler tick failed; the next tick retries")
        finally:
            self._lock.release()

    def stop(self) -> None:
        if self.leading:
            release_lead(self.runtime.db, holder=self.holder)
            self.leading = False


def install(scheduler: BaseScheduler, ticker: Ticker, *, interval: float) -> None:
    scheduler.add_job(
        ticker.tick,
        "interval",
        seconds=interval,
        id="due-work",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )


def start_background(runtime: Runtime) -> tuple[BackgroundScheduler, Ticker]:
    """For `dialer serve`: the scheduler as a thread beside the web server."""
    ticker = Ticker(runtime)
    scheduler = BackgroundScheduler(timezone="UTC")
    install(scheduler, ticker, interval=runtime.settings.scheduler_interval_seconds)
    scheduler.start()
    return scheduler, ticker


def main(settings: Settings | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # One line per tick per second is noise; failures still log as errors.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    runtime = Runtime(settings or get_settings())
    runtime.start()
    ticker = Ticker(runtime)
    scheduler = BlockingScheduler(timezone="UTC")
    install(scheduler, ticker, interval=runtime.settings.scheduler_interval_seconds)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("scheduler %s started", ticker.holder)
    try:
        scheduler.start()
    finally:
        ticker.stop()
        runtime.close()


if __name__ == "__main__":
    main()
