"""The connect path's hand-written reads (`dialer.calls.connect`,
`connect_sql.py`) on a scripted floor: `free_agent_ids` gives the free agents
(not paused, wrapping up, inactive, of another campaign or holding a lead),
longest waiting first, with and without the endpoint filter; pending ORM
changes are seen
(raw SQL does not autoflush); and `connect` refuses an agent that is not
available or already holds a lead, writing nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scripted_floor import claimed_lead, floor_agent, predictive_campaign
from sqlalchemy import select
from sqlmodel import col

from dialer.agents.models import AgentState, Claim
from dialer.calls import connect
from dialer.calls.models import Call
from dialer.db import Database
from dialer.migrations import upgrade

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def test_free_agent_ids_are_the_free_agents_longest_waiting_first(db_url: str) -> None:
    upgrade(db_url)
    db = Database(db_url)
    try:
        with db.write() as session:
            cid = predictive_campaign(session, "Connect", now=NOW)
            other = predictive_campaign(session, "Other", now=NOW)
            # Waiting since: the latest of state_changed_at, free_since, wrapup_until.
            late = floor_agent(session, "late", [cid], now=NOW, state_changed_at=NOW - 10 * S)
            early = floor_agent(session, "early", [cid], now=NOW, state_changed_at=NOW - 50 * S)
            wrapped = floor_agent(session, "wrapped", [cid], now=NOW, state_changed_at=NOW - 90 * S,
                                  wrapup_until=NOW - 30 * S)  # fmt: skip
            freed = floor_agent(session, "freed", [cid], now=NOW, state_changed_at=NOW - 90 * S,
                                free_since=NOW - 20 * S, endpoint="sip:f@example.com")  # fmt: skip
            floor_agent(session, "wrapping", [cid], now=NOW, wrapup_until=NOW + 5 * S)
            floor_agent(session, "paused", [cid], now=NOW, state=AgentState.paused)
            floor_agent(session, "gone", [cid], now=NOW, active=False)
            floor_agent(session, "elsewhere", [other], now=NOW)
            holding = floor_agent(session, "holding", [cid], now=NOW)
            claimed_lead(
                session, campaign_id=cid, agent_id=holding.id, reason="predictive", now=NOW
            )
            # Changed in the session, not flushed: the raw read must see it.
            pending = floor_agent(session, "pending", [cid], now=NOW)
            pending.state = AgentState.paused
            ids = connect.free_agent_ids(session, campaign_id=cid, now=NOW)
            bridgeable = connect.free_agent_ids(
                session, campaign_id=cid, now=NOW, need_endpoint=True
            )
            expected = [early.id, wrapped.id, freed.id, late.id]
    finally:
        db.dispose()
    assert ids == expected
    assert bridgeable == [freed.id]


def test_connect_takes_only_an_available_agent_holding_no_lead(db_url: str) -> None:
    upgrade(db_url)
    db = Database(db_url)
    try:
        with db.write() as session:
            cid = predictive_campaign(session, "Connect", now=NOW)
            busy = floor_agent(session, "busy", [cid], now=NOW)
            claimed_lead(session, campaign_id=cid, agent_id=busy.id, reason="predictive", now=NOW)
            paused = floor_agent(session, "paused", [cid], now=NOW)
            free = floor_agent(session, "free", [cid], now=NOW)
            lead_id = claimed_lead(
                session, campaign_id=cid, agent_id=None, reason="predictive", now=NOW
            )
            call = Call(lead_id=lead_id, campaign_id=cid, to="+819012345678",
                        provider="simulated", created_at=NOW - 9 * S, status="in-progress",
                        answered_by="human", answered_at=NOW - S,
                        agent_reserved=False)  # fmt: skip
            session.add(call)
            session.flush()
            paused.state = AgentState.paused  # pending: seen by the check
            assert busy.id and paused.id and free.id
            refused = [
                connect.connect(session, call=call, agent_id=a, at=NOW)
                for a in (busy.id, paused.id, 10_000)
            ]
            untouched = (call.agent_id, call.connected_at)
            free_id = free.id
            took = connect.connect(session, call=call, agent_id=free_id, at=NOW)
            session.expire_all()
            claim_agent = session.scalar(
                select(col(Claim.agent_id)).where(col(Claim.lead_id) == lead_id)
            )
            call_agent = session.scalar(select(col(Call.agent_id)).where(col(Call.id) == call.id))
    finally:
        db.dispose()
    assert refused == [False, False, False]
    assert untouched == (None, None)
    assert took is True
    assert claim_agent == call_agent == free_id


def test_connect_hands_the_claim_over_once_and_keeps_a_loaded_claim_in_step(db_url: str) -> None:
    """The hand-over is written raw: a claim row the session had loaded reads
    its new holder (not a stale None), and a claim another agent took already
    is not taken again (the second agent is refused, nothing written)."""
    upgrade(db_url)
    db = Database(db_url)
    try:
        with db.write() as session:
            cid = predictive_campaign(session, "Connect", now=NOW)
            first = floor_agent(session, "first", [cid], now=NOW)
            second = floor_agent(session, "second", [cid], now=NOW)
            lead_id = claimed_lead(
                session, campaign_id=cid, agent_id=None, reason="predictive", now=NOW
            )
            call = Call(lead_id=lead_id, campaign_id=cid, to="+819012345678",
                        provider="simulated", created_at=NOW - 9 * S, status="in-progress",
                        answered_by="human", answered_at=NOW - S,
                        agent_reserved=False)  # fmt: skip
            session.add(call)
            session.flush()
            loaded = session.scalar(select(Claim).where(col(Claim.lead_id) == lead_id))
            assert loaded is not None and loaded.agent_id is None
            assert first.id and second.id
            took = connect.connect(session, call=call, agent_id=first.id, at=NOW)
            in_memory = loaded.agent_id
            dirty = loaded in session.dirty
            again = connect.connect(session, call=call, agent_id=second.id, at=NOW)
            session.expire_all()
            stored = session.scalars(
                select(col(Claim.agent_id)).where(col(Claim.lead_id) == lead_id)
            ).all()
            first_id = first.id
    finally:
        db.dispose()
    assert took is True and again is False
    assert in_memory == first_id and not dirty
    assert stored == [first_id]
