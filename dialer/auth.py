"""Bearer tokens: random, shown once, stored only as a SHA-256 digest.

Tokens are 256-bit random strings, so a fast digest is enough (no password
stretching needed); the digest is looked up by index and then compared with
`hmac.compare_digest` so a near-match costs the same time as a miss.

A token is checked on every request, inside the request's own transaction
(`dialer.web`), so a rotated token or a deactivated account stops working for
the very next request: there is no session or cache to outlive it."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.models import AccountEvent, Agent, AgentState, Role
from dialer.errors import Forbidden, Unauthorized


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def authenticate(session: Session, *, authorization: str | None) -> Agent:
    if not authorization:
        raise Unauthorized("missing Authorization: Bearer <token>", code="missing_token")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization must be 'Bearer <token>'", code="missing_token")
    digest = hash_token(token.strip())
    principal = session.scalar(select(Agent).where(col(Agent.token_hash) == digest))
    if principal is None or not hmac.compare_digest(principal.token_hash, digest):
        raise Unauthorized("unknown token", code="unknown_token")
    require_active(principal)
    return principal


def require_active(principal: Agent) -> None:
    """A deactivated account acts no more, whatever credential it shows."""
    if not principal.active:
        raise Unauthorized(
            f"account {principal.id} was deactivated; a manager can reactivate it",
            code="account_deactivated",
        )


def holds_token(agent: Agent, *, token: str | None) -> bool:
    """Whether `token` is this account's: the bootstrap token's manager is the
    environment's to change, not the API's."""
    if not token:
        return False
    return hmac.compare_digest(agent.token_hash, hash_token(token))


def require_manager(principal: Agent) -> None:
    if principal.role != Role.manager:
        raise Forbidden("managers only", code="manager_only")


def require_self_or_manager(principal: Agent, *, agent_id: int) -> None:
    if principal.role != Role.manager and principal.id != agent_id:
        raise Forbidden("agents may act only for themselves", code="not_your_resource")


def ensure_manager_token(session: Session, *, token: str, now: datetime) -> Agent:
    """DIALER_BOOTSTRAP_TOKEN: make sure an active manager holding this token
    exists. The environment is the break-glass way in, so a start-up with the
    variable set reactivates its manager (a deactivation is for accounts the
    environment no longer names)."""
    digest = hash_token(token)
    existing = session.scalar(select(Agent).where(col(Agent.token_hash) == digest))
    if existing is not None:
        if existing.role != Role.manager:
            existing.role = Role.manager
        if not existing.active:
            assert existing.id is not None
            existing.active = True
            existing.deactivated_at = None
            session.add(
                AccountEvent(
                    agent_id=existing.id,
                    kind="reactivated",
                    actor="system",
                    at=now,
                    detail={"why": "DIALER_BOOTSTRAP_TOKEN names this manager"},
                )
            )
        return existing
    manager = Agent(
        name="bootstrap manager",
        role=Role.manager,
        token_hash=digest,
        state=AgentState.offline,
        created_at=now,
        state_changed_at=now,
    )
    session.add(manager)
    session.flush()
    assert manager.id is not None
    session.add(
        AccountEvent(
            agent_id=manager.id,
            kind="created",
            actor="system",
            at=now,
            detail={"role": Role.manager.value, "why": "DIALER_BOOTSTRAP_TOKEN"},
        )
    )
    return manager


def actor_of(principal: Agent) -> str:
    """How a principal is named in a lead's history: `agent:7`, `manager:1`."""
    return f"{principal.role}:{principal.id}"
