"""The live floor of one campaign, as a manager watches it: its agents and what
each is doing, the calls live now, promises falling due and missed today, the
queue diagnosis, a dialing block, and a progressive campaign's pacing.

The snapshot is read with indexed queries only, bounded whatever the campaign's
size: agents through their assignment, each agent's latest call through
`ix_call_agent_created`, the campaign's recent calls through
`ix_call_campaign_created`, promises through `ix_promise_campaign_slot`, the
abandon window (`dialer.calls.abandon`) through `ix_call_campaign_answered`. The
queue diagnosis is the one slow part (a grouped pass over every lead of the
campaign, seconds at a million leads on SQLite), so it is never waited for: a
per-worker cache (`QueueCache`) refreshes it in the background at most every
`QUEUE_REFRESH_SECONDS`, and the snapshot carries the latest one with its
`as_of` (null until the first is in).

The event stream (`FloorHub`) checks each watched campaign every `CHECK_SECONDS`
with one snapshot per worker, however many managers watch it, and sends it to
them when it differs from the one sent last (its `as_of` instants aside)."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.events import KEEP_ALIVE
from dialer.agents.floor_rules import (
    THRESHOLDS,
    Activity,
    Level,
    abandon_rate,
    activity_of,
    dial_level,
    is_live,
    level,
)
from dialer.agents.models import Agent, AgentCampaign, Claim, Role
from dialer.calls.models import LIVE_CALL_STATUSES, AnsweredBy, Call, CallStatus, Outcome
from dialer.calls.standing import standing_now
from dialer.campaign.models import Campaign, DialMode
from dialer.campaign.schemas import DialingBlockOut
from dialer.campaign.service import abandon_policy_of, get_campaign, zone_of
from dialer.clock import monotonic
from dialer.db import Database
from dialer.leads.names import names_of
from dialer.leads.schemas import QueueOut
from dialer.promises.models import Promise, PromiseStatus
from dialer.promises.schemas import PromiseOut
from dialer.reports.schemas import AbandonStandingOut
from dialer.reports.service import standing_out
from dialer.telephony import blocks
from dialer.views.campaigns import block_out
from dialer.views.promises import promise_view
from dialer.views.queue import queue_diagnosis
from dialer.wire import Instant, local_day, localized

log = logging.getLogger("dialer.floor")

# Bounds of what one snapshot lists (each list is the first so many).
MAX_AGENTS = 1000
MAX_CALLS = 1000
MAX_PROMISES = 500
# A call still not final this long after it was created is no longer shown as
# live (a lost status callback; reconciliation settles it): it bounds the range
# of the campaign's calls read.
LIVE_WINDOW = timedelta(hours=4)
# "Due soon": promises falling due within this, and those due now, window open.
DUE_SOON = timedelta(minutes=30)
# How far back a promise's due time is looked for: one due yesterday whose
# window is still open is still to keep, and one missed today may have been due
# yesterday. A window longer than that is rare enough to leave out, and the
# bound keeps the read a short range of the campaign's slots.
DUE_REACH = timedelta(days=1)
# A promise's slot starts at most a day (`slot_minutes` ≤ 1440) before its due time.
SLOT_REACH = timedelta(days=1)

QUEUE_REFRESH_SECONDS = 15.0
# A first `GET /api/floor` waits this long for the first diagnosis (a small
# campaign's takes milliseconds), then answers without it.
QUEUE_FIRST_WAIT_SECONDS = 0.3
CHECK_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0
# Each snapshot replaces the one before: a slow client gets the newest only.
BACKLOG = 4

NowIn = Callable[[Session], datetime]


class FloorLeadOut(BaseModel):
    id: int
    campaign_id: int
    name: str | None
    company: str | None
    claimed_at: Instant


class FloorCallOut(BaseModel):
    id: int
    status: str
    lead_id: int
    campaign_id: int
    to: str
    created_at: Instant
    answered_at: Instant | None


class FloorAgentOut(BaseModel):
    id: int
    name: str
    state: str
    pause_code: str | None
    state_reason: str | None
    state_changed_at: Instant
    wrapup_until: Instant | None
    connected: bool | None = Field(
        description="its console's event stream: open, lost (false), never opened (null)"
    )
    activity: Activity = Field(description="what it does now; the thresholds' key")
    activity_since: Instant
    level: Level = Field(description="the time in its activity at `as_of`, by the thresholds")
    lead: FloorLeadOut | None
    call: FloorCallOut | None


class LiveCallOut(BaseModel):
    id: int
    lead_id: int
    lead_name: str | None
    agent_id: int | None
    agent_name: str | None
    status: str
    to: str
    created_at: Instant
    answered_at: Instant | None


class FloorQueueOut(QueueOut):
    as_of: Instant = Field(description="when this diagnosis was computed")


class PacingOut(BaseModel):
    dial_level: float | None
    calls_in_flight: int
    agents_available: int
    abandoned_today: int
    answered_today: int
    abandon_rate: float | None
    abandon_cap: float


class FloorOut(BaseModel):
    campaign_id: int
    campaign_name: str
    timezone: str
    as_of: Instant
    dial_mode: str
    status: str
    thresholds: dict[str, tuple[int, int]]
    agents: list[FloorAgentOut]
    calls_live: list[LiveCallOut]
    promises_due_soon: list[PromiseOut]
    promises_missed_today: list[PromiseOut]
    queue: FloorQueueOut | None
    dialing_blocked: DialingBlockOut | None
    pacing: PacingOut | None
    abandon_window: AbandonStandingOut = Field(
        description="the abandon rate over the campaign's abandon window, against its cap"
    )


@dataclass(frozen=True, slots=True)
class QueueSeen:
    out: QueueOut
    as_of: datetime


def floor_snapshot(
    session: Session, *, campaign_id: int, now: datetime, queue: QueueSeen | None
) -> FloorOut:
    """The floor at `now`, with `queue` the latest diagnosis at hand (None: none
    yet). About a dozen indexed reads whatever the campaign's size
    (tests/views/test_floor_indexes.py)."""
    campaign = get_campaign(session, campaign_id=campaign_id)
    zone = zone_of(campaign)
    agents = list(
        session.scalars(
            select(Agent)
            .join(AgentCampaign, col(AgentCampaign.agent_id) == col(Agent.id))
            .where(
                col(AgentCampaign.campaign_id) == campaign_id,
                col(Agent.role) == Role.agent,
                col(Agent.active).is_(True),
            )
            .order_by(col(Agent.name), col(Agent.id))
            .limit(MAX_AGENTS)
        )
    )
    agent_ids = [a.id for a in agents if a.id is not None]
    claims = {
        c.agent_id: c
        for c in (
            session.scalars(select(Claim).where(col(Claim.agent_id).in_(agent_ids)))
            if agent_ids
            else []
        )
    }
    latest = _latest_calls(session, agent_ids=agent_ids)
    live = list(
        session.scalars(
            select(Call)
            .where(
                col(Call.campaign_id) == campaign_id,
                col(Call.created_at) >= now - LIVE_WINDOW,
                col(Call.status).in_(sorted(LIVE_CALL_STATUSES)),
            )
            .order_by(col(Call.created_at), col(Call.id))
            .limit(MAX_CALLS)
        )
    )
    due_soon = list(
        session.scalars(
            _promises(campaign_id, since=now - DUE_REACH, until=now + DUE_SOON).where(
                col(Promise.status) == PromiseStatus.scheduled,
                col(Promise.window_end) > now,
            )
        )
    )
    midnight, _ = local_day(now.astimezone(zone).date(), zone)
    missed = list(
        session.scalars(
            _promises(campaign_id, since=midnight - DUE_REACH, until=now).where(
                col(Promise.status) == PromiseStatus.missed,
                col(Promise.window_end) >= midnight,
            )
        )
    )
    lead_ids = (
        [c.lead_id for c in claims.values()]
        + [c.lead_id for c in live]
        + [p.lead_id for p in (*due_soon, *missed)]
    )
    names = names_of(session, lead_ids=lead_ids)
    agent_names = {a.id: a.name for a in agents}
    others = {c.agent_id for c in live if c.agent_id is not None} - set(agent_names)
    if others:
        agent_names.update(
            session.execute(
                select(col(Agent.id), col(Agent.name)).where(col(Agent.id).in_(sorted(others)))
            ).tuples()
        )
    floor_agents = [
        _agent_out(a, claim=claims.get(a.id or 0), call=latest.get(a.id or 0), names=names, now=now)
        for a in agents
    ]
    out = FloorOut(
        campaign_id=campaign_id,
        campaign_name=campaign.name,
        timezone=campaign.timezone,
        as_of=now,
        dial_mode=campaign.dial_mode,
        status=campaign.status,
        thresholds={a.value: t for a, t in THRESHOLDS.items()},
        agents=floor_agents,
        calls_live=[
            LiveCallOut(
                id=c.id or 0,
                lead_id=c.lead_id,
                lead_name=names.get(c.lead_id, (None, None))[0],
                agent_id=c.agent_id,
                agent_name=agent_names.get(c.agent_id) if c.agent_id is not None else None,
                status=c.status,
                to=c.to,
                created_at=c.created_at,
                answered_at=c.answered_at,
            )
            for c in live
        ],
        promises_due_soon=[promise_view(p, names=names) for p in due_soon],
        promises_missed_today=[promise_view(p, names=names) for p in missed],
        queue=None if queue is None else FloorQueueOut(**queue.out.model_dump(), as_of=queue.as_of),
        dialing_blocked=block_out(blocks.block_of(session, campaign_id=campaign_id)),
        pacing=None
        if campaign.dial_mode == DialMode.preview
        else _pacing(session, campaign=campaign, live=live, agents=floor_agents, since=midnight),
        abandon_window=standing_out(standing_now(session, campaign=campaign, now=now)),
    )
    return localized(out, zone)


def _promises(campaign_id: int, *, since: datetime, until: datetime) -> Any:
    """The campaign's promises due in [since, until], read as a range of
    ix_promise_campaign_slot: the slots that can hold them."""
    return (
        select(Promise)
        .where(
            col(Promise.campaign_id) == campaign_id,
            col(Promise.slot_start) >= since - SLOT_REACH,
            col(Promise.slot_start) <= until,
            col(Promise.due_at) >= since,
            col(Promise.due_at) <= until,
        )
        .order_by(col(Promise.due_at), col(Promise.id))
        .limit(MAX_PROMISES)
    )


def _latest_calls(session: Session, *, agent_ids: list[int]) -> dict[int, Call]:
    """Each agent's latest call (any campaign's): one seek of
    ix_call_agent_created per agent, never the agent's whole history."""
    if not agent_ids:
        return {}
    latest = (
        select(col(Call.id))
        .where(col(Call.agent_id) == col(Agent.id))
        .order_by(col(Call.created_at).desc(), col(Call.id).desc())
        .limit(1)
        .correlate(Agent)
        .scalar_subquery()
    )
    ids = select(latest).where(col(Agent.id).in_(agent_ids))
    calls = session.scalars(select(Call).where(col(Call.id).in_(ids)))
    return {c.agent_id: c for c in calls if c.agent_id is not None}


