from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, or_, text
from sqlmodel import Field, SQLModel, col

from dialer.db import instant_column


class CallStatus(StrEnum):
    queued = "queued"
    ringing = "ringing"
    in_progress = "in-progress"
    completed = "completed"
    busy = "busy"
    no_answer = "no-answer"
    failed = "failed"
    canceled = "canceled"


FINAL_CALL_STATUSES: frozenset[str] = frozenset(
    {
        CallStatus.completed,
        CallStatus.busy,
        CallStatus.no_answer,
        CallStatus.failed,
        CallStatus.canceled,
    }
)
# Queued, ringing or talking: every status but the final ones.
LIVE_CALL_STATUSES: frozenset[str] = frozenset(CallStatus) - FINAL_CALL_STATUSES

# Status callbacks arrive repeated and out of order; a status only ever moves forward.
CALL_STATUS_RANK: dict[str, int] = {
    CallStatus.queued: 0,
    CallStatus.ringing: 1,
    CallStatus.in_progress: 2,
    CallStatus.completed: 3,
    CallStatus.busy: 3,
    CallStatus.no_answer: 3,
    CallStatus.failed: 3,
    CallStatus.canceled: 3,
}


class AnsweredBy(StrEnum):
    human = "human"
    machine = "machine"
    unknown = "unknown"


class Outcome(StrEnum):
    converted = "converted"
    callback = "callback"
    will_self_apply = "will_self_apply"
    not_interested = "not_interested"
    refused = "refused"
    dnc = "dnc"
    wrong_number = "wrong_number"
    no_answer = "no_answer"
    busy = "busy"
    machine = "machine"
    failed = "failed"
    # The customer answered and no agent could take the call (progressive dialing).
    abandoned = "abandoned"


# Answered by a person: whatever machine detection said, an abandoned call was
# answered by someone no agent could take (the abandon rate's denominator).
ANSWERED_PREDICATE = "answered_by = 'human' OR disposition = 'abandoned'"


class Call(SQLModel, table=True):
    __table_args__ = (
        Index("ix_call_lead", "lead_id", "id"),
        Index("ix_call_sim_due", "sim_final_at"),
        # Call lists (dialer.views.calls), newest first: by agent, by campaign, or
        # all of them, each a range of one index in the order it is shown. The
        # first two also serve every lookup by agent or campaign alone.
        Index("ix_call_agent_created", "agent_id", "created_at", "id"),
        Index("ix_call_campaign_created", "campaign_id", "created_at", "id"),
        Index("ix_call_created", "created_at", "id"),
        # The abandon standing (dialer.calls.abandon), read every tick: the
        # calls a person answered (abandoned ones included), by campaign and time.
        Index(
            "ix_call_campaign_answered",
            "campaign_id",
            "created_at",
            # Covering: the count of abandoned ones reads the index alone.
            "disposition",
            sqlite_where=text(ANSWERED_PREDICATE),
            postgresql_where=text(ANSWERED_PREDICATE),
        ),
        # The `connect_waiting` due job: answered calls waiting for an agent, few.
        Index(
            "ix_call_connect_by",
            "connect_by_at",
            sqlite_where=text("connect_by_at IS NOT NULL"),
            postgresql_where=text("connect_by_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id")
    campaign_id: int = Field(foreign_key="campaign.id")
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    to: str = Field(sa_type=String(20))
    from_: str | None = Field(default=None, sa_type=String(20))
    status: str = Field(default=CallStatus.queued, sa_type=String(16))
    answered_by: str | None = Field(default=None, sa_type=String(16))
    provider: str = Field(sa_type=String(16))
    provider_sid: str | None = Field(default=None, sa_type=String(64), index=True)
    # Called for a promise or its follow-ups: customer-requested, outside the caps.
    for_promise: bool = False
    created_at: datetime = Field(sa_column=instant_column(nullable=False))
    answered_at: datetime | None = Field(default=None, sa_column=instant_column())
    ended_at: datetime | None = Field(default=None, sa_column=instant_column())
    duration: int | None = None
    disposition: str | None = Field(default=None, sa_type=String(24))
    dispositioned_at: datetime | None = Field(default=None, sa_column=instant_column())
    dispositioned_by: str | None = Field(default=None, sa_type=String(64))
    note: str | None = None
    # The provider's last applied SequenceNumber: callbacks arrive repeated and out
    # of order, and one older than what was applied changes nothing.
    provider_seq: int | None = None
    # How the bridge to the agent ended (Twilio's `DialCallStatus`: completed,
    # answered, busy, no-answer, failed, canceled); None until it is reported.
    agent_leg_status: str | None = Field(default=None, sa_type=String(16))
    # Why the provider could not be asked, or its answer is not known (a create
    # that timed out): the reconciliation tick settles the latter.
    provider_error: str | None = Field(default=None, sa_type=String(500))
    # Simulated telephony: when the scripted/unscripted unanswered outcome lands.
    sim_outcome: str | None = Field(default=None, sa_type=String(16))
    sim_final_at: datetime | None = Field(default=None, sa_column=instant_column())
    # False for a predictive call placed with no agent: the answered call goes to
    # whoever is free (dialer.calls.connect). Preview, progressive and promise
    # calls have their agent from the start.
    agent_reserved: bool = True
    # An answered unreserved call waiting for an agent: when it is abandoned if
    # nobody is free by then (answered_at + the policy's connect_seconds).
    connect_by_at: datetime | None = Field(default=None, sa_column=instant_column())
    # Bridged to its agent (a reserved call: when it was answered).
    connected_at: datetime | None = Field(default=None, sa_column=instant_column())


class InboundRoute(StrEnum):
    """Who an incoming call went to, and why (the routing order)."""

    promise_owner = "promise_owner"
    last_agent = "last_agent"
    any_agent = "any_agent"
    nobody = "nobody"


class InboundCall(SQLModel, table=True):
    """A customer ringing the campaign's caller id. Its own table, not a `Call`:
    a call row is an attempt of ours (counted against the caps, retried,
    dispositioned), and an unknown caller has no lead at all."""

    __tablename__ = "inbound_call"
    __table_args__ = (
        Index("ix_inbound_call_campaign", "campaign_id", "id"),
        Index("ix_inbound_call_lead", "lead_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    # None: nobody of the campaign has the caller's number (kept for a manager).
    lead_id: int | None = Field(default=None, foreign_key="lead.id")
    # As the provider gave it (E.164 when it parses; "anonymous" and the like too).
    from_: str = Field(sa_type=String(32))
    to: str = Field(sa_type=String(32))
    provider: str = Field(sa_type=String(16))
    # Twilio's CallSid: a repeated webhook finds the call and answers the same.
    provider_sid: str | None = Field(default=None, sa_type=String(64), unique=True)
    routed_to: str = Field(sa_type=String(16))
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    # The lead was claimed for the agent (a closed lead, or one held by another
    # agent, is shown to the agent without a claim).
    claimed: bool = False
    # The promise kept by the agent taking the call, or booked for when nobody could.
    promise_id: int | None = Field(default=None, foreign_key="promise.id")
    created_at: datetime = Field(sa_column=instant_column(nullable=False))


def contact_clause() -> Any:
    """A contact, in SQL: a person answered and an agent spoke with them. An
    abandoned call (nobody could take the person) is not one, nor a call whose
    answerer is `unknown` (no machine detection, no disposition yet)."""
    return (col(Call.answered_by) == AnsweredBy.human) & or_(
        col(Call.disposition).is_(None), col(Call.disposition) != Outcome.abandoned
    )
