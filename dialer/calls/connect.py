"""Connecting an answered unreserved call to an agent (predictive dialing).

A predictive call is placed with no agent: a dialer claim holds its lead. When a
person answers, the call goes at once to the campaign's agent who has waited
longest (the smallest of when it became available, last became free and ended
its wrap-up): the claim is handed to that agent, and the agent's console is
told (`call_status` with the lead). Nobody free: the call waits until
`connect_by_at` (answered + `abandon_policy.connect_seconds`); the dialer's
round connects it when an agent frees up, and the `connect_waiting` due job
(dialer.calls.predictive) abandons it at that instant.

Calls placed for an agent (preview, progressive, promises) have their agent
from the start: they are connected when answered, nothing else changes."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from dialer.agents.events import publish
from dialer.agents.models import AgentState, Claim
from dialer.calls.connect_sql import (
    AGENT_TO_TAKE,
    ANY_WAITING,
    CONNECTED,
    FREE_AGENTS,
    FREE_AGENTS_WITH_ENDPOINT,
    HAND_OVER,
)
from dialer.calls.models import FINAL_CALL_STATUSES, AnsweredBy, Call
from dialer.campaign.models import Campaign
from dialer.campaign.service import abandon_policy_of
from dialer.db import RawSql, raw_in, raw_of
from dialer.leads import history

# Agents of one campaign looked at per connection: a floor is tens of agents.
MAX_AGENTS = 500


def free_agent_ids(
    session: Session, *, campaign_id: int, now: datetime, need_endpoint: bool = False
) -> list[int]:
    """The campaign's agents free now (available, active, holding no lead, not
    wrapping up; `need_endpoint`: only those a provider can bridge to, a phone
    or softphone to ring), as ids, the one waiting longest first: the smallest
    of the latest of when it became available, last became free and ended its
    wrap-up (ties: the lower id). One hand-written read
    (`connect_sql.FREE_AGENTS`): the connect path tries them one by one and
    checks the one it takes with a read of its own, so no `Agent` row is built
    or loaded (20 on a floor, every answered call). The session is flushed
    first (raw SQL does not autoflush): an agent's state or claim changed in
    this transaction counts."""
    raw = raw_in(session)
    statement = FREE_AGENTS_WITH_ENDPOINT if need_endpoint else FREE_AGENTS
    rows = raw.rows(statement, (campaign_id, True, raw.instant(now), MAX_AGENTS))
    # "Waiting since" is the latest of the three instants; instants of one engine compare as
    # stored (datetimes on PostgreSQL; one fixed-width text format on SQLite).
    rows.sort(key=lambda r: (max(i for i in r[1:] if i is not None), r[0]))
    return [int(agent_id) for agent_id, *_ in rows]


def waiting(call: Call) -> bool:
    """An answered unreserved call no agent has taken yet, still on the line."""
    return (
        not call.agent_reserved
        and call.answered_at is not None
        and call.connected_at is None
        and call.disposition is None
        and call.status not in FINAL_CALL_STATUSES
        and call.answered_by != AnsweredBy.machine
    )


def connect(session: Session, *, call: Call, agent_id: int, at: datetime) -> bool:
    """Hand the call and its lead to agent `agent_id`. False when the lead's dialer claim
    is gone (it expired, the lead was released) or the agent took another lead
    meanwhile: nothing is written then."""
    assert call.id is not None
    # The agent's row locked (PostgreSQL: two answered calls can't both take one
    # agent; SQLite's writers are serialized) and checked in the same read: its
    # state and "holds a claim" as the database has them now (flushed first).
    # Only read: an `Agent` the session holds is not changed by it.
    raw = raw_in(session)
    found = raw.rows(AGENT_TO_TAKE, (agent_id,))
    if not found:
        return False
    state, holds_claim = found[0]
    if state != AgentState.available or holds_claim:
        return False
    if not _hand_over(session, raw=raw, lead_id=call.lead_id, agent_id=agent_id):
        return False
    answered_at = call.answered_at or at
    # Written at once, and the loaded row told it holds these values now
    # (`set_committed_value`: not left dirty): the call needs no flush of its
    # own for them. What it had pending was flushed above (`raw_in`), so
    # nothing of the row is lost or stale.
    raw.run(CONNECTED, (agent_id, raw.instant(at), None, call.id))
    for key, value in (("agent_id", agent_id), ("connected_at", at), ("connect_by_at", None)):
        set_committed_value(call, key, value)
    history.record(
        session,
        lead_id=call.lead_id,
        kind="call_connected",
        actor="dialer",
        at=at,
        call_id=call.id,
        agent_id=agent_id,
        waited_ms=max(0, int((at - answered_at) / timedelta(milliseconds=1))),
    )
    # The agent's console puts the lead and its live call on screen.
    publish(
        session,
        kind="call_status",
        at=at,
        agent_id=agent_id,
        campaign_id=call.campaign_id,
        call_id=call.id,
        lead_id=call.lead_id,
        status=call.status,
        answered_by=call.answered_by,
        connected=True,
    )
    return True


def _hand_over(session: Session, *, raw: RawSql, lead_id: int, agent_id: int) -> bool:
    """The lead's dialer claim becomes the agent's: the agent takes the answered
    call. False when the lead holds no dialer claim any more (expired, released).
    Hand-written on the unit of work's transaction, whose session the caller has
    flushed (`raw_in`); a claim row the session holds (claims are written raw,
    but a read may have loaded one) is told its new holder, so it is not stale."""
    if raw.run(HAND_OVER, (agent_id, lead_id)) != 1:
        return False
    for row in list(session.identity_map.values()):
        if isinstance(row, Claim) and row.lead_id == lead_id:
            set_committed_value(row, "agent_id", agent_id)
    return True


def connect_to_free(session: Session, *, call: Call, at: datetime) -> bool:
    """To the longest-waiting free agent of the call's campaign, if any."""
    need_endpoint = call.provider != "simulated"
    for agent_id in free_agent_ids(
        session, campaign_id=call.campaign_id, now=at, need_endpoint=need_endpoint
    ):
        if connect(session, call=call, agent_id=agent_id, at=at):
            return True
    return False


