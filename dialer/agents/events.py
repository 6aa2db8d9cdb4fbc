"""An agent's event stream: `promise_due`, `promise_missed`, `call_status`.

Events are rows (`agent_event`) written in the transaction that caused them, so
every web worker serves the same stream and a restart loses nothing: a client
reconnecting with `Last-Event-ID` gets what it missed. Each worker process runs
one poller that reads new rows a few times a second and fans them out to its
connected listeners: one query per worker per poll, however many agents listen.

On PostgreSQL ids are taken when a row is inserted but become visible when its
transaction commits, so a low id can appear after a higher one. The poller keeps
the ids it skipped over as gaps and looks for them again for a while; on SQLite
writers are serialized and ids commit in order."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.events_sql import INSERT_AGENT_EVENT
from dialer.agents.models import Agent, AgentEvent
from dialer.campaign.models import Campaign
from dialer.campaign.service import zone_of
from dialer.db import Database, raw_of
from dialer.wire import localized_payload

log = logging.getLogger("dialer.events")

POLL_SECONDS = 0.1
HEARTBEAT_SECONDS = 15.0
# The comment frame sent when nothing else was for HEARTBEAT_SECONDS.
KEEP_ALIVE = ": keep-alive\n\n"
# How long an id skipped over is looked for again: longer than any write
# transaction runs (a rolled-back transaction's ids never show up at all).
GAP_SECONDS = 30.0
BATCH = 2000
# An account event after which its stream closes (its token no longer works).
# A new password ends the account's other browser sessions: their streams end,
# and the one whose session was kept reconnects (EventSource does so itself).
ENDS_STREAM = frozenset({"account_deactivated", "token_rotated", "password_set"})


def publish(
    session: Session,
    *,
    kind: str,
    at: datetime,
    agent_id: int | None,
    campaign_id: int | None,
    **payload: Any,
) -> None:
    """Queue an event for one agent, or (no `agent_id`) for every agent of the campaign.

    In a unit of work it is written at once in hand-written SQL, as
    `dialer.leads.history.record` writes a lead's events: an event is never
    read back or changed in the transaction that writes it, so a row object and
    its flush are pure cost (every call status of an agent's call, every
    connection), and written at once the events keep the order of these calls.
    A session of no unit of work adds it as a row."""
    raw = raw_of(session)
    if raw is None:
        session.add(
            AgentEvent(
                agent_id=agent_id, campaign_id=campaign_id, kind=kind, at=at, payload=payload
            )
        )
        return
    # The event's agent and campaign must exist for their foreign keys: one made
    # in this transaction may still be pending (raw SQL does not autoflush).
    if session.new and any(isinstance(row, (Agent, Campaign)) for row in session.new):
        session.flush()
    raw.run(
        INSERT_AGENT_EVENT,
        (agent_id, campaign_id, kind, raw.instant(at), raw.json(payload)),
    )


@dataclass(frozen=True, slots=True)
class Delivered:
    id: int
    agent_id: int | None
    campaign_id: int | None
    kind: str
    data: str  # the JSON sent as the SSE `data:` line


def _delivered(row: AgentEvent, zone: tzinfo) -> Delivered:
    assert row.id is not None
    # Shown in the campaign's zone, like every answer about the campaign.
    payload = localized_payload(row.payload, zone)
    body = {"id": row.id, "kind": row.kind, "at": row.at.astimezone(zone).isoformat(), **payload}
    return Delivered(
        id=row.id,
        agent_id=row.agent_id,
        campaign_id=row.campaign_id,
        kind=row.kind,
        data=json.dumps(body, ensure_ascii=False, default=str),
    )


def _delivered_all(session: Session, rows: list[AgentEvent]) -> list[Delivered]:
    zones: dict[int, tzinfo] = {}
    for campaign_id in {r.campaign_id for r in rows if r.campaign_id is not None}:
        campaign = session.get(Campaign, campaign_id)
        zones[campaign_id] = zone_of(campaign) if campaign is not None else UTC
    return [_delivered(r, zones[r.campaign_id] if r.campaign_id is not None else UTC) for r in rows]


def events_since(
    session: Session, *, agent_id: int, campaign_ids: list[int], after_id: int, limit: int = BATCH
) -> list[Delivered]:
    """What a reconnecting listener missed (or a new one may catch up on)."""
    query = select(AgentEvent).where(col(AgentEvent.id) > after_id)
    mine = col(AgentEvent.agent_id) == agent_id
    if campaign_ids:
        mine = mine | (
            col(AgentEvent.agent_id).is_(None) & col(AgentEvent.campaign_id).in_(campaign_ids)
        )
    rows = session.scalars(query.where(mine).order_by(col(AgentEvent.id)).limit(limit))
    return _delivered_all(session, list(rows))


def latest_event_id(session: Session) -> int:
    found = session.scalar(select(col(AgentEvent.id)).order_by(col(AgentEvent.id).desc()).limit(1))
    return found or 0


@dataclass
class GapTracker:
    """Ids above the highest seen are new; ids below it that were never seen are
    gaps, worth asking for until they are too old to be an open transaction."""

    high: int
    gaps: dict[int, float] = field(default_factory=dict)

    def note(self, ids: list[int], *, now: float) -> list[int]:
        """Record a batch of ids read; return those not delivered before."""
        fresh = []
        for event_id in sorted(ids):
            if event_id > self.high:
                for missing in range(self.high + 1, event_id):
                    self.gaps[missing] = now
                self.high = event_id
                fresh.append(event_id)
            elif self.gaps.pop(event_id, None) is not None:
                fresh.append(event_id)
        return fresh

    def expire(self, *, now: float) -> None:
        for gap in [g for g, since in self.gaps.items() if now - since > GAP_SECONDS]:
            del self.gaps[gap]


@dataclass(eq=False)
class Listener:
    agent_id: int
    campaign_ids: frozenset[int]
    queue: asyncio.Queue[Delivered]

    def wants(self, event: Delivered) -> bool:
        if event.agent_id is not None:
            return event.agent_id == self.agent_id
        return event.campaign_id in self.campaign_ids


class EventHub:
    """One per process: polls `agent_event` and hands rows to connected listeners."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.listeners: set[Listener] = set()
        self._task: asyncio.Task[None] | None = None
        self._tracker: GapTracker | None = None

    def _poll_once(self) -> list[Delivered]:
        with self.db.read() as session:
            tracker = self._tracker
            if tracker is None:
                return []
            query = select(AgentEvent).where(col(AgentEvent.id) > tracker.high)
            if tracker.gaps:
                query = select(AgentEvent).where(
                    (col(AgentEvent.id) > tracker.high)
                    | col(AgentEvent.id).in_(sorted(tracker.gaps)[:500])
                )
            rows = list(session.scalars(query.order_by(col(AgentEvent.id)).limit(BATCH)))
            now = time.monotonic()
            fresh = set(tracker.note([r.id for r in rows if r.id is not None], now=now))
            tracker.expire(now=now)
            return _delivered_all(session, [row for row in rows if row.id in fresh])

    async def _run(self) -> None:
        while self.listeners:
            try:
                events = await asyncio.to_thread(self._poll_once)
            except Exception:
                log.exception("event poll failed; trying again")
                events = []
            for event in events:
                for listener in list(self.listeners):
                    if listener.wants(event):
                        listener.queue.put_nowait(event)
            await asyncio.sleep(POLL_SECONDS)
        self._task = None
        self._tracker = None

    def subscribe(self, *, agent_id: int, campaign_ids: list[int], since_id: int) -> Listener:
        """Listen from now on; a hub starting with this listener delivers every
        event after `since_id`, so nothing between the caller's read and the first
        poll falls through."""
        listener = Listener(agent_id, frozenset(campaign_ids), asyncio.Queue())
        self.listeners.add(listener)
        if self._tracker is None:
            self._tracker = GapTracker(high=since_id)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        return listener

    def unsubscribe(self, listener: Listener) -> None:
        self.listeners.discard(listener)


