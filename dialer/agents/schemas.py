from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator

from dialer.agents.models import AgentState, Role, StateReason
from dialer.agents.order import ClaimReason
from dialer.agents.signin import PASSWORD_MAX, PASSWORD_MIN
from dialer.leads.schemas import IdleReason, LeadOut, QueueOut
from dialer.promises.schemas import PromiseOut
from dialer.wire import Input, Instant, Members

# Ids are 64-bit, also inside lists: a larger one must not reach the driver.
CampaignId = Annotated[int, Field(ge=1, le=2**63 - 1)]
AgentId = Annotated[int, Field(ge=1, le=2**63 - 1)]
# An agent works a handful of campaigns; a list longer than this is a mistake.
MAX_CAMPAIGNS_PER_AGENT = 1000

Name = Annotated[str, Field(min_length=1, max_length=200)]
Endpoint = Annotated[
    str | None,
    Field(
        max_length=200,
        description="where answered calls are bridged: a phone number or client:<identity>",
    ),
]


def _strip(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
    return value


def _e164_or_client(value: str | None) -> str | None:
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


class AgentCreate(Input):
    name: Name
    role: Role = Field(default=Role.agent, description="agent (takes leads) or manager")
    campaign_ids: list[CampaignId] = Field(default_factory=list, max_length=MAX_CAMPAIGNS_PER_AGENT)
    endpoint: Endpoint = None
    password: str | None = Field(
        default=None,
        min_length=PASSWORD_MIN,
        max_length=PASSWORD_MAX,
        description="the sign-in password, set with the account (see PUT …/password)",
    )

    _name = field_validator("name", mode="before")(_strip)
    _endpoint = field_validator("endpoint")(_e164_or_client)


class AgentUpdate(Input):
    """Only the fields given change (`endpoint: null` clears it)."""

    name: Name | None = None
    campaign_ids: list[CampaignId] | None = Field(default=None, max_length=MAX_CAMPAIGNS_PER_AGENT)
    endpoint: Endpoint = None

    _name = field_validator("name", mode="before")(_strip)
    _endpoint = field_validator("endpoint")(_e164_or_client)

    @field_validator("name", "campaign_ids")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may be left out, not null")
        return value

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class RoleFilter(StrEnum):
    """`GET /api/agents?role=`: one role, or both."""

    agent = "agent"
    manager = "manager"
    any = "any"


class AgentOut(BaseModel):
    id: int
    name: str
    role: Role
    active: bool
    deactivated_at: Instant | None
    campaign_ids: list[int]
    endpoint: str | None
    state: AgentState
    pause_code: str | None = Field(description="the pause code chosen with `paused`, if any")
    state_changed_at: Instant = Field(description="when the state (or pause code) last changed")
    wrapup_until: Instant | None = Field(
        description="wrapping up after a disposition until then: no next lead before"
    )
    state_reason: StateReason | None = Field(
        description="null, or why the system set the state (`connection_lost`)"
    )
    created_at: Instant
    has_password: bool = Field(description="whether the account can sign in in a browser")


class AgentCreated(AgentOut):
    token: str = Field(description="shown only in this response")


class AgentList(BaseModel):
    items: list[AgentOut]
    next_cursor: str | None = None


class DeactivateIn(Input):
    promises_to: AgentId | None = Field(
        default=None,
        description=(
            "for campaigns with on_missed: keep, the agent who takes this agent's promises "
            "(else they go to anyone); campaigns with on_missed: reassign give them to anyone"
        ),
    )


class HandedOverOut(BaseModel):
    lead_id: int
    promise_id: int | None
    to_agent_id: int | None = Field(description="null: anyone on the campaign")
    on_missed: str


class AgentDeactivated(AgentOut):
    released_lead_id: int | None = Field(description="the lead whose claim was released")
    handed_over: list[HandedOverOut]


class AccountEventOut(BaseModel):
    id: int
    kind: str
    actor: str
    at: Instant
    detail: dict[str, Any]


class AccountEventList(BaseModel):
    items: list[AccountEventOut]
    next_cursor: str | None = None


# What an agent or a manager may set; `not_answering` is the system's alone.
SETTABLE_STATES = frozenset({AgentState.available, AgentState.paused, AgentState.offline})


class AgentStateIn(Input):
    state: Annotated[AgentState, Members(SETTABLE_STATES)]
    pause_code: str | None = Field(
        default=None,
        max_length=200,
        description="with `paused` only: one of the `pause_codes` of a campaign the agent is on",
        examples=["休憩"],
    )

    _pause_code = field_validator("pause_code", mode="before")(_strip)


class NextLeadOut(BaseModel):
    lead: LeadOut
    reason: ClaimReason
    promise: PromiseOut | None
    claim_expires_at: Instant


class StreamTicketOut(BaseModel):
    ticket: str = Field(
        description="for GET /api/agents/{id}/events?ticket=…: that agent's event stream only"
    )
    expires_at: Instant = Field(description="60 s after it was given; reconnect with a new one")


class VoiceTokenOut(BaseModel):
    token: str = Field(
        description="a Twilio Access Token (JWT) with a VoiceGrant: Twilio's Voice SDK"
        " registers with it as `identity` and receives the calls bridged to the agent"
    )
    identity: str = Field(description="the agent's endpoint `client:<identity>`, without `client:`")
    expires_at: Instant = Field(
        description="when Twilio stops accepting it (DIALER_VOICE_TOKEN_TTL_SECONDS after"
        " it was given); ask for a new one before"
    )


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


class PasswordIn(Input):
    password: str = Field(
        min_length=PASSWORD_MIN,
        max_length=PASSWORD_MAX,
        description=f"{PASSWORD_MIN}-{PASSWORD_MAX} characters, not the account's name",
    )
    current_password: str | None = Field(
        default=None,
        max_length=PASSWORD_MAX,
        description="an agent changing its own password: the one it has now (managers omit it)",
    )


class SignInIn(Input):
    name: str = Field(min_length=1, max_length=200, description="the account's name")
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class SessionOut(BaseModel):
    agent: AgentOut
    csrf_token: str = Field(
        description="send it as X-CSRF-Token with every request that changes something"
    )
    expires_at: Instant = Field(
        description="when the session ends unless used (the sooner of its absolute and idle end)"
    )
