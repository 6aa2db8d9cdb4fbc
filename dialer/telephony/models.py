from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from dialer.db import instant_column


class SimOutcome(SQLModel, table=True):
    """Scripted outcomes of the simulated provider, kept in the database so any
    worker process honours them."""

    __tablename__ = "sim_outcome"
    __table_args__ = (Index("ix_sim_outcome_phone", "phone", "consumed", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(sa_type=String(20))
    outcome: str = Field(sa_type=String(16))
    consumed: bool = False
    created_at: datetime = Field(sa_column=instant_column(nullable=False))


class DialPacing(SQLModel, table=True):
    """Calls-per-second budgets shared by every process that dials: the next free
    send slot per key (`account`, `campaign:<id>`), in wall-clock time, because the
    provider counts real seconds even when the dialer's clock is simulated."""

    __tablename__ = "dial_pacing"

    key: str = Field(sa_type=String(64), primary_key=True)
    next_at: datetime = Field(sa_column=instant_column(nullable=False))
