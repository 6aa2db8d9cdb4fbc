from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from dialer.agents.models import AgentState
from dialer.agents.order import ClaimReason
from dialer.leads.schemas import IdleReason, LeadOut, QueueOut
from dialer.promises.schemas import PromiseOut
from dialer.wire import Input, Instant


class AgentCreate(Input):
    name: str = Field(min_length=1, max_length=200)
    campaign_ids: list[int] = Field(default_factory=list)
    endpoint: str | None = Field(
        default=None,
        max_length=200,
        description="where answered calls are bridged: a phone number or client:<identity>",
    )

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if value.startswith("client:"):
            if len(value) == len("client:"):
                raise ValueError("client: needs an identity, e.g. client:sato")
            return value
        import phonenumbers

        try:
            parsed = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException as exc:
            raise ValueError("a phone number in E.164 (+81...) or client:<identity>") from exc
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class AgentUpdate(Input):
    campaign_ids: list[int]


class AgentOut(BaseModel):
    id: int
    name: str
    campaign_ids: list[int]
    endpoint: str | None
    state: AgentState
    created_at: Instant


class AgentCreated(AgentOut):
    token: str = Field(description="shown only in this response")


class AgentList(BaseModel):
    items: list[AgentOut]
    next_cursor: str | None = None


class AgentStateIn(Input):
    state: AgentState


class NextLeadOut(BaseModel):
    lead: LeadOut
    reason: ClaimReason
    promise: PromiseOut | None
    claim_expires_at: Instant


class AgentQueueOut(BaseModel):
    """The queue diagnosis of each of the agent's campaigns, as its queue sees
    them, and when something next becomes callable for it."""

    agent_id: int
    state: AgentState
    claimed_lead_id: int | None = Field(description="the lead it holds a claim on, if any")
    callable_now: int
    promises_due: int = Field(description="promises it may keep now: its own and anyone's")
    next_callable_at: Instant | None
    waiting_on: IdleReason | None
    detail: str
    campaigns: list[QueueOut]


class NothingCallableOut(BaseModel):
    """`POST /api/agents/{id}/next?explain=true` when nothing is callable now."""

    lead: None = None
    reason: IdleReason
    next_callable_at: Instant | None
    retry_after: int | None = Field(
        description="seconds (clock time) until next_callable_at; also sent as Retry-After"
    )
    detail: str
