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


class DialingBlock(SQLModel, table=True):
    """Dialing stopped by a provider fault that is nobody's lead's (see
    dialer.telephony.faults): one row for the account (`scope` "account", every
    campaign) or one per campaign (`scope` "campaign:<id>"). Kept in the database
    so every process that dials honours it; deleted when cleared."""

    __tablename__ = "dialing_block"

    scope: str = Field(sa_type=String(32), primary_key=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", index=True)
    code: str = Field(sa_type=String(64))
    provider_code: int | None = None
    detail: str = Field(sa_type=String(1000))
    # The call whose refusal set the block (what a manager reads first).
    call_id: int | None = None
    since_at: datetime = Field(sa_column=instant_column(nullable=False))