def on_answered(session: Session, *, call: Call, at: datetime) -> None:
    """A call was answered (dialer.calls.disposition). Reserved: connected to its
    agent now. Unreserved: to the longest-waiting free agent, or it waits until
    `connect_by_at`."""
    if call.connected_at is not None or call.answered_at is None:
        return
    if call.agent_reserved:
        call.connected_at = call.answered_at
        return
    if not waiting(call) or call.connect_by_at is not None:
        return
    if connect_to_free(session, call=call, at=at):
        return
    campaign = session.get(Campaign, call.campaign_id)
    assert campaign is not None and call.id is not None
    seconds = abandon_policy_of(campaign).connect_seconds
    call.connect_by_at = call.answered_at + timedelta(seconds=seconds)
    history.record(
        session,
        lead_id=call.lead_id,
        kind="call_waiting",
        actor="dialer",
        at=at,
        call_id=call.id,
        connect_by_at=call.connect_by_at.isoformat(),
    )


def waiting_calls(
    session: Session, *, campaign_id: int | None = None, limit: int = 500
) -> list[Call]:
    """Answered unreserved calls waiting for an agent, the one due first first.
    Read from the partial index of waiting calls alone (they are few, whatever
    the campaign) and filtered by campaign here: with the campaign in the WHERE,
    a planner may prefer the campaign's index and read all its calls. Most
    pacer rounds find none: asked first in one hand-written read (after a flush,
    so a call made to wait in this transaction is seen), the calls loaded only
    when there are some."""
    raw = raw_of(session)
    if raw is not None:
        session.flush()
        if not raw.rows(ANY_WAITING):
            return []
    calls = session.scalars(
        select(Call)
        .where(col(Call.connect_by_at).is_not(None))
        .order_by(col(Call.connect_by_at), col(Call.id))
        .limit(limit)
    )
    return [c for c in calls if campaign_id is None or c.campaign_id == campaign_id]


def connect_waiting_calls(session: Session, *, campaign_id: int, now: datetime) -> int:
    """Each waiting call of the campaign to a free agent, the one waiting
    longest first; returns how many were connected."""
    connected = 0
    calls = waiting_calls(session, campaign_id=campaign_id)
    if not calls:
        return 0
    agents = free_agent_ids(
        session, campaign_id=campaign_id, now=now, need_endpoint=calls[0].provider != "simulated"
    )
    for call in calls:
        if not waiting(call):
            continue
        while agents:
            agent_id = agents.pop(0)
            if connect(session, call=call, agent_id=agent_id, at=now):
                connected += 1
                break
        if not agents:
            break
    return connected