def _connected(agent: Agent) -> bool | None:
    if agent.stream_connection is None and agent.stream_lost_at is None:
        return None
    return agent.stream_lost_at is None


def _agent_out(
    agent: Agent,
    *,
    claim: Claim | None,
    call: Call | None,
    names: dict[int, tuple[str | None, str | None]],
    now: datetime,
) -> FloorAgentOut:
    assert agent.id is not None
    wrapup_seconds = 0
    if agent.wrapup_until is not None and call is not None:
        # The wrap-up began at the disposition of the agent's latest call.
        began = call.dispositioned_at
        if began is not None and began <= agent.wrapup_until:
            wrapup_seconds = int((agent.wrapup_until - began).total_seconds())
    live_call = call if call is not None and is_live(call.status) else None
    ended = None
    if call is not None and live_call is None:
        ended = call.dispositioned_at or call.ended_at or call.created_at
    doing = activity_of(
        state=agent.state,
        state_changed_at=agent.state_changed_at,
        wrapup_until=agent.wrapup_until,
        wrapup_seconds=wrapup_seconds,
        claimed_at=claim.claimed_at if claim is not None else None,
        call_status=live_call.status if live_call is not None else None,
        call_created_at=live_call.created_at if live_call is not None else None,
        call_answered_at=live_call.answered_at if live_call is not None else None,
        last_call_end_at=ended,
        now=now,
    )
    lead = None
    if claim is not None:
        name, company = names.get(claim.lead_id, (None, None))
        lead = FloorLeadOut(
            id=claim.lead_id,
            campaign_id=claim.campaign_id,
            name=name,
            company=company,
            claimed_at=claim.claimed_at,
        )
    return FloorAgentOut(
        id=agent.id,
        name=agent.name,
        state=agent.state,
        pause_code=agent.pause_code,
        state_reason=agent.state_reason,
        state_changed_at=agent.state_changed_at,
        wrapup_until=agent.wrapup_until,
        connected=_connected(agent),
        activity=doing.activity,
        activity_since=doing.since,
        level=level(activity=doing.activity, seconds=(now - doing.since).total_seconds()),
        lead=lead,
        call=None
        if live_call is None
        else FloorCallOut(
            id=live_call.id or 0,
            status=live_call.status,
            lead_id=live_call.lead_id,
            campaign_id=live_call.campaign_id,
            to=live_call.to,
            created_at=live_call.created_at,
            answered_at=live_call.answered_at,
        ),
    )


