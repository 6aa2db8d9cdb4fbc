"""Every job that falls due, with its cadence: what runs on a tick is this file.

The scheduler's leader ticks every `scheduler_interval_seconds` and runs
`TICK_JOBS` in order, each when its cadence says so:

    job            every            calls                                  runs
    -------------  ---------------  -------------------------------------  ------------------------
    stale_imports  RENEW_EVERY (1s) leads.importer.fail_stale_imports      own write transaction,
                   with the lease                                          wall clock (real time)
    due_work       tick, if due     DUE_JOBS below                         one short write
                                                                           transaction per job
    progressive    every tick       calls.progressive.dial_round           one transaction per
                                                                           agent; the dial after
                                                                           commit, on dial threads
    predictive     every tick       calls.predictive.dial_round            one transaction per
                                    (Runtime.pacer sizes each round)       campaign; dials as above
    reconcile      RECONCILE_EVERY  telephony.dialing.reconcile            provider network:
                   (5s)                                                    outside any transaction

`DUE_JOBS` (`due_jobs`) is work due at instants stored in rows, in this order:

    provider_reports  telephony.next_due_at / run_due          (the simulated provider)
    connect_waiting   calls.predictive.next_connect_by / connect_waiting
                                                               (an answered unreserved call
                                                               nobody took: abandoned)
    promise_due       promises.next_due_notice_at / announce_due
    promise_windows   promises.next_window_end / close_windows
    claim_expiry      agents.queue.next_claim_expiry / expire_claims
    connection_loss   agents.presence.next_loss_at / pause_lost (the agent console gone)

Order matters only within one instant: provider reports first, so a call that
ended at the same second as its claim's expiry releases the claim through its
disposition rather than by expiry; a promise is announced before a window ending
at the same instant marks it missed.

The simulated clock (`advance_clock`) runs the same due jobs and progressive
and predictive rounds at each due instant on its way; it never reconciles (no provider network
in a simulation) and takes no lease.

A row that fails (one bad campaign's lead, one call) is logged, counted,
benched and retried later while every other row proceeds: each job keeps a
`dialer.failing.FailingRows`, handed to the domain function that runs the batch
(one savepoint per batch, per row once one failed), and a benched row's retry
instant stands in for its own in `next_due_at`. A job that fails as a whole is
logged and counted (`dialer_job_failures_total{job}`), and the tick's other
jobs still run; the rows stay due, so the next tick retries it.

The jobs themselves live in their domains; this module only lists and calls them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from dialer.agents import presence
from dialer.agents.queue import expire_claims, next_claim_expiry
from dialer.calls import predictive as predictive_dialing
from dialer.calls.progressive import dial_round
from dialer.failing import FailingRows
from dialer.leads.importer import fail_stale_imports
from dialer.metrics import DUE_WORK, JOB_FAILURES
from dialer.promises import due as promises
from dialer.telephony import dialing
from dialer.telephony.base import Telephony

if TYPE_CHECKING:
    from dialer.runtime import Runtime

log = logging.getLogger("dialer.jobs")

# A leader renews its lease this often (the lease lasts scheduler.LEASE_TTL);
# stale imports are looked for at the same pace, right after the renewal.
RENEW_EVERY = timedelta(seconds=1)
# Asking the provider about unfinished calls: network round trips, so not every tick.
RECONCILE_EVERY = timedelta(seconds=5)


# --- work due at instants stored in rows ---


@dataclass(frozen=True, slots=True)
class DueJob:
    """Work that falls due at instants stored in rows. `run` must be idempotent
    and short: the scheduler tick and the simulated clock both call it, each time
    in its own write transaction; it returns how many rows it handled, and
    benches in `failing` the rows that raised. `next_due_at` leaves out the rows
    it is given (benched ones)."""

    name: str
    next_due_at: Callable[[Session, Collection[int]], datetime | None]
    run: Callable[[Session, datetime, FailingRows], int]
    failing: FailingRows = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "failing", FailingRows(self.name))

    def due_at(self, session: Session) -> datetime | None:
        """The earliest instant this job waits for: a row's own, or a benched
        row's retry."""
        instants = [self.next_due_at(session, self.failing.benched()), self.failing.next_retry_at()]
        found = [i for i in instants if i is not None]
        return min(found) if found else None


def due_jobs(
    *, telephony: Telephony, claim_ttl: timedelta, console_loss: timedelta | None = None
) -> tuple[DueJob, ...]:
    """DUE_JOBS, in the order the module docstring gives and explains.
    `console_loss` (DIALER_CONSOLE_LOSS_SECONDS; the runtime always gives it):
    how long an agent's console may be gone before it is paused; None leaves
    the job out."""
    table = (
        DueJob(
            name="provider_reports",
            next_due_at=lambda session, skip: telephony.next_due_at(session, skip=skip),
            run=lambda session, now, failing: telephony.run_due(session, now=now, failing=failing),
        ),
        DueJob(
            name="connect_waiting",
            next_due_at=lambda session, skip: predictive_dialing.next_connect_by(
                session, skip=skip
            ),
            run=lambda session, now, failing: predictive_dialing.connect_waiting(
                session, now=now, failing=failing
            ),
        ),
        DueJob(
            name="promise_due",
            next_due_at=lambda session, skip: promises.next_due_notice_at(session, skip=skip),
            run=lambda session, now, failing: promises.announce_due(
                session, now=now, failing=failing
            ),
        ),
        DueJob(
            name="promise_windows",
            next_due_at=lambda session, skip: promises.next_window_end(session, skip=skip),
            run=lambda session, now, failing: promises.close_windows(
                session, now=now, failing=failing
            ),
        ),
        DueJob(
            name="claim_expiry",
            next_due_at=lambda session, skip: next_claim_expiry(session, skip=skip),
            run=lambda session, now, failing: expire_claims(
                session, now=now, ttl=claim_ttl, failing=failing
            ),
        ),
    )
    if console_loss is None:
        return table
    loss = console_loss
    return (
        *table,
        DueJob(
            name="connection_loss",
            next_due_at=lambda session, skip: presence.next_loss_at(session, loss=loss, skip=skip),
            run=lambda session, now, failing: presence.pause_lost(
                session, now=now, loss=loss, failing=failing
            ),
        ),
    )


def next_due_at(runtime: Runtime) -> datetime | None:
    """The earliest instant any due job waits for, if any."""
    with runtime.db.read() as session:
        instants = [job.due_at(session) for job in runtime.due_jobs]
    found = [i for i in instants if i is not None]
    return min(found) if found else None


def run_due_work(runtime: Runtime, *, now: datetime) -> int:
    """Everything due up to `now`, each job in its own short transaction."""
    return _run_due_work(runtime, now=now)[0]


def _run_due_work(runtime: Runtime, *, now: datetime) -> tuple[int, list[str]]:
    """Rows handled, and the jobs that failed as a whole (rolled back; the
    others still ran)."""
    done = 0
    failed: list[str] = []
    for job in runtime.due_jobs:
        try:
            with runtime.db.write() as session:
                handled = job.run(session, now, job.failing)
        except Exception:
            log.exception("due job %s failed; the others ran, the next tick retries", job.name)
            JOB_FAILURES.labels(job.name).inc()
            failed.append(job.name)
            continue
        job.failing.settle(now=now)
        if handled:
            DUE_WORK.labels(job.name).inc(handled)
        done += handled
    return done, failed


# --- what the scheduler's tick runs ---


def stale_imports(runtime: Runtime, *, wall: datetime) -> int:
    """Imports whose worker died: wall-clock time, like the lease, since a
    worker's heartbeat is real time even under a simulated domain clock."""
    return fail_stale_imports(runtime.db, now=wall)


def due_work(runtime: Runtime) -> int:
    """The due jobs, when the domain clock says something is due (a read first,
    so an idle tick takes no write lock)."""
    with runtime.db.read() as session:
        now = runtime.now_in(session)
    due = next_due_at(runtime)
    if due is None or due > now:
        return 0
    return run_due_work(runtime, now=now)


def progressive(runtime: Runtime) -> int:
    """One progressive round: claim and place a call for each free agent. Each
    placement registers its dial to run after its commit, handed to the dialing
    threads (pacing may make a create wait), so the tick goes on; the simulated
    provider has placed the calls already."""
    return len(
        dial_round(
            runtime.db,
            telephony=runtime.telephony,
            now_in=runtime.now_in,
            claim_ttl=runtime.claim_ttl,
            dial=runtime.dial_later,
            failing=runtime.progressive_failing,
        )
    )


