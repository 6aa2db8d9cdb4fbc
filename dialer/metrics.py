"""Prometheus metrics.

Counters and histograms are kept by the process that counts. With several web
workers (`dialer web`, `WEB_CONCURRENCY` > 1) each worker writes its values to
files in `PROMETHEUS_MULTIPROC_DIR` (prometheus_client's multiprocess mode, set
up by `dialer web` before any worker imports prometheus_client), and a scrape,
whichever worker answers it, adds up every worker's files: the same figures
from every worker. In one process (`dialer serve`, tests) the registry below is
read directly.

What the scheduler knows (it may run on another host) is read from the database
at scrape time by the collectors the app adds (`scrape(extra=...)`)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import Metric

REGISTRY = CollectorRegistry(auto_describe=True)

# Decided when this module is imported, as prometheus_client decides for its
# values: a directory set later would not be written to.
MULTIPROCESS_DIR: str | None = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None

HTTP_REQUESTS = Counter(
    "dialer_http_requests_total",
    "HTTP requests by route and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "dialer_http_request_seconds",
    "HTTP request latency by route",
    ["method", "route"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
DUE_WORK = Counter(
    "dialer_due_work_total",
    "Rows handled by scheduler ticks, by source",
    ["source"],
    registry=REGISTRY,
)
SCHEDULER_TICKS = Counter(
    "dialer_scheduler_ticks_total",
    "Scheduler ticks, by whether this process led",
    ["leader"],
    registry=REGISTRY,
)
SCHEDULER_SKIPPED = Counter(
    "dialer_scheduler_skipped_runs_total",
    "Runs APScheduler skipped in this process because the job's previous run was still going",
    ["job"],
    registry=REGISTRY,
)
AFTER_COMMIT_FAILURES = Counter(
    "dialer_after_commit_failures_total",
    "Actions run after a commit (dial, hang up) that failed, by action",
    ["action"],
    registry=REGISTRY,
)


class Collector(Protocol):
    def collect(self) -> Iterable[Metric]: ...


class _Scrape:
    """What one scrape reads: this process's registry, or every worker's files,
    and the collectors computed at scrape time."""

    def __init__(self, extra: Iterable[Collector]) -> None:
        self.extra = list(extra)

    def collect(self) -> Iterator[Metric]:
        if MULTIPROCESS_DIR:
            from prometheus_client import multiprocess

            workers = CollectorRegistry()
            multiprocess.MultiProcessCollector(workers, path=MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
            yield from workers.collect()
        else:
            yield from REGISTRY.collect()
        for collector in self.extra:
            yield from collector.collect()


def scrape(*, extra: Iterable[Collector] = ()) -> bytes:
    """The text exposition for GET /metrics."""
    return generate_latest(_Scrape(extra))  # type: ignore[arg-type]


def worker_exited(pid: int) -> None:
    """Multiprocess mode: a worker that stops drops its live gauges' files
    (counters stay: they are summed over the workers that ever counted)."""
    if MULTIPROCESS_DIR:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, path=MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]


def prepare_multiprocess_dir(path: str) -> None:
    """Empty (or create) the directory before the workers start: files of an
    earlier run's workers would be added to this run's counters."""
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))


JOB_ROW_FAILURES = Counter(
    "dialer_job_row_failures_total",
    "Rows a scheduler job failed on: logged, skipped and retried later, by job",
    ["job"],
    registry=REGISTRY,
)
JOB_FAILURES = Counter(
    "dialer_job_failures_total",
    "Scheduler job runs that failed as a whole (the other jobs still ran), by job",
    ["job"],
    registry=REGISTRY,
)