_WAITING = frozenset({Activity.available, Activity.dialing, Activity.working})


def _pacing(
    session: Session,
    *,
    campaign: Campaign,
    live: list[Call],
    agents: list[FloorAgentOut],
    since: datetime,
) -> PacingOut:
    """Today (from the campaign's local midnight): abandoned calls over calls a
    person answered. An abandoned call was answered by a person whom no agent
    could take, whatever machine detection said, so it counts as answered too."""
    abandoned = col(Call.disposition) == Outcome.abandoned
    answered = or_(col(Call.answered_by) == AnsweredBy.human, abandoned)
    row = session.execute(
        select(
            func.coalesce(func.sum(case((abandoned, 1), else_=0)), 0),
            func.coalesce(func.sum(case((answered, 1), else_=0)), 0),
        ).where(col(Call.campaign_id) == campaign.id, col(Call.created_at) >= since)
    ).one()
    abandoned_today, answered_today = int(row[0]), int(row[1])
    in_flight = sum(1 for c in live if c.status in (CallStatus.queued, CallStatus.ringing))
    waiting = sum(1 for a in agents if a.activity in _WAITING)
    return PacingOut(
        dial_level=dial_level(calls_in_flight=in_flight, agents_available=waiting),
        calls_in_flight=in_flight,
        agents_available=waiting,
        abandoned_today=abandoned_today,
        answered_today=answered_today,
        abandon_rate=abandon_rate(abandoned=abandoned_today, answered=answered_today),
        abandon_cap=abandon_policy_of(campaign).max_rate,
    )


