from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from dialer.db import instant_column


class PromiseStatus(StrEnum):
    scheduled = "scheduled"
    kept = "kept"
    missed = "missed"
    cancelled = "cancelled"
    rescheduled = "rescheduled"


# What holds a slot: a cancelled or replaced promise gives its capacity back; a
# kept or missed one was a commitment of the agent's time at that slot all the same.
SLOT_HOLDING_STATUSES: frozenset[str] = frozenset(
    {PromiseStatus.scheduled, PromiseStatus.kept, PromiseStatus.missed}
)


class PromiseOwner(StrEnum):
    me = "me"
    anyone = "anyone"


class MadeBy(StrEnum):
    agent = "agent"
    customer = "customer"


class Promise(SQLModel, table=True):
    """A booked callback. Its lead carries the schedule it implies (`next_attempt_at`,
    `reserved_agent_id`, `reserved_until`), so the queue needs no join to honour it."""

    __table_args__ = (
        Index("ix_promise_lead", "lead_id", "id"),
        Index("ix_promise_owner_slot", "agent_id", "slot_start"),
        Index("ix_promise_campaign_slot", "campaign_id", "slot_start"),
        Index("ix_promise_due", "status", "due_notified_at", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id")
    campaign_id: int = Field(foreign_key="campaign.id")
    # The owner; None for a promise any agent of the campaign may keep.
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    # Who booked it: counts as "made" for that agent (None when a manager booked).
    booked_by_agent_id: int | None = Field(default=None, foreign_key="agent.id", index=True)
    booked_by: str = Field(sa_type=String(64))
    made_by: str = Field(default=MadeBy.agent, sa_type=String(16))
    kind: str = Field(sa_type=String(16))  # in_minutes | at | window
    note: str | None = None
    due_at: datetime = Field(sa_column=instant_column(nullable=False))
    window_end: datetime = Field(sa_column=instant_column(nullable=False))
    slot_start: datetime = Field(sa_column=instant_column(nullable=False))
    status: str = Field(default=PromiseStatus.scheduled, sa_type=String(16))
    # The call during which it was booked: a `callback` disposition of that call
    # confirms it without booking again.
    call_id: int | None = Field(default=None, foreign_key="call.id")
    kept_call_id: int | None = Field(default=None, foreign_key="call.id")
    # Follow-up attempts made after the customer did not answer the kept call.
    followups: int = 0
    due_notified_at: datetime | None = Field(default=None, sa_column=instant_column())
    replaced_by_id: int | None = Field(default=None)
    closed_at: datetime | None = Field(default=None, sa_column=instant_column())
    closed_reason: str | None = Field(default=None, sa_type=String(200))
    created_at: datetime = Field(sa_column=instant_column(nullable=False))
    updated_at: datetime = Field(sa_column=instant_column(nullable=False))


@dataclass(frozen=True, slots=True)
class PromiseRequest:
    in_minutes: int | None = None
    at: datetime | None = None
    window: tuple[datetime, datetime] | None = None
    owner: PromiseOwner | None = None
    agent_id: int | None = None  # managers: book for this agent
    made_by: MadeBy = MadeBy.agent
    note: str | None = None
