from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from dialer.db import instant_column


class Channel(StrEnum):
    phone = "phone"
    web = "web"
    postcard = "postcard"
    other = "other"


class ConversionStatus(StrEnum):
    active = "active"
    cancelled = "cancelled"


class Conversion(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    reference: str = Field(sa_type=String(128), unique=True)
    channel: str = Field(sa_type=String(16))
    lead_id: int | None = Field(default=None, foreign_key="lead.id", index=True)
    agent_id: int | None = Field(default=None, foreign_key="agent.id", index=True)
    call_id: int | None = Field(default=None, foreign_key="call.id")
    attribution: str = Field(sa_type=String(24))
    status: str = Field(default=ConversionStatus.active, sa_type=String(16))
    contract_number: str | None = Field(default=None, sa_type=String(64))
    phone: str | None = Field(default=None, sa_type=String(20))
    external_id: str | None = Field(default=None, sa_type=String(128))
    occurred_at: datetime = Field(sa_column=instant_column(nullable=False))
    created_at: datetime = Field(sa_column=instant_column(nullable=False))