@dataclass
class _Cached:
    seen: QueueSeen | None = None
    started: float | None = None
    running: Future[None] | None = None


class QueueCache:
    """The latest queue diagnosis of each campaign asked about, in this worker,
    recomputed on a background thread when asked for and older than
    QUEUE_REFRESH_SECONDS: at most one computation per campaign at a time."""

    def __init__(self, db: Database, *, now_in: NowIn, executor: ThreadPoolExecutor) -> None:
        self.db = db
        self.now_in = now_in
        self._executor = executor
        self._lock = threading.Lock()
        self._entries: dict[int, _Cached] = {}

    def current(self, campaign_id: int) -> QueueSeen | None:
        with self._lock:
            entry = self._entries.get(campaign_id)
            return entry.seen if entry is not None else None

    def fresh(self, campaign_id: int, *, wait: float = 0.0) -> QueueSeen | None:
        """The latest diagnosis; starts a new one when it is stale. `wait`: how
        long to wait for one when there is none yet."""
        running = self._refresh_if_stale(campaign_id)
        seen = self.current(campaign_id)
        if seen is None and running is not None and wait > 0:
            wait_for_futures([running], timeout=wait)
            seen = self.current(campaign_id)
        return seen

    def _refresh_if_stale(self, campaign_id: int) -> Future[None] | None:
        with self._lock:
            entry = self._entries.setdefault(campaign_id, _Cached())
            if entry.running is not None and not entry.running.done():
                return entry.running
            at = monotonic()
            if entry.started is not None and at - entry.started < QUEUE_REFRESH_SECONDS:
                return None
            entry.started = at
            entry.running = self._executor.submit(self._compute, campaign_id)
            return entry.running

    def _compute(self, campaign_id: int) -> None:
        try:
            with self.db.read() as session:
                now = self.now_in(session)
                out = queue_diagnosis(session, campaign_id=campaign_id, now=now)
        except Exception:
            log.exception("queue diagnosis of campaign %d failed", campaign_id)
            return
        with self._lock:
            self._entries[campaign_id].seen = QueueSeen(out=out, as_of=now)


