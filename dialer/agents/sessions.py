"""Browser sessions: what the session cookie names, kept in the database.

The cookie carries a random 256-bit token; the row keeps only its SHA-256
digest (as for bearer tokens, a fast digest is enough for a random secret), so
the lookup is one indexed read, like the bearer token's, and a copy of the
database opens no session. The row also keeps the session's CSRF token: a
request with the cookie that changes something must repeat it in
`X-CSRF-Token`, which a page of another site cannot read.

A session ends DIALER_SESSION_HOURS after sign-in, or after
DIALER_SESSION_IDLE_MINUTES unused; `last_seen_at` is written at most once a
minute, so a busy console costs a write a minute, not one a request. Signing
out deletes the row; a new password and a deactivation delete the account's
rows, so the cookie is refused from that commit on, by every worker.

Instants come in as `now`, like every rule of the domain; the callers pass the
runtime's session clock (real time, also under the simulated clock)."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.events import KEEP_ALIVE
from dialer.agents.models import Agent, WebSession
from dialer.auth import hash_token, require_active
from dialer.db import Database
from dialer.errors import Forbidden, Unauthorized

COOKIE = "dialer_session"
CSRF_HEADER = "X-CSRF-Token"
# How stale `last_seen_at` may get before a request writes it again.
TOUCH_EVERY = timedelta(minutes=1)
# Methods that change nothing, so need no CSRF token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Lifetime:
    """How long sessions last (DIALER_SESSION_HOURS, DIALER_SESSION_IDLE_MINUTES)."""

    absolute: timedelta
    idle: timedelta


@dataclass(frozen=True, slots=True)
class Opened:
    """A new session: the cookie's token is in this value only."""

    token: str
    row: WebSession


def no_session() -> Unauthorized:
    return Unauthorized(
        "no session: sign in with POST /api/session (the session cookie is missing, "
        "expired or signed out)",
        code="no_session",
    )


def open_session(session: Session, *, agent: Agent, now: datetime, lifetime: Lifetime) -> Opened:
    assert agent.id is not None
    token = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=hash_token(token),
        agent_id=agent.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime.absolute,
    )
    session.add(row)
    session.flush()
    return Opened(token=token, row=row)


def expires_at(row: WebSession, *, lifetime: Lifetime) -> datetime:
    """When the session ends if unused from now on: the sooner of its absolute
    end and its idle end."""
    return min(row.expires_at, row.last_seen_at + lifetime.idle)


def find(
    session: Session, *, token: str | None, now: datetime, lifetime: Lifetime
) -> tuple[WebSession, Agent]:
    """The live session a cookie names and its account; 401 `no_session` for a
    missing, unknown or expired one, 401 `account_deactivated` for an account
    that was deactivated."""
    if not token or len(token) > 200:
        raise no_session()
    digest = hash_token(token)
    # One indexed round trip, like the bearer token's lookup.
    found = session.execute(
        select(WebSession, Agent)
        .join(Agent, col(Agent.id) == col(WebSession.agent_id))
        .where(col(WebSession.token_hash) == digest)
    ).first()
    if found is None:
        raise no_session()
    row, agent = found
    if not hmac.compare_digest(row.token_hash, digest):
        raise no_session()
    if now >= expires_at(row, lifetime=lifetime):
        raise no_session()
    require_active(agent)
    return row, agent


def check_csrf(row: WebSession, *, method: str, header: str | None) -> None:
    """A request that may change something, sent with the cookie, repeats the
    session's CSRF token; a form or script of another site cannot know it."""
    if method.upper() in SAFE_METHODS:
        return
    if not header:
        raise Forbidden(
            f"{CSRF_HEADER} header missing: a request with the session cookie that changes "
            "something must send the session's csrf_token (from POST or GET /api/session)",
            code="csrf_missing",
        )
    if not hmac.compare_digest(header.encode("utf-8"), row.csrf_token.encode("utf-8")):
        raise Forbidden(
            f"{CSRF_HEADER} does not match this session's csrf_token", code="csrf_mismatch"
        )


def needs_touch(row: WebSession, *, now: datetime) -> bool:
    return now - row.last_seen_at >= TOUCH_EVERY


def touch(session: Session, *, session_id: int, now: datetime) -> None:
    """Note a use of the session (which pushes its idle end back). Conditional,
    so two workers touching at once write it once, and never backwards."""
    session.execute(
        update(WebSession)
        .where(col(WebSession.id) == session_id, col(WebSession.last_seen_at) < now)
        .values(last_seen_at=now)
    )


def close(session: Session, *, session_id: int) -> None:
    session.execute(delete(WebSession).where(col(WebSession.id) == session_id))


def close_by_token(session: Session, *, token: str) -> None:
    """End the session a cookie names, if it is one (whoever's it is)."""
    if len(token) <= 200:
        digest = hash_token(token)
        session.execute(delete(WebSession).where(col(WebSession.token_hash) == digest))


def revoke_all(session: Session, *, agent_id: int, keep_id: int | None = None) -> int:
    """End the account's sessions (all but `keep_id`); returns how many ended."""
    query = delete(WebSession).where(col(WebSession.agent_id) == agent_id)
    if keep_id is not None:
        query = query.where(col(WebSession.id) != keep_id)
    result = session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)


def purge_expired(session: Session, *, agent_id: int, now: datetime, lifetime: Lifetime) -> int:
    """Delete the account's sessions that ended (absolutely or idle), at its
    next sign-in: the table holds live sessions, not a log."""
    result = session.execute(
        delete(WebSession).where(
            col(WebSession.agent_id) == agent_id,
            (col(WebSession.expires_at) <= now)
            | (col(WebSession.last_seen_at) <= now - lifetime.idle),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def is_live(session: Session, *, session_id: int, now: datetime, lifetime: Lifetime) -> bool:
    """Whether a session still stands: not signed out, revoked or past its end."""
    row = session.get(WebSession, session_id)
    return row is not None and now < expires_at(row, lifetime=lifetime)


def _still_live(db: Database, session_id: int, now: datetime, lifetime: Lifetime) -> bool:
    with db.read() as session:
        return is_live(session, session_id=session_id, now=now, lifetime=lifetime)


def ending_with_session(
    frames: AsyncIterator[str],
    *,
    db: Database,
    session_id: int,
    clock: Callable[[], datetime],
    lifetime: Lifetime,
) -> AsyncIterator[str]:
    """An event stream opened with the cookie ends with its session: at the first
    keep-alive after a sign-out, a revocation or the session's end, so customers'
    names stop reaching a browser that signed out (another tab, a shared desk)."""
    return ending_unless(
        frames, still_allowed=lambda: _still_live(db, session_id, clock(), lifetime)
    )


async def ending_unless(
    frames: AsyncIterator[str], *, still_allowed: Callable[[], bool]
) -> AsyncIterator[str]:
    """The stream, ended at the first keep-alive at which `still_allowed` (a
    blocking read, run in a thread) says its reader may no longer read it."""
    try:
        async for frame in frames:
            if frame.startswith(KEEP_ALIVE) and not await asyncio.to_thread(still_allowed):
                return
            yield frame
    finally:
        close = getattr(frames, "aclose", None)
        if close is not None:
            await close()
