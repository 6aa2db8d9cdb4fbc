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
import sys
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from dialer import logs
from dialer.clock import monotonic, wall_now
from dialer.db import Database, affected
from dialer.jobs import RENEW_EVERY, TICK_JOBS, is_due, run_tick_job
from dialer.metrics import SCHEDULER_SKIPPED, SCHEDULER_TICKS
from dialer.runtime import Runtime
from dialer.settings import Settings, get_settings
from dialer.system import SCHEDULER_LEASE, SchedulerLease

log = logging.getLogger("dialer.scheduler")

LEASE_NAME = SCHEDULER_LEASE
LEASE_TTL = timedelta(seconds=15)
# APScheduler logs every run it skips; one line per job per this many seconds.
SKIPPED_LOG_EVERY = 60.0
_SKIPPED_MESSAGE = 'Execution of job "%s" skipped: maximum number of running instances'


@dataclass(frozen=True, slots=True)
class TickStats:
    """What a heartbeat says: the longest tick and the largest lag since the
    previous heartbeat, and the holder's totals."""

    tick_seconds: float | None = None
    tick_lag_seconds: float | None = None
    ticks: int = 0
    skipped_runs: int = 0


def try_lead(
    db: Database,
    *,
    holder: str,
    now: datetime,
    ttl: timedelta = LEASE_TTL,
    stats: TickStats | None = None,
) -> bool:
    """Take or renew the leader lease, and beat: the renewal writes the
    heartbeat (`now`) and `stats` into the lease row. Wall-clock time on
    purpose: leases must expire in real time even when the domain clock is
    simulated and frozen."""
    stats = stats or TickStats()
    beat: dict[str, Any] = {
        "heartbeat_at": now,
        "tick_seconds": stats.tick_seconds,
        "tick_lag_seconds": stats.tick_lag_seconds,
        "ticks": stats.ticks,
        "skipped_runs": stats.skipped_runs,
    }
    try:
        with db.write() as session:
            taken = session.execute(
                update(SchedulerLease)
                .where(
                    col(SchedulerLease.name) == LEASE_NAME,
                    (col(SchedulerLease.holder) == holder) | (col(SchedulerLease.expires_at) < now),
                )
                .values(holder=holder, expires_at=now + ttl, **beat)
            )
            if affected(taken) == 1:
                return True
            exists = session.scalar(
                select(col(SchedulerLease.name)).where(col(SchedulerLease.name) == LEASE_NAME)
            )
            if exists is not None:
                return False
            session.add(
                SchedulerLease(name=LEASE_NAME, holder=holder, expires_at=now + ttl, **beat)
            )
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

    def __init__(self, runtime: Runtime, *, interval: float | None = None) -> None:
        self.runtime = runtime
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.interval = timedelta(
            seconds=interval
            if interval is not None
            else runtime.settings.scheduler_interval_seconds
        )
        self.leading: bool | None = None  # unknown until the first tick says
        self._renewed_at: datetime | None = None
        # Wall-clock instant each job last ran at, by name.
        self._ran_at: dict[str, datetime] = {}
        self._lock = threading.Lock()
        # For the heartbeat: the previous tick's start, the worst since the last
        # heartbeat, and this holder's totals.
        self._started_at: datetime | None = None
        self._worst_tick: float | None = None
        self._worst_lag: float | None = None
        self.ticks = 0
        self.skipped_runs = 0

    def _stats(self) -> TickStats:
        return TickStats(
            tick_seconds=self._worst_tick,
            tick_lag_seconds=self._worst_lag,
            ticks=self.ticks,
            skipped_runs=self.skipped_runs,
        )

    def _lead(self, *, wall: datetime) -> bool:
        if self.leading and self._renewed_at and wall - self._renewed_at < RENEW_EVERY:
            return True
        leading = try_lead(self.runtime.db, holder=self.holder, now=wall, stats=self._stats())
        if leading != self.leading:
            log.info("scheduler %s %s", self.holder, "leads" if leading else "idles")
            self.leading = leading
        if leading:
            self._renewed_at = wall
            self._worst_tick = self._worst_lag = None
        return leading

    def _note_start(self, wall: datetime) -> None:
        """Lag: how much later than planned (the previous start plus the
        interval) this tick began; a slow tick or a starved process shows here."""
        if self._started_at is not None:
            lag = max((wall - self._started_at - self.interval).total_seconds(), 0.0)
            self._worst_lag = max(self._worst_lag or 0.0, lag)
        self._started_at = wall

    def _note_duration(self, seconds: float) -> None:
        self._worst_tick = max(self._worst_tick or 0.0, seconds)

    def skipped(self, _event: JobSubmissionEvent | None = None) -> None:
        """APScheduler did not start a run: the previous tick was still going."""
        self.skipped_runs += 1
        SCHEDULER_SKIPPED.labels("due-work").inc()

    def tick(self) -> None:
        if not self._lock.acquire(blocking=False):
            return
        started = monotonic()
        try:
            # Wall-clock time for the lease and the cadences: both are real time
            # even when the domain clock is simulated and frozen.
            wall = wall_now()
            self._note_start(wall)
            leading = self._lead(wall=wall)
            SCHEDULER_TICKS.labels("yes" if leading else "no").inc()
            if not leading:
                return
            self.ticks += 1
            for job in TICK_JOBS:
                if is_due(job, last_run_at=self._ran_at.get(job.name), wall=wall):
                    self._ran_at[job.name] = wall
                    run_tick_job(job, self.runtime, wall)
        except Exception:
            log.exception("scheduler tick failed; the next tick retries")
        finally:
            self._note_duration(monotonic() - started)
            self._lock.release()

    def stop(self) -> None:
        if self.leading:
            release_lead(self.runtime.db, holder=self.holder)
            self.leading = False


def quiet_skipped_runs() -> None:
    """APScheduler's "skipped: maximum number of running instances reached" is
    logged by `apscheduler.scheduler` (BaseScheduler._process_jobs) on every run
    it skips; a logger filter lets one line per job per minute through. The
    runs are counted by `Ticker.skipped` (EVENT_JOB_MAX_INSTANCES)."""
    target = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, logs.RepeatLimit) for f in target.filters):
        target.addFilter(
            logs.RepeatLimit(_SKIPPED_MESSAGE, every=SKIPPED_LOG_EVERY, clock=monotonic)
        )


def install(scheduler: BaseScheduler, ticker: Ticker, *, interval: float) -> None:
    quiet_skipped_runs()
    scheduler.add_listener(ticker.skipped, EVENT_JOB_MAX_INSTANCES)
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
    settings = settings or get_settings()
    logs.configure(log_format=settings.log_format)
    runtime = Runtime(settings)
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
    from dialer.migrations import SchemaNotCurrent
    from dialer.settings import SettingsRefused

    try:
        main()
    except (SchemaNotCurrent, SettingsRefused) as exc:
        sys.exit(f"error: {exc}")
