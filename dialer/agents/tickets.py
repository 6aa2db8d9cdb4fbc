"""Stream tickets: what a browser's `EventSource` (which cannot send an
`Authorization` header) puts in the event stream's URL instead of a bearer
token. URLs end up in proxies' and servers' access logs; a ticket found there
is worth little: it opens one agent's event stream, for 60 seconds, and
nothing else.

A ticket is signed, not stored: `st1.<agent>.<principal>.<expiry>.<mac>`, the
MAC an HMAC-SHA256 over the purpose, the agent, the principal and the expiry,
keyed by the principal's token digest (which every web worker, on any host,
reads from the database). So any worker accepts it, no row is written for it,
and a principal given a new token (or removed) voids its tickets at once.

Expiry is in real (wall-clock) time, like the scheduler's lease: a ticket is a
credential, and must lapse even when the domain clock is simulated."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from dialer.agents.models import Agent
from dialer.auth import require_active, require_self_or_manager
from dialer.errors import Forbidden, Unauthorized

TICKET_TTL = timedelta(seconds=60)
# What a ticket opens. Part of the signed text: a ticket made for another
# purpose (should another ever exist) does not verify here.
EVENTS = "agent-events"
_VERSION = "st1"


def _mac(*, token_hash: str, purpose: str, agent_id: int, principal_id: int, expires: int) -> str:
    key = hashlib.sha256(b"dialer stream ticket\x00" + token_hash.encode("ascii")).digest()
    text = f"{_VERSION}:{purpose}:{agent_id}:{principal_id}:{expires}".encode("ascii")
    digest = hmac.new(key, text, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def issue(
    *, principal: Agent, agent_id: int, now: datetime, ttl: timedelta = TICKET_TTL
) -> tuple[str, datetime]:
    """A ticket for `agent_id`'s event stream, good until the instant returned.
    The caller has checked that `principal` may read that stream."""
    assert principal.id is not None
    expires = int((now + ttl).timestamp())
    mac = _mac(
        token_hash=principal.token_hash,
        purpose=EVENTS,
        agent_id=agent_id,
        principal_id=principal.id,
        expires=expires,
    )
    ticket = f"{_VERSION}.{agent_id}.{principal.id}.{expires}.{mac}"
    return ticket, datetime.fromtimestamp(expires, UTC)


def _invalid() -> Unauthorized:
    return Unauthorized(
        "ticket: not a stream ticket this server gave (or its principal's token changed)",
        code="invalid_ticket",
    )


def redeem(session: Session, *, ticket: str, agent_id: int, now: datetime) -> Agent:
    """The principal a ticket speaks for, on `agent_id`'s event stream; refused
    (401) when malformed, forged or expired, and (403) on another agent's stream."""
    parts = ticket.split(".")
    if len(parts) != 5 or parts[0] != _VERSION or len(ticket) > 200:
        raise _invalid()
    _, for_agent, principal_id, expires, mac = parts
    if not (for_agent.isdigit() and principal_id.isdigit() and expires.isdigit()):
        raise _invalid()
    if len(for_agent) > 19 or len(principal_id) > 19 or len(expires) > 12:
        raise _invalid()
    principal = session.get(Agent, int(principal_id))
    if principal is None:
        raise _invalid()
    expected = _mac(
        token_hash=principal.token_hash,
        purpose=EVENTS,
        agent_id=int(for_agent),
        principal_id=int(principal_id),
        expires=int(expires),
    )
    if not hmac.compare_digest(expected, mac):
        raise _invalid()
    if int(for_agent) != agent_id:
        raise Forbidden(
            f"ticket: made for agent {for_agent}'s event stream, not agent {agent_id}'s",
            code="ticket_not_for_this_stream",
        )
    if now.timestamp() >= int(expires):
        raise Unauthorized(
            "ticket: expired; ask POST /api/agents/{id}/events/ticket for a new one",
            code="ticket_expired",
        )
    # The principal may have lost the right since (deactivated, a role changed).
    require_active(principal)
    require_self_or_manager(principal, agent_id=agent_id)
    return principal
