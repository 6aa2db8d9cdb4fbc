"""Process-wide state that lives in the database: the simulated clock's time and
the scheduler's leader lease."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from dialer.db import instant_column


class ClockState(SQLModel, table=True):
    __tablename__ = "clock_state"

    id: int = Field(default=1, primary_key=True)
    now: datetime = Field(sa_column=instant_column(nullable=False))


class SchedulerLease(SQLModel, table=True):
    __tablename__ = "scheduler_lease"

    name: str = Field(sa_type=String(32), primary_key=True)
    holder: str = Field(sa_type=String(128))
    expires_at: datetime = Field(sa_column=instant_column(nullable=False))
