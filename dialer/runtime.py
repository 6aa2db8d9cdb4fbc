"""Wiring: one object holding the settings, database, clock and telephony that a
web worker or the scheduler process runs with."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from dialer.agents.events import EventHub
from dialer.agents.queue import expire_claims, next_claim_expiry
from dialer.clock import Clock, SimulatedClock, SystemClock, wall_now
from dialer.db import Database
from dialer.leads.importer import ImportRunner
from dialer.metrics import DUE_WORK
from dialer.promises import due as promises
from dialer.settings import ClockMode, Settings, TelephonyMode
from dialer.telephony.base import Telephony
from dialer.telephony.batching import CallbackBatcher

log = logging.getLogger("dialer.runtime")


# Threads asking the provider to place progressive calls: enough to keep the
# campaign's calls per second with a slow provider answering in about a second.
DIAL_THREADS = 32


def _log_failed_dial(future: Future[None]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("progressive dial failed: %r", exc)


class DueSource(Protocol):
    """Work that falls due at instants stored in rows. `run` must be idempotent and
    short: the scheduler tick and the simulated clock both call it."""

    name: str

    def next_due_at(self, session: Session) -> datetime | None: ...

    def run(self, session: Session, *, now: datetime) -> int: ...


class ClaimExpiry:
    name = "claim_expiry"

    def __init__(self, *, ttl: timedelta) -> None:
        self.ttl = ttl

    def next_due_at(self, session: Session) -> datetime | None:
        return next_claim_expiry(session)

    def run(self, session: Session, *, now: datetime) -> int:
        return expire_claims(session, now=now, ttl=self.ttl)


class ProviderReports:
    name = "provider_reports"

    def __init__(self, telephony: Telephony) -> None:
        self.telephony = telephony

    def next_due_at(self, session: Session) -> datetime | None:
        return self.telephony.next_due_at(session)

    def run(self, session: Session, *, now: datetime) -> int:
        return self.telephony.run_due(session, now=now)


class PromiseDue:
    name = "promise_due"

    def next_due_at(self, session: Session) -> datetime | None:
        return promises.next_due_notice_at(session)

    def run(self, session: Session, *, now: datetime) -> int:
        return promises.announce_due(session, now=now)


class PromiseWindows:
    name = "promise_windows"

    def next_due_at(self, session: Session) -> datetime | None:
        return promises.next_window_end(session)

    def run(self, session: Session, *, now: datetime) -> int:
        return promises.close_windows(session, now=now)


class Runtime:
    def __init__(self, settings: Settings, *, db: Database | None = None) -> None:
        self.settings = settings
        self.db = db or Database(settings.database_url)
        self.clock: Clock
        if settings.clock == ClockMode.simulated:
            self.clock = SimulatedClock(self.db, start=settings.clock_start)
        else:
            self.clock = SystemClock()
        self.telephony = self._make_telephony()
        self.imports = ImportRunner(self.db)
        self.claim_ttl = timedelta(seconds=settings.claim_ttl_seconds)
        self.events = EventHub(self.db)
        # Status callbacks' group commit (dialer.telephony.routes), made on first use.
        self.callback_batcher: CallbackBatcher | None = None
        self._dials = ThreadPoolExecutor(max_workers=DIAL_THREADS, thread_name_prefix="dial")
        # Order matters only within one instant: provider reports first, so a call
        # that ended at the same second as its claim's expiry releases the claim
        # through its disposition rather than by expiry; a promise is announced
        # before a window ending at the same instant marks it missed.
        self.due_sources: list[DueSource] = [
            ProviderReports(self.telephony),
            PromiseDue(),
            PromiseWindows(),
            ClaimExpiry(ttl=self.claim_ttl),
        ]

    def _make_telephony(self) -> Telephony:
        if self.settings.telephony == TelephonyMode.simulated:
            from dialer.telephony.simulated import SimulatedTelephony

            return SimulatedTelephony(
                answer_rate=self.settings.sim_answer_rate, seed=self.settings.sim_seed
            )
        from dialer.telephony.twilio import TwilioApi, TwilioTelephony

        settings = self.settings
        if not settings.twilio_account_sid or not settings.twilio_auth_token:
            raise RuntimeError(
                "DIALER_TELEPHONY=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
            )
        return TwilioTelephony(
            api=TwilioApi(
                account_sid=settings.twilio_account_sid,
                auth_token=settings.twilio_auth_token,
                api_base=settings.twilio_api_base,
                timeout=settings.twilio_http_timeout,
            ),
            public_url=settings.public_url,
            ring_timeout=settings.ring_timeout_seconds,
            account_cps=settings.account_cps,
        )

    @property
    def simulated_clock(self) -> SimulatedClock | None:
        return self.clock if isinstance(self.clock, SimulatedClock) else None

    def start(self) -> None:
        """Prepare what must exist before serving: the schema (where it is ours to
        upgrade), the simulated clock's first instant, the bootstrap manager."""
        if self.settings.upgrade_at_startup:
            from dialer.migrations import upgrade

            upgrade(self.db.url)
        sim = self.simulated_clock
        if sim is not None:
            sim.ensure_started()
        if self.settings.bootstrap_token:
            from dialer.auth import ensure_manager_token

            with self.db.write() as session:
                ensure_manager_token(
                    session, token=self.settings.bootstrap_token, now=self.now_in(session)
                )

    def now_in(self, session: Session) -> datetime:
        sim = self.simulated_clock
        if sim is not None:
            return sim.now_in(session)
        return wall_now()

    @contextmanager
    def write(self) -> Iterator[tuple[Session, datetime]]:
        with self.db.write() as session:
            yield session, self.now_in(session)

    def run_due_work(self, *, now: datetime) -> int:
        """Everything due up to `now`, each source in its own short transaction."""
        done = 0
        for source in self.due_sources:
            with self.db.write() as session:
                handled = source.run(session, now=now)
            if handled:
                DUE_WORK.labels(source.name).inc(handled)
            done += handled
        return done

    def run_progressive(self) -> int:
        """One progressive round: claim and place a call for each free agent. The
        provider is asked off this thread (pacing may make a create wait), so the
        tick goes on; the simulated provider has placed them already."""
        from dialer.calls.progressive import dial_round

        placed = dial_round(
            self.db, telephony=self.telephony, now_in=self.now_in, claim_ttl=self.claim_ttl
        )
        for call_id in placed:
            future = self._dials.submit(
                self.telephony.dial, self.db, call_id=call_id, now_in=self.now_in
            )
            future.add_done_callback(_log_failed_dial)
        return len(placed)

    def run_provider_work(self) -> int:
        """What needs the provider's network (reconciliation): outside any
        transaction, on the scheduler's tick only."""
        return self.telephony.reconcile(self.db, now_in=self.now_in)

    def next_due_at(self) -> datetime | None:
        with self.db.read() as session:
            instants = [s.next_due_at(session) for s in self.due_sources]
        found = [i for i in instants if i is not None]
        return min(found) if found else None

    def advance_clock(self, *, to: datetime) -> datetime:
        """Move the simulated clock to `to`, doing every piece of due work in time
        order on the way: each due instant becomes "now" before its work runs, so
        a retry scheduled by a call ending at 10:00:25 is computed from 10:00:25."""
        sim = self.simulated_clock
        assert sim is not None
        for _ in range(1_000_000):
            due = self.next_due_at()
            if due is None or due > to:
                break
            with self.db.write() as session:
                sim.set_in(session, to=due)
            self.run_due_work(now=max(due, sim.now()))
            self.run_progressive()
        with self.db.write() as session:
            sim.set_in(session, to=to)
        now = sim.now()
        self.run_due_work(now=now)
        self.run_progressive()
        return now

    def close(self) -> None:
        if self.callback_batcher is not None:
            self.callback_batcher.close()
        self._dials.shutdown(wait=True)
        self.imports.shutdown()
        self.db.dispose()
