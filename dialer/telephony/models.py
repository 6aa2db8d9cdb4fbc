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
