from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from dialer.db import instant_column, json_column


class Channel(StrEnum):
    phone = "phone"
    web = "web"
    postcard = "postcard"
    other = "other"


class ConversionStatus(StrEnum):
    active = "active"
    # Cooling-off: the customer withdrew. Kept, and its credit reversed.
    cancelled = "cancelled"
    # A second report of a sign-up already counted (the web form after the phone
    # call): kept for the record, never counted.
    duplicate = "duplicate"


class Conversion(SQLModel, table=True):
    __table_args__ = (Index("ix_conversion_campaign_occurred", "campaign_id", "occurred_at"),)

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
    # Where the report came from: `call:<id>`, `api`, `import:<file>`.
    source: str = Field(default="api", sa_type=String(200))
    duplicate_of_id: int | None = Field(default=None)
    matched_at: datetime | None = Field(default=None, sa_column=instant_column())
    matched_by: str | None = Field(default=None, sa_type=String(64))
    cancelled_at: datetime | None = Field(default=None, sa_column=instant_column())
    cancel_reason: str | None = Field(default=None, sa_type=String(2000))
    # The report as received (an imported row, or the API body).
    raw: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())


class CreditKind(StrEnum):
    credit = "credit"
    reversal = "reversal"


class CreditEntry(SQLModel, table=True):
    """The credit ledger: append-only, one +1 when a conversion is credited to an
    agent, one -1 when that credit is taken back. Every conversion figure of an
    agent is a sum over these rows, so each number can be traced to its entries."""

    __tablename__ = "credit_entry"
    __table_args__ = (Index("ix_credit_agent_occurred", "agent_id", "occurred_at"),)

    id: int | None = Field(default=None, primary_key=True)
    conversion_id: int = Field(foreign_key="conversion.id", index=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    agent_id: int = Field(foreign_key="agent.id")
    channel: str = Field(sa_type=String(16))
    kind: str = Field(sa_type=String(16))
    amount: int
    # The conversion's time: reports select a period by when the sign-up happened.
    occurred_at: datetime = Field(sa_column=instant_column(nullable=False))
    at: datetime = Field(sa_column=instant_column(nullable=False))
    reason: str = Field(sa_type=String(200))


@dataclass(frozen=True, slots=True)
class ConversionReport:
    """An external sign-up as reported (API body or CSV row), not yet checked."""

    campaign_id: int
    reference: str
    channel: Channel
    # A date alone means that local day; a time without offset, the campaign's
    # wall time (both resolved by the service, which knows the campaign).
    occurred_at: datetime | date | None = None
    phone: str | None = None
    contract_number: str | None = None
    external_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
