"""One row's failure in a scheduler job, isolated.

A due job handles a batch of rows (calls to report, promises to announce,
windows to close, claims to expire). A row that raises (a campaign whose data
breaks a rule, a bug that only one lead's history reaches) must not stop the
job for every other row, tick after tick. So each job keeps a `FailingRows`:

- `each_row` runs the batch in one savepoint (the common case costs one
  savepoint per batch, not one per row); if a row raises, the batch is rolled
  back to it and redone one savepoint per row. A row that raises again is
  logged, counted (`dialer_job_row_failures_total{job}`) and benched; the
  others' work stands, and the transaction goes on.
- A benched row is left out of the job's queries (`skip`) until its retry
  instant, which backs off from FIRST_RETRY, doubling up to LONGEST_RETRY while
  it keeps failing: the job's next due instant is its retry, not the row's own
  instant (already past), so a failing row neither spins the tick nor the
  simulated clock, nor floods the log.

Retry instants are domain time (the `now` the job runs at), like the rows' own
instants. The bench is memory of one process: a restart retries at once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.orm import Session

from dialer.db import savepoint
from dialer.metrics import JOB_ROW_FAILURES

log = logging.getLogger("dialer.jobs")

FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)

Row = TypeVar("Row")


@dataclass(slots=True)
class _Benched:
    retry_at: datetime
    failures: int


class FailingRows:
    """The rows of one job that raised, each benched until its retry instant.
    Thread-safe: under `dialer serve` the scheduler thread and the admin clock
    endpoint may run the same job."""

    def __init__(
        self, job: str, *, first: timedelta = FIRST_RETRY, longest: timedelta = LONGEST_RETRY
    ) -> None:
        self.job = job
        self._first = first
        self._longest = longest
        self._benched: dict[int, _Benched] = {}
        self._lock = threading.Lock()

    def skip(self, *, now: datetime) -> frozenset[int]:
        """The rows to leave out of a run at `now`: their retry is later."""
        with self._lock:
            return frozenset(k for k, b in self._benched.items() if b.retry_at > now)

    def benched(self) -> frozenset[int]:
        """Every benched row: left out of the job's next due instant, which is
        `next_retry_at` for them."""
        with self._lock:
            return frozenset(self._benched)

    def next_retry_at(self) -> datetime | None:
        with self._lock:
            return min((b.retry_at for b in self._benched.values()), default=None)

    def retry_at(self, key: int) -> datetime | None:
        with self._lock:
            benched = self._benched.get(key)
            return benched.retry_at if benched is not None else None

    def failed(self, key: int, *, now: datetime, error: BaseException) -> None:
        """Log, count and bench `key`, which raised `error` in a run at `now`."""
        with self._lock:
            before = self._benched.get(key)
            failures = before.failures + 1 if before is not None else 1
            wait = min(self._first * 2 ** min(failures - 1, 32), self._longest)
            self._benched[key] = _Benched(retry_at=now + wait, failures=failures)
        JOB_ROW_FAILURES.labels(self.job).inc()
        if failures == 1:
            log.error(
                "job %s: row %s failed; skipped, retried at %s",
                self.job,
                key,
                (now + wait).isoformat(),
                exc_info=error,
            )
        else:
            # The traceback was logged at the first failure.
            log.error(
                "job %s: row %s failed again (%d times: %r); retried at %s",
                self.job,
                key,
                failures,
                error,
                (now + wait).isoformat(),
            )

    def passed(self, key: int) -> None:
        with self._lock:
            if self._benched.pop(key, None) is not None:
                log.info("job %s: row %s went through on retry", self.job, key)

    def settle(self, *, now: datetime) -> None:
        """After a run at `now`: a row due for retry that the run did not fail
        again (handled, gone, or beyond the batch) is benched no longer."""
        with self._lock:
            for key in [k for k, b in self._benched.items() if b.retry_at <= now]:
                del self._benched[key]


def each_row(
    session: Session,
    rows: Sequence[Row],
    handle: Callable[[Row], None],
    *,
    key: Callable[[Row], int],
    failing: FailingRows,
    now: datetime,
) -> list[Row]:
    """Handle every row inside the open write transaction; the rows handled,
    in order. A row that raises is rolled back alone, benched and left out
    (see the module docstring). `handle` writes only through the session or
    the unit of work (its after-commit actions included): a batch that is
    redone row by row must not have left anything behind."""
    if not rows:
        return []
    try:
        with savepoint(session):
            for row in rows:
                handle(row)
    except Exception:
        pass
    else:
        for row in rows:
            failing.passed(key(row))
        return list(rows)
    done: list[Row] = []
    for row in rows:
        try:
            with savepoint(session):
                handle(row)
        except Exception as exc:
            failing.failed(key(row), now=now, error=exc)
        else:
            failing.passed(key(row))
            done.append(row)
    return done
