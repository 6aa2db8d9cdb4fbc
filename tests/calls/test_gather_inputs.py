"""The pacer's snapshot (`predictive.gather_inputs`, hand-written SQL) on a
scripted floor: who counts as waiting, wrapping up and talking, which agents a
lower predictive campaign counts instead, the endpoint filter, and which calls
are ringing or waiting; pending ORM rows are seen (raw SQL does not autoflush)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from scripted_floor import bare_lead, claimed_lead, floor_agent, predictive_campaign

from dialer.agents.models import AgentState
from dialer.calls.models import Call
from dialer.calls.predictive import IN_FLIGHT_WINDOW, gather_inputs
from dialer.campaign.models import Campaign
from dialer.db import Database
from dialer.migrations import upgrade

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def _call(cid: int, lid: int, *, ago: timedelta, **kw: Any) -> Call:
    fields: dict[str, Any] = {"status": "ringing", "agent_reserved": False} | kw
    return Call(lead_id=lid, campaign_id=cid, to="+819012345678", provider="simulated",
                created_at=NOW - ago, **fields)  # fmt: skip


def test_gather_inputs_reads_the_floor(db_url: str) -> None:
    upgrade(db_url)
    db = Database(db_url)
    try:
        with db.write() as session:
            lower = predictive_campaign(session, "Lower", now=NOW)
            cid = predictive_campaign(session, "Gathered", now=NOW)
            lid = bare_lead(session, cid, now=NOW)
            floor_agent(session, "waiting", [cid], now=NOW)
            floor_agent(session, "wrapping", [cid], now=NOW, wrapup_until=NOW + 15 * S)
            floor_agent(session, "wrapped", [cid], now=NOW, wrapup_until=NOW - 15 * S)  # waiting
            talking = floor_agent(session, "talking", [cid], now=NOW)
            on_call = claimed_lead(
                session, campaign_id=cid, agent_id=talking.id, reason="queue", now=NOW
            )
            session.add(_call(cid, on_call, ago=30 * S, agent_id=talking.id, status="in-progress",
                              answered_by="human", answered_at=NOW - 25 * S,
                              connected_at=NOW - 20 * S))  # fmt: skip
            # An answered call of the agent's left without a disposition on a
            # lead it no longer holds: not a talk of now.
            session.add(_call(cid, lid, ago=900 * S, agent_id=talking.id, status="completed",
                              answered_by="human", answered_at=NOW - 895 * S,
                              connected_at=NOW - 890 * S))  # fmt: skip
            reserved = floor_agent(session, "placing", [cid], now=NOW)  # claim, call still ringing
            claimed_lead(session, campaign_id=cid, agent_id=reserved.id, reason="queue", now=NOW)
            session.add(_call(cid, lid, ago=3 * S, agent_id=reserved.id, agent_reserved=True))
            floor_agent(session, "paused", [cid], now=NOW, state=AgentState.paused)
            floor_agent(session, "gone", [cid], now=NOW, active=False)
            floor_agent(
                session, "shared", [lower, cid], now=NOW
            )  # the lower campaign's pacer counts them
            floor_agent(session, "bridgeable", [cid], now=NOW, endpoint="sip:a@example.com")
            session.add_all(
                [
                    _call(cid, lid, ago=5 * S),  # ringing
                    # Waiting for an agent; then one bridged already.
                    _call(
                        cid,
                        lid,
                        ago=8 * S,
                        status="in-progress",
                        answered_by="human",
                        answered_at=NOW - 1 * S,
                    ),
                    _call(
                        cid,
                        lid,
                        ago=40 * S,
                        status="in-progress",
                        answered_by="human",
                        answered_at=NOW - 30 * S,
                        connected_at=NOW - 29 * S,
                    ),
                    _call(cid, lid, ago=9 * S, status="no-answer"),  # final
                    _call(cid, lid, ago=IN_FLIGHT_WINDOW + S),  # out of the window
                    _call(cid, lid, ago=7 * S, disposition="abandoned"),
                ]
            )
            session.flush()
            campaign = session.get(Campaign, cid)
            assert campaign is not None
            # Not flushed yet: gather_inputs must flush it before its raw reads.
            session.add(_call(cid, lid, ago=0 * S))
            got = gather_inputs(session, campaign=campaign, now=NOW)
            bridged = gather_inputs(session, campaign=campaign, now=NOW, need_endpoint=True)
    finally:
        db.dispose()
    assert got.agents_signed_in == 6
    assert got.agents_waiting == 3  # waiting, wrapped, bridgeable
    assert got.wrapup_left == (15.0,)
    assert got.talking_for == (20.0,)
    assert got.calls_ringing == 2
    assert sorted(got.ringing_for or ()) == [0.0, 5.0]
    assert got.calls_waiting == 1
    assert (bridged.agents_signed_in, bridged.agents_waiting) == (1, 1)
    assert bridged.wrapup_left == () and bridged.talking_for == ()