def _ends(event: Delivered, *, agent_id: int) -> bool:
    """The credentials this stream was opened with may be gone: the client
    reconnects (after this event's id), and is authenticated again."""
    return event.kind in ENDS_STREAM and event.agent_id == agent_id


def _frame(event: Delivered) -> str:
    return f"id: {event.id}\nevent: {event.kind}\ndata: {event.data}\n\n"


async def stream(
    hub: EventHub, *, agent_id: int, campaign_ids: list[int], last_event_id: int | None
) -> AsyncIterator[str]:
    """SSE frames for one agent: what it missed since `last_event_id` (or nothing
    old, on a first connection), then live events. It subscribes before replaying
    from the database, so nothing committed between the two is lost, and skips
    what the replay already sent."""
    since = last_event_id
    if since is None:
        since = await asyncio.to_thread(_latest, hub.db)
    listener = hub.subscribe(agent_id=agent_id, campaign_ids=campaign_ids, since_id=since)
    try:
        yield f"retry: 2000\n: connected as agent {agent_id}\n\n"
        backlog = await asyncio.to_thread(_replay, hub.db, agent_id, campaign_ids, since)
        replayed = {event.id for event in backlog}
        for event in backlog:
            yield _frame(event)
            if _ends(event, agent_id=agent_id):
                return
        while True:
            try:
                event = await asyncio.wait_for(listener.queue.get(), timeout=HEARTBEAT_SECONDS)
            except TimeoutError:
                # A comment line: proxies and load balancers see traffic and keep
                # the connection open; EventSource ignores it.
                yield KEEP_ALIVE
                continue
            if event.id in replayed:
                continue
            yield _frame(event)
            if _ends(event, agent_id=agent_id):
                return
    finally:
        hub.unsubscribe(listener)


def _latest(db: Database) -> int:
    with db.read() as session:
        return latest_event_id(session)


def _replay(db: Database, agent_id: int, campaign_ids: list[int], after_id: int) -> list[Delivered]:
    with db.read() as session:
        return events_since(
            session, agent_id=agent_id, campaign_ids=campaign_ids, after_id=after_id
        )
