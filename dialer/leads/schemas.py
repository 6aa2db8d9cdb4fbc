from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field

from dialer.calls.schemas import CallOut
from dialer.campaign.hours import ClosedBy
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


class ImportCounts(BaseModel):
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
    # The uploaded file's size, and how far the processing has read it (the
    # rows processed as a fraction; equal once done).
    size_bytes: int
    bytes_read: int
    error: str | None


class ImportOut(ImportCounts):
    errors: list[RowErrorOut]


class ImportSummary(ImportCounts):
    """An import in a campaign's list: its counts and who ran it when; the rows
    it refused are at GET /api/imports/{id} and its errors.csv."""

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


class IdleReason(StrEnum):
    """Why nothing is callable now: the rule whose lifting comes first (the
    blocking rules of the same name), or what holds everything with no end."""

    calling_hours = "calling_hours"
    holiday = "holiday"
    retry_delay = "retry_delay"
    daily_limit = "daily_limit"
    promise_pending = "promise_pending"
    claimed = "claimed"
    campaign_paused = "campaign_paused"
    # Nothing left to call: every lead is closed (or there are none).
    no_leads = "no_leads"
    # An agent assigned to no campaign.
    no_campaigns = "no_campaigns"
    # Leads are callable, yet none could be claimed in this request (another
    # agent took them first, or the dial-time checks moved them out): ask again.
    contended = "contended"


class ZoneOut(BaseModel):
    """A lead time zone of the campaign with leads still to call, and its hours now."""

    timezone: str
    leads: int = Field(description="leads of this zone still to call (new, scheduled, claimed)")
    open: bool
    closed_by: ClosedBy | None
    holiday: str | None = Field(description="the public holiday closing the lines, by name")
    opens_at: Instant | None = Field(description="when closed: the next opening")
    closes_at: Instant | None = Field(description="when open: the end of the open stretch")


class QueueOut(BaseModel):
    campaign_id: int
    callable_now: int
    blocked: dict[BlockRule, int]
    promises_due: int = Field(
        description="promises scheduled, due and inside their window (not yet missed)"
    )
    next_due_at: Instant | None
    next_callable_at: Instant | None = Field(
        description="the earliest instant something may become callable; now when something is"
    )
    waiting_on: IdleReason | None = Field(
        description="what lifts first when nothing is callable now; null when something is"
    )
    zones: list[ZoneOut]


class OpeningItemOut(BaseModel):
    key: str = Field(description="seller, agent_name or purpose, in the order they are said")
    value: str | None = Field(description="null: not set on the campaign (purpose)")


class ScriptOut(BaseModel):
    """The campaign's script for one lead, and the identity the call opens with
    (特定商取引法 §16: seller, the agent's name, the purpose, before any pitch)."""

    lead_id: int
    campaign_id: int
    text: str = Field(description="the script with the lead's fields filled in")
    opening: list[OpeningItemOut]
    unfilled: list[str] = Field(
        description="placeholders left as written (unknown, or no value for this lead)",
        examples=[["{contract_number}"]],
    )


class PreviewColumn(BaseModel):
    index: int
    header: str
    # The canonical column it fills; null: kept in the lead's `extra`.
    field: str | None


class PreviewError(BaseModel):
    row: int
    field: str
    reason: str


class ImportPreviewOut(BaseModel):
    filename: str | None
    encoding: str
    delimiter: str
    columns: list[PreviewColumn]
    fields: list[str]
    rows: list[list[str]]
    has_phone: bool
    errors: list[PreviewError]
