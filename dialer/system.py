"""Process-wide state that lives in the database: the simulated clock's time and
the scheduler's leader lease, with the leader's heartbeat."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Column, Float, String
from sqlmodel import Field, SQLModel

from dialer.db import instant_column

# The one lease row's name.
SCHEDULER_LEASE = "scheduler"
# A leader renews (and so beats) every second; a heartbeat this old means due
# work has not been looked at for ten renewals: /healthz says `degraded`.
HEARTBEAT_STALE_AFTER = timedelta(seconds=10)


class ClockState(SQLModel, table=True):
    __tablename__ = "clock_state"

    id: int = Field(default=1, primary_key=True)
    now: datetime = Field(sa_column=instant_column(nullable=False))


class SchedulerLease(SQLModel, table=True):
    """The leader lease, and what the leader last said about its ticks. The
    scheduler may run on another host than the web replicas, so its health is a
    row every replica's /healthz and /metrics can read, written with each lease
    renewal (no write of its own)."""

    __tablename__ = "scheduler_lease"

    name: str = Field(sa_type=String(32), primary_key=True)
    holder: str = Field(sa_type=String(128))
    expires_at: datetime = Field(sa_column=instant_column(nullable=False))
    # Wall-clock instant of the leader's last renewal; None before the first.
    heartbeat_at: datetime | None = Field(default=None, sa_column=instant_column())
    # The longest tick, and the latest start after the one planned, since the
    # previous heartbeat (seconds).
    tick_seconds: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    tick_lag_seconds: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    # Counted since this holder started: ticks it ran as leader, and runs
    # APScheduler skipped because the previous tick was still running.
    ticks: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    skipped_runs: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )
