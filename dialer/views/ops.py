"""What /healthz and /metrics say about the scheduler: its leader's heartbeat,
read from the lease row (the scheduler may run on another host), how much
due work is waiting, by the due job that will do it (dialer.jobs), and whether
dialing is blocked by a provider fault (dialer.telephony.blocks)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.models import Claim
from dialer.calls.models import Call
from dialer.leads.models import Lead
from dialer.promises.models import Promise, PromiseStatus
from dialer.system import HEARTBEAT_STALE_AFTER, SCHEDULER_LEASE, SchedulerLease
from dialer.telephony import blocks

# Due rows are counted up to this many per job: a count stays an index range
# read of bounded length however far behind the scheduler is.
DUE_COUNT_CAP = 10_000


class SchedulerStatus(StrEnum):
    ok = "ok"
    stale = "stale"  # a heartbeat older than HEARTBEAT_STALE_AFTER
    absent = "absent"  # no scheduler has ever led on this database


@dataclass(frozen=True, slots=True)
class SchedulerHealth:
    status: SchedulerStatus
    # The holder of an unexpired lease; None when nobody leads.
    leader: str | None
    heartbeat_age_seconds: float | None
    # What the last heartbeat said (the holder named even when its lease ran out).
    holder: str | None
    tick_seconds: float | None
    tick_lag_seconds: float | None
    ticks: int
    skipped_runs: int

    def public(self) -> dict[str, Any]:
        age = self.heartbeat_age_seconds
        return {
            "leader": self.leader,
            "heartbeat_age_seconds": None if age is None else round(age, 3),
            "status": self.status,
        }


def scheduler_health(session: Session, *, wall: datetime) -> SchedulerHealth:
    """`wall`: real time, the lease's and the heartbeat's clock (also under a
    simulated domain clock)."""
    lease = session.get(SchedulerLease, SCHEDULER_LEASE)
    if lease is None or lease.heartbeat_at is None:
        return SchedulerHealth(
            status=SchedulerStatus.absent,
            leader=lease.holder if lease is not None and lease.expires_at > wall else None,
            heartbeat_age_seconds=None,
            holder=lease.holder if lease is not None else None,
            tick_seconds=None,
            tick_lag_seconds=None,
            ticks=0,
            skipped_runs=0,
        )
    age = max((wall - lease.heartbeat_at).total_seconds(), 0.0)
    stale = wall - lease.heartbeat_at > HEARTBEAT_STALE_AFTER
    return SchedulerHealth(
        status=SchedulerStatus.stale if stale else SchedulerStatus.ok,
        leader=lease.holder if lease.expires_at > wall else None,
        heartbeat_age_seconds=age,
        holder=lease.holder,
        tick_seconds=lease.tick_seconds,
        tick_lag_seconds=lease.tick_lag_seconds,
        ticks=lease.ticks,
        skipped_runs=lease.skipped_runs,
    )


@dataclass(frozen=True, slots=True)
class DueBacklog:
    job: str
    rows: int  # at most DUE_COUNT_CAP
    oldest_due_at: datetime | None
    # How long the oldest due row has waited, by the domain clock; 0 when none.
    waited_seconds: float


def _backlog(
    session: Session, *, job: str, column: Any, where: list[Any], now: datetime
) -> DueBacklog:
    # The oldest rows first, along the index that the job itself reads.
    due = select(column.label("due_at")).where(*where).order_by(column).limit(DUE_COUNT_CAP)
    sub = due.subquery()
    rows, oldest = session.execute(select(func.count(), func.min(sub.c.due_at))).one()
    waited = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return DueBacklog(job=job, rows=int(rows), oldest_due_at=oldest, waited_seconds=waited)


def due_backlog(session: Session, *, now: datetime) -> list[DueBacklog]:
    """Rows due at or before `now` (the domain clock) that no tick has handled
    yet, by the name of the due job in dialer.jobs that handles them."""
    promise_due = col(Promise.due_at)
    return [
        _backlog(
            session,
            job="provider_reports",
            column=col(Call.sim_final_at),
            where=[col(Call.sim_final_at) <= now],
            now=now,
        ),
        _backlog(
            session,
            job="promise_due",
            column=promise_due,
            where=[
                col(Promise.status) == PromiseStatus.scheduled,
                col(Promise.due_notified_at).is_(None),
                promise_due <= now,
            ],
            now=now,
        ),
        _backlog(
            session,
            job="promise_windows",
            column=col(Lead.reserved_until),
            where=[col(Lead.reserved_until) <= now],
            now=now,
        ),
        _backlog(
            session,
            job="claim_expiry",
            column=col(Claim.claim_expires_at),
            where=[col(Claim.claim_expires_at) <= now],
            now=now,
        ),
    ]


def dialing_health(session: Session) -> dict[str, Any]:
    """What /healthz says of dialing: `blocked` while a provider fault of the
    account or of a campaign's set-up stops it (dialer.telephony.blocks), with
    each block; instants in UTC (no one campaign's resource)."""
    standing = blocks.all_blocks(session)
    return {
        "status": "blocked" if standing else "ok",
        "blocks": [{"campaign_id": b.campaign_id, **blocks.block_payload(b)} for b in standing],
    }