def _sameness(body: dict[str, Any]) -> dict[str, Any]:
    """What two snapshots are compared by: all but when they were computed, and
    what follows from that alone (plain JSON values, so `==` says what equal
    encodings would)."""
    rest = {k: v for k, v in body.items() if k != "as_of"}
    if isinstance(rest.get("queue"), dict):
        rest["queue"] = {k: v for k, v in rest["queue"].items() if k != "as_of"}
    if isinstance(rest.get("abandon_window"), dict):
        # The window's start is `as_of` less its days: it moves with the clock.
        rest["abandon_window"] = {
            k: v for k, v in rest["abandon_window"].items() if k != "since_at"
        }
    return rest


@dataclass(eq=False)
class _Watch:
    campaign_id: int
    listeners: set[asyncio.Queue[str]] = field(default_factory=set)
    last_key: dict[str, Any] | None = None
    last_frame: str | None = None
    task: asyncio.Task[None] | None = None


def _offer(queue: asyncio.Queue[str], frame: str) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(frame)


class FloorHub:
    """One per worker process: the snapshots of the campaigns being watched, one
    check per campaign every CHECK_SECONDS, handed to each of its listeners."""

    def __init__(self, db: Database, *, now_in: NowIn) -> None:
        self.db = db
        self.now_in = now_in
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="floor-queue")
        self.queues = QueueCache(db, now_in=now_in, executor=self._executor)
        self._watches: dict[int, _Watch] = {}
        self._ids = itertools.count(1)

    def snapshot(self, session: Session, *, campaign_id: int, now: datetime) -> FloorOut:
        """For `GET /api/floor`: inside the request's transaction."""
        get_campaign(session, campaign_id=campaign_id)
        queue = self.queues.fresh(campaign_id, wait=QUEUE_FIRST_WAIT_SECONDS)
        return floor_snapshot(session, campaign_id=campaign_id, now=now, queue=queue)

    def _check(self, campaign_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
        queue = self.queues.fresh(campaign_id)
        with self.db.read() as session:
            now = self.now_in(session)
            out = floor_snapshot(session, campaign_id=campaign_id, now=now, queue=queue)
        body = out.model_dump(mode="json")
        return _sameness(body), body

    def subscribe(self, campaign_id: int) -> asyncio.Queue[str]:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=BACKLOG)
        watch = self._watches.get(campaign_id)
        if watch is None:
            watch = self._watches[campaign_id] = _Watch(campaign_id)
        watch.listeners.add(queue)
        if watch.last_frame is not None:
            # The snapshot sent last is current to within a check: sent at once.
            _offer(queue, watch.last_frame)
        if watch.task is None:
            watch.task = asyncio.get_running_loop().create_task(self._run(watch))
        return queue

    def unsubscribe(self, campaign_id: int, queue: asyncio.Queue[str]) -> None:
        watch = self._watches.get(campaign_id)
        if watch is not None:
            watch.listeners.discard(queue)

    async def _run(self, watch: _Watch) -> None:
        try:
            while watch.listeners:
                try:
                    key, body = await asyncio.to_thread(self._check, watch.campaign_id)
                except Exception:
                    log.exception("floor check of campaign %d failed", watch.campaign_id)
                else:
                    if key != watch.last_key:
                        # Encoded only when it changed: most checks change nothing.
                        data = json.dumps(body, ensure_ascii=False)
                        watch.last_key = key
                        watch.last_frame = f"event: floor\nid: {next(self._ids)}\ndata: {data}\n\n"
                        for listener in list(watch.listeners):
                            _offer(listener, watch.last_frame)
                await asyncio.sleep(CHECK_SECONDS)
        finally:
            watch.task = None
            if not watch.listeners and self._watches.get(watch.campaign_id) is watch:
                del self._watches[watch.campaign_id]

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


async def floor_stream(hub: FloorHub, *, campaign_id: int) -> AsyncIterator[str]:
    """SSE frames for one manager: `retry`, the snapshot at once, then each
    changed one, with a keep-alive comment after HEARTBEAT_SECONDS of quiet."""
    queue = hub.subscribe(campaign_id)
    try:
        yield f"retry: 2000\n: floor of campaign {campaign_id}\n\n"
        while True:
            try:
                frame = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_SECONDS)
            except TimeoutError:
                yield KEEP_ALIVE
                continue
            yield frame
    finally:
        hub.unsubscribe(campaign_id, queue)
