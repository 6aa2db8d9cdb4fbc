from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from dialer.calls.models import AnsweredBy, CallStatus, InboundRoute, Outcome
from dialer.calls.outcomes import AGENT_OUTCOMES
from dialer.promises.schemas import PromiseIn
from dialer.wire import Input, Instant, Members


class CallCreate(Input):
    phone: str | None = Field(
        default=None, description="one of the lead's phones; default the first callable"
    )


class CallOut(BaseModel):
    id: int
    lead_id: int
    agent_id: int | None
    campaign_id: int
    to: str
    status: CallStatus
    answered_by: AnsweredBy | None
    provider_sid: str | None
    created_at: Instant
    answered_at: Instant | None
    ended_at: Instant | None
    duration: int | None
    disposition: str | None
    note: str | None
    agent_leg_status: str | None = Field(
        default=None,
        description="how the bridge to the agent ended (Twilio's DialCallStatus); null "
        "until reported",
    )
    agent_reserved: bool = Field(
        default=True,
        description="placed for its agent; false for a predictive call placed with no "
        "agent (one is chosen when it is answered)",
    )
    connected_at: Instant | None = Field(
        default=None, description="bridged to its agent (a reserved call: when answered)"
    )
    connect_by_at: Instant | None = Field(
        default=None,
        description="an answered unreserved call waiting for an agent: abandoned then if "
        "nobody is free",
    )


class DispositionIn(Input):
    outcome: Annotated[Outcome, Members(AGENT_OUTCOMES)]
    note: str | None = Field(default=None, max_length=10_000)
    contract_number: str | None = Field(default=None, max_length=64)
    promise: PromiseIn | None = Field(
        default=None,
        description="with `callback`: the promise to book, as for POST /api/leads/{id}/promises",
    )

    def outcome_enum(self) -> Outcome:
        return self.outcome


class CallList(BaseModel):
    items: list[CallOut]
    next_cursor: str | None


class InboundOut(BaseModel):
    """A customer's call to the campaign's caller id, and where it went."""

    model_config = ConfigDict(populate_by_name=True, from_attributes=True)

    id: int
    campaign_id: int
    lead_id: int | None = Field(description="null: the caller matched no lead (unmatched)")
    from_: str = Field(alias="from", description="the caller's number")
    to: str = Field(description="the number dialled: the campaign's caller id")
    routed_to: InboundRoute
    agent_id: int | None = Field(description="the agent the call went to; null: nobody free")
    claimed: bool = Field(description="the lead was claimed for that agent")
    promise_id: int | None = Field(
        description="the promise kept by the agent, or booked because nobody was free"
    )
    provider: str
    provider_sid: str | None
    created_at: Instant


class InboundList(BaseModel):
    items: list[InboundOut]
    next_cursor: str | None
