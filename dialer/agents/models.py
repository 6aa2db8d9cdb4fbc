from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from dialer.db import instant_column, json_column


class Role(StrEnum):
    manager = "manager"
    agent = "agent"


class AgentState(StrEnum):
    available = "available"
    paused = "paused"
    offline = "offline"
    # Paused by the system: the agent's endpoint rang for an answered customer and
    # nobody picked up. Gets no leads until the agent (or a manager) sets
    # `available` again.
    not_answering = "not_answering"


class StateReason(StrEnum):
    """Why the system (not a person) set an agent's state."""

    connection_lost = "connection_lost"


class Agent(SQLModel, table=True):
    """Agents and managers alike: both are principals holding a bearer token."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=String(200))
    role: str = Field(default=Role.agent, sa_type=String(16))
    token_hash: str = Field(sa_type=String(64), unique=True, index=True)
    endpoint: str | None = Field(default=None, sa_type=String(200))
    state: str = Field(default=AgentState.available, sa_type=String(16))
    created_at: datetime = Field(sa_column=instant_column(nullable=False))
    state_changed_at: datetime = Field(sa_column=instant_column(nullable=False))
    # A deactivated account keeps its row (its calls, promises and credit name it)
    # but its token authenticates nothing and it is handed no lead.
    active: bool = True
    deactivated_at: datetime | None = Field(default=None, sa_column=instant_column())
    # The pause code chosen with `paused` (one of its campaigns' `pause_codes`).
    pause_code: str | None = Field(default=None, sa_type=String(40))
    # Why the system set the state (`connection_lost`); None when a person did.
    state_reason: str | None = Field(default=None, sa_type=String(32))
    # After a disposition the agent wraps up until then: no next lead, no
    # progressive call (the campaign's `wrapup_seconds`).
    wrapup_until: datetime | None = Field(default=None, sa_column=instant_column())
    # When the agent last became free (a claim released, set available): with
    # `state_changed_at` and `wrapup_until`, the latest of them orders agents
    # "longest waiting first" for an answered call (dialer.calls.connect).
    free_since: datetime | None = Field(default=None, sa_column=instant_column())
    # Presence of the agent's own event stream: None while connected (or never
    # connected), the instant the latest connection dropped otherwise. Only the
    # latest connection (`stream_connection`) may mark it lost.
    stream_lost_at: datetime | None = Field(default=None, sa_column=instant_column())
    stream_connection: str | None = Field(default=None, sa_type=String(36))
    # Browser sign-in (`dialer.agents.passwords`): the Argon2id hash, and the
    # name folded for matching (`signin.normalize_name`). Set together, so the
    # unique column keeps two accounts with passwords from sharing a sign-in name;
    # NULL for accounts without one (NULLs never collide).
    password_hash: str | None = Field(default=None, sa_type=String(200))
    sign_in_name: str | None = Field(default=None, sa_type=String(200), unique=True, index=True)

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None


class AgentCampaign(SQLModel, table=True):
    __tablename__ = "agent_campaign"

    agent_id: int = Field(foreign_key="agent.id", primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True, index=True)


class Claim(SQLModel, table=True):
    """An agent's lease on one lead. Unique on both sides: one claim per agent,
    one per lead — the database itself forbids a lead held by two agents.
    A dialer claim (predictive dialing, reason `predictive`) has no agent yet:
    NULLs never collide, so the dialer holds many; the agent who takes the
    answered call is written in when it is connected (dialer.calls.connect)."""

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", unique=True)
    agent_id: int | None = Field(default=None, foreign_key="agent.id", unique=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    reason: str = Field(sa_type=String(16))
    prev_status: str = Field(sa_type=String(24))
    claimed_at: datetime = Field(sa_column=instant_column(nullable=False))
    claim_expires_at: datetime = Field(sa_column=instant_column(nullable=False, index=True))


class AgentEvent(SQLModel, table=True):
    """What an agent's event stream sends, written in the transaction that caused
    it: every web worker serves the same events, and a restart loses none. Events
    for everyone on a campaign (a promise for anyone) have no `agent_id`."""

    __tablename__ = "agent_event"
    __table_args__ = (Index("ix_agent_event_agent", "agent_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id")
    kind: str = Field(sa_type=String(32))
    at: datetime = Field(sa_column=instant_column(nullable=False))
    payload: dict[str, Any] = Field(sa_column=json_column())


class AccountEvent(SQLModel, table=True):
    """What happened to an account, and who did it: created, renamed, reassigned
    to campaigns, given a new token, deactivated, reactivated. Append-only, like
    a lead's history; never a token, only that one was issued."""

    __tablename__ = "account_event"
    __table_args__ = (Index("ix_account_event_agent", "agent_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id")
    kind: str = Field(sa_type=String(32))
    actor: str = Field(sa_type=String(64))
    at: datetime = Field(sa_column=instant_column(nullable=False))
    detail: dict[str, Any] = Field(sa_column=json_column())


class WebSession(SQLModel, table=True):
    """A browser's signed-in session. The cookie holds a random token; only its
    SHA-256 digest is stored, looked up by index like a bearer token's. In the
    database, so every web worker and a restarted one accept it, and deleting
    the rows (sign-out, a new password, deactivation) revokes it at once."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_type=String(64), unique=True, index=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    csrf_token: str = Field(sa_type=String(64))
    created_at: datetime = Field(sa_column=instant_column(nullable=False))
    last_seen_at: datetime = Field(sa_column=instant_column(nullable=False))
    expires_at: datetime = Field(sa_column=instant_column(nullable=False))


class SignInFailure(SQLModel, table=True):
    """Consecutive failed sign-ins for one sign-in name (folded), whether or not
    an account has it, so an unknown name is slowed and locked like a known one.
    Shared by every worker; the row goes when a sign-in succeeds."""

    __tablename__ = "sign_in_failure"

    name: str = Field(sa_type=String(200), primary_key=True)
    failures: int = 0
    # Indexed: stale rows (guessed names) are forgotten by it (`passwords`).
    last_failed_at: datetime = Field(sa_column=instant_column(nullable=False, index=True))
    locked_until: datetime | None = Field(default=None, sa_column=instant_column())
