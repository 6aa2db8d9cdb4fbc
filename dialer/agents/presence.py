"""Whether an agent's console is there: presence of the agent's own event
stream, and pausing an agent whose console has been gone too long.

The stream route records a connection on the agent's row when the agent itself
opens its stream (`stream_lost_at = NULL`, with a fresh connection id) and, when
that connection ends, the instant it ended, but only while it is still the
latest one: a browser that reconnected meanwhile is not marked lost by its
old connection closing late. A connection still open says so with each
keep-alive, so a newer tab closing leaves an older open one present. A
manager watching the stream counts for nothing.

`pause_lost` is a due job (dialer.jobs): an `available` agent whose stream has
been gone `loss` pauses with `state_reason: connection_lost`, an `agent_paused`
event (replayed when the console reconnects) and a history row. It is not
signed out: its next request or reconnect works, and it sets `available` itself."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Collection
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.events import KEEP_ALIVE, publish
from dialer.agents.models import Agent, AgentState, StateReason
from dialer.agents.service import record
from dialer.db import Database, affected
from dialer.failing import FailingRows, each_row

log = logging.getLogger("dialer.presence")

NowIn = Callable[[Session], datetime]


def connected(db: Database, *, agent_id: int) -> str:
    """The agent's console opened its stream: present from now on. Returns the
    connection's id, which alone may mark it lost later."""
    connection = uuid.uuid4().hex
    with db.write() as session:
        session.execute(
            update(Agent)
            .where(col(Agent.id) == agent_id)
            .values(stream_lost_at=None, stream_connection=connection)
        )
    return connection


def disconnected(db: Database, *, agent_id: int, connection: str, now_in: NowIn) -> bool:
    """The connection ended: lost from now, if it is still the latest one."""
    with db.write() as session:
        result = session.execute(
            update(Agent)
            .where(col(Agent.id) == agent_id, col(Agent.stream_connection) == connection)
            .values(stream_lost_at=now_in(session))
        )
        return affected(result) == 1


def still_here(db: Database, *, agent_id: int, connection: str) -> bool:
    """A connection that is still open says so: when a newer one (another tab)
    ended and marked the agent lost, this one becomes the latest and the agent
    present again. A read, and a write only then."""
    with db.read() as session:
        lost_at = session.scalar(select(col(Agent.stream_lost_at)).where(col(Agent.id) == agent_id))
    if lost_at is None:
        return False
    with db.write() as session:
        result = session.execute(
            update(Agent)
            .where(col(Agent.id) == agent_id, col(Agent.stream_lost_at).is_not(None))
            .values(stream_lost_at=None, stream_connection=connection)
        )
        return affected(result) == 1


def _mark_lost(db: Database, agent_id: int, connection: str, now_in: NowIn) -> None:
    try:
        disconnected(db, agent_id=agent_id, connection=connection, now_in=now_in)
    except Exception:
        # The row stays "present": the agent is not paused by this loss. Logged,
        # never raised into the closing stream.
        log.exception("could not record that agent %s's event stream ended", agent_id)


async def tracked(
    frames: AsyncIterator[str], *, db: Database, agent_id: int, connection: str, now_in: NowIn
) -> AsyncIterator[str]:
    """The stream's frames; when it ends (the browser went away, the server
    closed it), the loss is recorded. On a thread, not awaited: a cancelled
    response may not await anything more."""
    try:
        async for frame in frames:
            yield frame
            if frame.startswith(KEEP_ALIVE):
                # Every keep-alive (15 s): still open, so still present, whatever
                # another tab's connection ending said meanwhile.
                try:
                    await asyncio.to_thread(
                        still_here, db, agent_id=agent_id, connection=connection
                    )
                except Exception:
                    log.exception("could not record that agent %s's stream is open", agent_id)
    finally:
        threading.Thread(
            target=_mark_lost, args=(db, agent_id, connection, now_in), daemon=True
        ).start()


def next_loss_at(
    session: Session, *, loss: timedelta, skip: Collection[int] = ()
) -> datetime | None:
    """When the earliest-lost available agent is due to be paused."""
    query = select(func.min(col(Agent.stream_lost_at))).where(
        col(Agent.state) == AgentState.available,
        col(Agent.active).is_(True),
        col(Agent.stream_lost_at).is_not(None),
    )
    if skip:
        query = query.where(col(Agent.id).not_in(skip))
    lost_at = session.scalar(query)
    return None if lost_at is None else lost_at + loss


def pause_lost(
    session: Session, *, now: datetime, loss: timedelta, failing: FailingRows, limit: int = 500
) -> int:
    """Pause every available agent whose stream has been gone `loss` by `now`.
    Idempotent (a paused agent is no longer available); a bounded batch; an
    agent that fails is benched, the others are paused."""
    query = select(Agent).where(
        col(Agent.state) == AgentState.available,
        col(Agent.active).is_(True),
        col(Agent.stream_lost_at) <= now - loss,
    )
    skip = failing.skip(now=now)
    if skip:
        query = query.where(col(Agent.id).not_in(skip))
    agents = list(
        session.scalars(
            query.order_by(col(Agent.stream_lost_at), col(Agent.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    done = each_row(session, agents, lambda a: _pause(session, a, now=now), key=_id,
                    failing=failing, now=now)  # fmt: skip
    session.flush()
    return len(done)


def _pause(session: Session, agent: Agent, *, now: datetime) -> None:
    assert agent.id is not None and agent.stream_lost_at is not None
    agent.state = AgentState.paused
    agent.pause_code = None
    agent.state_reason = StateReason.connection_lost
    agent.state_changed_at = now
    lost_at = agent.stream_lost_at.isoformat()
    record(session, agent_id=agent.id, kind="paused_connection_lost", actor="system", at=now,
           lost_at=lost_at)  # fmt: skip
    publish(session, kind="agent_paused", at=now, agent_id=agent.id, campaign_id=None,
            why=StateReason.connection_lost.value, lost_at=lost_at,
            state=AgentState.paused.value)  # fmt: skip
    session.flush()


def _id(agent: Agent) -> int:
    assert agent.id is not None
    return agent.id
