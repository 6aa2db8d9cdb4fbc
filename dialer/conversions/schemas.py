from __future__ import annotations

from datetime import UTC
from typing import Annotated

from pydantic import BaseModel, Field

from dialer.conversions.attribution import Attribution
from dialer.conversions.models import Channel, ConversionReport, ConversionStatus, CreditKind
from dialer.leads.schemas import RowErrorOut
from dialer.wire import Input, Instant, InstantIn, Members

# The order a 422 has always named the channels in.
_CHANNELS_IN = (Channel.web, Channel.postcard, Channel.phone, Channel.other)


class ConversionIn(Input):
    campaign_id: int = Field(ge=1, le=2**63 - 1)
    reference: str = Field(min_length=1, max_length=128, examples=["WEB-2026-000123"])
    channel: Annotated[Channel, Members(_CHANNELS_IN)]
    phone: str | None = Field(default=None, max_length=64)
    contract_number: str | None = Field(default=None, max_length=64)
    external_id: str | None = Field(default=None, max_length=128)
    occurred_at: InstantIn | None = Field(default=None, description="default: now")

    def report(self) -> ConversionReport:
        return ConversionReport(
            campaign_id=self.campaign_id,
            reference=self.reference,
            channel=self.channel,
            occurred_at=self.occurred_at.astimezone(UTC) if self.occurred_at else None,
            phone=self.phone,
            contract_number=self.contract_number,
            external_id=self.external_id,
            raw=self.model_dump(mode="json", exclude_none=True),
        )


class CreditOut(BaseModel):
    agent_id: int
    kind: CreditKind
    amount: int
    at: Instant
    reason: str


class ConversionOut(BaseModel):
    id: int
    campaign_id: int
    reference: str
    channel: Channel
    lead_id: int | None
    agent_id: int | None
    attribution: Attribution
    status: ConversionStatus
    occurred_at: Instant
    phone: str | None
    contract_number: str | None
    external_id: str | None
    call_id: int | None
    duplicate_of_id: int | None
    source: str
    matched_at: Instant | None
    cancelled_at: Instant | None
    cancel_reason: str | None
    created_at: Instant
    credit: list[CreditOut]


class ConversionList(BaseModel):
    items: list[ConversionOut]
    next_cursor: str | None = None


class CancelIn(Input):
    reason: str = Field(min_length=1, max_length=2000, examples=["cooling-off (クーリングオフ)"])


class MatchIn(Input):
    lead_id: int = Field(ge=1, le=2**63 - 1)


class ConversionImportOut(BaseModel):
    encoding: str
    delimiter: str
    rows: int
    created: int
    already_reported: int
    matched: int
    unmatched: int
    duplicates: int
    invalid: int
    errors: list[RowErrorOut]
