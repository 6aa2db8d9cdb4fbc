"""The table of due jobs and what a scheduler tick runs, by cadence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from prometheus_client import Counter

from dialer import jobs, scheduler
from dialer.jobs import RECONCILE_EVERY, RENEW_EVERY, TICK_JOBS, TickJob, is_due
from dialer.metrics import JOB_FAILURES
from dialer.scheduler import Ticker
from dialer.telephony.simulated import SimulatedTelephony

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def test_due_jobs_run_provider_reports_first_and_promises_before_their_windows() -> None:
    table = jobs.due_jobs(
        telephony=SimulatedTelephony(answer_rate=0, seed=0), claim_ttl=timedelta()
    )
    assert [job.name for job in table] == [
        "provider_reports",
        "connect_waiting",
        "promise_due",
        "promise_windows",
        "claim_expiry",
    ]


def test_the_tick_table() -> None:
    assert [(job.name, job.every, job.network) for job in TICK_JOBS] == [
        ("stale_imports", RENEW_EVERY, False),
        ("due_work", None, False),
        ("progressive", None, True),
        ("predictive", None, True),
        ("reconcile", RECONCILE_EVERY, True),
    ]
    assert timedelta(seconds=1) == RENEW_EVERY and timedelta(seconds=5) == RECONCILE_EVERY


EVERY_5S = TickJob(name="x", every=timedelta(seconds=5), network=False, run=lambda _r, _w: 0)
EVERY_TICK = TickJob(name="y", every=None, network=False, run=lambda _r, _w: 0)


@pytest.mark.parametrize(
    ("job", "last", "wall", "due"),
    [
        (EVERY_TICK, None, T0, True),
        (EVERY_TICK, T0, T0, True),
        (EVERY_5S, None, T0, True),
        (EVERY_5S, T0, T0 + timedelta(seconds=4.999), False),
        (EVERY_5S, T0, T0 + timedelta(seconds=5), True),
    ],
)
def test_is_due(job: TickJob, last: datetime | None, wall: datetime, due: bool) -> None:
    assert is_due(job, last_run_at=last, wall=wall) is due


def _counter(counter: Counter, label: str) -> float:
    return counter.labels(label)._value.get()  # type: ignore[attr-defined,no-any-return]


class _Runtime:
    """Enough of a Runtime for a Ticker whose jobs are replaced."""

    db = None
    settings = SimpleNamespace(scheduler_interval_seconds=0.25)


def test_a_leading_tick_runs_each_job_on_its_cadence(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[tuple[str, datetime]] = []

    def job(name: str, every: timedelta | None) -> TickJob:
        return TickJob(
            name=name, every=every, network=False, run=lambda _r, w: ran.append((name, w)) or 0
        )

    monkeypatch.setattr(
        scheduler,
        "TICK_JOBS",
        (job("a", timedelta(seconds=1)), job("b", None), job("c", timedelta(seconds=5))),
    )
    monkeypatch.setattr(scheduler, "try_lead", lambda *_a, **_k: True)
    walls = iter(
        [T0, T0 + timedelta(seconds=0.5), T0 + timedelta(seconds=1), T0 + timedelta(seconds=5)]
    )
    monkeypatch.setattr(scheduler, "wall_now", lambda: next(walls))
    ticker = Ticker(_Runtime())  # type: ignore[arg-type]
    for _ in range(4):
        ticker.tick()
    assert [(name, (w - T0).total_seconds()) for name, w in ran] == [
        ("a", 0), ("b", 0), ("c", 0),
        ("b", 0.5),
        ("a", 1), ("b", 1),
        ("a", 5), ("b", 5), ("c", 5),
    ]  # fmt: skip


def test_a_failing_job_is_counted_the_others_run_and_the_next_tick_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ran: list[str] = []

    def fails(_runtime: object, _wall: datetime) -> int:
        ran.append("fails")
        raise RuntimeError("database away")

    monkeypatch.setattr(
        scheduler,
        "TICK_JOBS",
        (
            TickJob(name="fails", every=None, network=False, run=fails),
            TickJob(
                name="after", every=None, network=False, run=lambda _r, _w: ran.append("after") or 0
            ),
        ),
    )
    monkeypatch.setattr(scheduler, "try_lead", lambda *_a, **_k: True)
    before = _counter(JOB_FAILURES, "fails")
    ticker = Ticker(_Runtime())  # type: ignore[arg-type]
    ticker.tick()
    ticker.tick()
    assert ran == ["fails", "after", "fails", "after"]
    assert _counter(JOB_FAILURES, "fails") - before == 2