def predictive(runtime: Runtime) -> int:
    """One predictive round: for each predictive campaign, waiting calls to the
    agents free now, promises to their agents, and as many unreserved calls as
    the pacer (`Runtime.pacer`) asks for. Dials as `progressive`'s."""
    return len(
        predictive_dialing.dial_round(
            runtime.db,
            telephony=runtime.telephony,
            now_in=runtime.now_in,
            claim_ttl=runtime.claim_ttl,
            dial=runtime.dial_later,
            failing=runtime.predictive_failing,
            pacer=runtime.pacer,
        )
    )


def reconcile(runtime: Runtime) -> int:
    """What needs the provider's network: outside any transaction."""
    if runtime.creator is None:
        return 0  # calls were placed and settled inside their transactions
    return dialing.reconcile(
        runtime.db, runtime.creator, now_in=runtime.now_in, failing=runtime.reconcile_failing
    )


@dataclass(frozen=True, slots=True)
class TickJob:
    """One line of the tick's table. `run` gets the tick's wall-clock instant
    (for what runs in real time, like the lease) and returns rows handled."""

    name: str
    # None: every tick; otherwise at most once per this much wall-clock time.
    every: timedelta | None
    # Asks the provider: outside any transaction (reconcile), or after the
    # commit that decided it (progressive's dials, on the dialing threads).
    network: bool
    run: Callable[[Runtime, datetime], int]


TICK_JOBS: tuple[TickJob, ...] = (
    TickJob(
        name="stale_imports",
        every=RENEW_EVERY,
        network=False,
        run=lambda runtime, wall: stale_imports(runtime, wall=wall),
    ),
    TickJob(
        name="due_work",
        every=None,
        network=False,
        run=lambda runtime, _wall: due_work(runtime),
    ),
    TickJob(
        name="progressive",
        every=None,
        network=True,
        run=lambda runtime, _wall: progressive(runtime),
    ),
    TickJob(
        name="predictive",
        every=None,
        network=True,
        run=lambda runtime, _wall: predictive(runtime),
    ),
    TickJob(
        name="reconcile",
        every=RECONCILE_EVERY,
        network=True,
        run=lambda runtime, _wall: reconcile(runtime),
    ),
)


def is_due(job: TickJob, *, last_run_at: datetime | None, wall: datetime) -> bool:
    """Whether the tick at `wall` runs `job`, last run at `last_run_at` (if ever)."""
    return job.every is None or last_run_at is None or wall - last_run_at >= job.every


def run_tick_job(job: TickJob, runtime: Runtime, wall: datetime) -> int:
    """One line of the tick: a job that raises is logged and counted, and the
    tick goes on to the next one (its rows stay due: the next tick retries)."""
    try:
        return job.run(runtime, wall)
    except Exception:
        log.exception("scheduler job %s failed; the next tick retries", job.name)
        JOB_FAILURES.labels(job.name).inc()
        return 0


# --- the simulated clock ---


def advance_clock(runtime: Runtime, *, to: datetime) -> datetime:
    """Move the simulated clock to `to`, doing every piece of due work in time
    order on the way: each due instant becomes "now" before its work runs, so
    a retry scheduled by a call ending at 10:00:25 is computed from 10:00:25.
    A failing row is benched (its retry is a later due instant, so the walk goes
    on); a job failing as a whole stops the walk there rather than spin on the
    same instant, the clock still reaches `to`, and the rows left due are
    picked up by the next run."""
    sim = runtime.simulated_clock
    assert sim is not None
    for _ in range(1_000_000):
        due = next_due_at(runtime)
        if due is None or due > to:
            break
        with runtime.db.write() as session:
            sim.set_in(session, to=due)
        _done, failed = _run_due_work(runtime, now=max(due, sim.now()))
        progressive(runtime)
        predictive(runtime)
        if failed:
            log.error("advancing the clock: due jobs %s failed at %s", failed, due.isoformat())
            break
    with runtime.db.write() as session:
        sim.set_in(session, to=to)
    now = sim.now()
    run_due_work(runtime, now=now)
    progressive(runtime)
    predictive(runtime)
    return now
