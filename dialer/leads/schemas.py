from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel

from dialer.calls.schemas import CallOut
from dialer.conversions.attribution import Attribution
from dialer.conversions.models import Channel, ConversionStatus
from dialer.leads.eligibility import BlockRule
from dialer.leads.models import ImportStatus, LeadStatus
from dialer.promises.schemas import PromiseOut
from dialer.wire import Instant, Members

# Every status but the internal `importing`, which no answer may ever show.
PUBLIC_LEAD_STATUSES: tuple[LeadStatus, ...] = tuple(
    s for s in LeadStatus if s is not LeadStatus.importing
)
PublicLeadStatus = Annotated[LeadStatus, Members(PUBLIC_LEAD_STATUSES)]


class PhoneOut(BaseModel):
    number: str
    retired: bool


class ContactOut(BaseModel):
    name: str
    role: str


class LeadOut(BaseModel):
    id: int
    campaign_id: int
    status: PublicLeadStatus
    name: str | None
    company: str | None
    priority: int
    current_provider: str | None
    contract_number: str | None
    postal_code: str | None
    prefecture: str | None
    timezone: str
    external_id: str | None
    notes: str | None
    phones: list[PhoneOut]
    contacts: list[ContactOut]
    attempts: int
    next_attempt_at: Instant | None
    last_attempt_at: Instant | None
    last_outcome: str | None
    promise_id: int | None = None
    reserved_agent_id: int | None = None
    reserved_until: Instant | None = None
    import_id: int | None
    extra: dict[str, Any]
    raw: dict[str, Any]
    created_at: Instant
    updated_at: Instant


class EventOut(BaseModel):
    at: Instant
    kind: str
    actor: str
    detail: dict[str, Any]


class LeadConversionOut(BaseModel):
    id: int
    reference: str
    channel: Channel
    agent_id: int | None
    attribution: Attribution
    status: ConversionStatus
    occurred_at: Instant


class LeadDetail(LeadOut):
    calls: list[CallOut]
    promises: list[PromiseOut]
    conversions: list[LeadConversionOut]
    events: list[EventOut]


class LeadList(BaseModel):
    items: list[LeadOut]
    next_cursor: str | None


class RowErrorOut(BaseModel):
    row: int
    field: str | None
    reason: str


class ImportOut(BaseModel):
    id: int
    campaign_id: int
    status: ImportStatus
    filename: str | None
    encoding: str | None
    delimiter: str | None
    rows: int
    accepted: int
    duplicates: int
    invalid: int
    suppressed: int
    error: str | None
    errors: list[RowErrorOut]


class ImportSummary(BaseModel):
    """An import in a campaign's list: its counts and who ran it when; the rows
    it refused are at GET /api/imports/{id} and its errors.csv."""

    id: int
    campaign_id: int
    status: ImportStatus
    filename: str | None
    encoding: str | None
    delimiter: str | None
    rows: int
    accepted: int
    duplicates: int
    invalid: int
    suppressed: int
    error: str | None
    created_by: str
    created_at: Instant
    finished_at: Instant | None


class ImportList(BaseModel):
    items: list[ImportSummary]
    next_cursor: str | None


class BlockOut(BaseModel):
    rule: BlockRule
    until: Instant | None
    detail: str


class EligibilityOut(BaseModel):
    lead_id: int
    callable: bool
    next_callable_at: Instant | None
    blocked_by: list[BlockOut]


class QueueOut(BaseModel):
    campaign_id: int
    callable_now: int
    blocked: dict[BlockRule, int]
    promises_due: int
    next_due_at: Instant | None
