"""Wiring: one object holding the settings, database, clock and telephony that a
web worker or the scheduler process runs with."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from dialer import jobs
from dialer.agents.events import EventHub
from dialer.calls.pacer import Pacer, pace
from dialer.clock import Clock, SimulatedClock, SystemClock, wall_now
from dialer.db import Database
from dialer.failing import FailingRows
from dialer.leads.importer import ImportRunner, fail_stale_imports
from dialer.settings import ClockMode, Settings, TelephonyMode
from dialer.telephony import dialing
from dialer.telephony.base import CallCreator, Telephony
from dialer.telephony.batching import CallbackBatcher
from dialer.views.floor import FloorHub

log = logging.getLogger("dialer.runtime")


# Threads asking the provider to place progressive calls: enough to keep the
# campaign's calls per second with a slow provider answering in about a second.
DIAL_THREADS = 32


def _log_failed_dial(future: Future[None]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("progressive dial failed: %r", exc)


class Runtime:
    def __init__(self, settings: Settings, *, db: Database | None = None) -> None:
        self.settings = settings
        self.db = db or Database(settings.database_url)
        self.clock: Clock
        if settings.clock == ClockMode.simulated:
            self.clock = SimulatedClock(self.db, start=settings.clock_start)
        else:
            self.clock = SystemClock()
        # `creator`: the provider asked after the commit, outside any transaction
        # (Twilio); None where calls are placed inside the transaction (simulated).
        self.creator: CallCreator | None
        self.telephony, self.creator = self._make_telephony()
        self.imports = ImportRunner(self.db)
        self.claim_ttl = timedelta(seconds=settings.claim_ttl_seconds)
        # Browser sessions last and idle out in real time, also under the simulated
        # clock (like stream tickets): moving the demo's clock through a day must
        # not sign everyone out. Replaceable by tests.
        self.session_clock: Callable[[], datetime] = wall_now
        self.events = EventHub(self.db)
        # The live floor's snapshots and queue diagnoses, per worker (dialer.views.floor).
        self.floor = FloorHub(self.db, now_in=self.now_in)
        # Status callbacks' group commit (dialer.telephony.routes), made on first use.
        self.callback_batcher: CallbackBatcher | None = None
        self._dials = ThreadPoolExecutor(max_workers=DIAL_THREADS, thread_name_prefix="dial")
        # In the order dialer.jobs gives (and explains).
        self.due_jobs = jobs.due_jobs(
            telephony=self.telephony,
            claim_ttl=self.claim_ttl,
            console_loss=timedelta(seconds=settings.console_loss_seconds),
        )
        # The rows (agents, calls) of the tick's other jobs that failed, benched
        # until their retry (dialer.failing).
        self.progressive_failing = FailingRows("progressive")
        # Campaigns whose predictive round failed, benched likewise.
        self.predictive_failing = FailingRows("predictive")
        # How many unreserved calls a predictive round places (dialer.calls.pacer);
        # replaceable (a simulation compares pacers on the same floor).
        self.pacer: Pacer = pace
        self.reconcile_failing = FailingRows("reconcile")

    def _make_telephony(self) -> tuple[Telephony, CallCreator | None]:
        if self.settings.telephony == TelephonyMode.simulated:
            from dialer.telephony.simulated import SimulatedTelephony

            simulated = SimulatedTelephony(
                answer_rate=self.settings.sim_answer_rate, seed=self.settings.sim_seed
            )
            return simulated, None
        # The SDK is imported only where it is used.
        from dialer.telephony.twilio import TwilioApi, TwilioTelephony

        settings = self.settings
        if not settings.twilio_account_sid or not settings.twilio_auth_token:
            raise RuntimeError(
                "DIALER_TELEPHONY=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
            )
        twilio = TwilioTelephony(
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
        return twilio, twilio

    @property
    def simulated_clock(self) -> SimulatedClock | None:
        return self.clock if isinstance(self.clock, SimulatedClock) else None

    def start(self) -> None:
        """Refuse settings it cannot serve with (a public URL twilio mode cannot
        use). Prepare what must exist before serving: the schema (upgraded where it
        is ours to upgrade, else checked to be current), the simulated clock's first
        instant, the bootstrap manager; and clear what a dead process left: imports
        it was running (after the schema check: it reads the import's owner)."""
        from dialer.migrations import check_schema, upgrade

        # A set-up Twilio cannot work with is refused first (raises SettingsRefused).
        self.settings.check_public_url()
        if self.settings.upgrade_at_startup:
            upgrade(self.db.url)
        # Nothing runs on a schema it was not written for (raises SchemaNotCurrent).
        check_schema(self.db.engine)
        sim = self.simulated_clock
        if sim is not None:
            sim.ensure_started()
        if self.settings.bootstrap_token:
            from dialer.auth import ensure_manager_token

            with self.db.write() as session:
                ensure_manager_token(
                    session, token=self.settings.bootstrap_token, now=self.now_in(session)
                )
        self._fail_dead_imports()

    def _fail_dead_imports(self) -> None:
        """Imports whose process died (kill -9, a crash) are failed and their staged
        rows removed now, not only once their heartbeat is STALE_AFTER old; those
        another live worker runs are left alone (dialer.leads.importer)."""
        failed = fail_stale_imports(self.db, now=wall_now())
        if failed:
            log.warning("failed %d import(s) whose process had stopped", failed)

    def now_in(self, session: Session) -> datetime:
        sim = self.simulated_clock
        if sim is not None:
            return sim.now_in(session)
        return wall_now()

    @contextmanager
    def write(self) -> Iterator[tuple[Session, datetime]]:
        with self.db.write() as session:
            yield session, self.now_in(session)

    def dial_now(self, call_id: int) -> None:
        """Ask the provider to place a committed attempt, on this thread: a
        request's answer reflects what the provider said."""
        if self.creator is not None:
            dialing.dial(self.db, self.creator, call_id=call_id, now_in=self.now_in)

    def dial_later(self, call_id: int) -> None:
        """Ask the provider on a dialing thread (pacing may make a create wait),
        so the scheduler's tick goes on."""
        future = self._dials.submit(self.dial_now, call_id)
        future.add_done_callback(_log_failed_dial)

    def run_provider_work(self) -> int:
        """Reconciliation now, whatever its cadence (dialer.jobs)."""
        return jobs.reconcile(self)

    def advance_clock(self, *, to: datetime) -> datetime:
        """Move the simulated clock to `to`, doing the due work on the way (dialer.jobs)."""
        return jobs.advance_clock(self, to=to)

    def close(self) -> None:
        if self.callback_batcher is not None:
            self.callback_batcher.close()
        self._dials.shutdown(wait=True)
        self.imports.shutdown()
        self.floor.close()
        self.db.dispose()
