"""Prometheus metrics. Counters are per process; scrape every web worker."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

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
AFTER_COMMIT_FAILURES = Counter(
    "dialer_after_commit_failures_total",
    "Actions run after a commit (dial, hang up) that failed, by action",
    ["action"],
    registry=REGISTRY,
)
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
