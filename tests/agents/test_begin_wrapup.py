"""`begin_wrapup` on its two paths: an agent row the session holds is changed
there (written in the flush with its other changes); a principal the session
does not hold is written by hand and told the value. Both leave the same row,
and nothing else of it changes; no wrap-up (0 s) writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from scripted_floor import floor_agent, predictive_campaign
from sqlalchemy import select
from sqlmodel import col

from dialer.agents.models import Agent
from dialer.agents.service import begin_wrapup
from dialer.db import Database
from dialer.migrations import upgrade

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _row(session: object, agent_id: int) -> tuple[object, ...]:
    return tuple(
        session.execute(  # type: ignore[attr-defined]
            select(
                col(Agent.wrapup_until), col(Agent.free_since), col(Agent.state),
                col(Agent.state_changed_at),
            ).where(col(Agent.id) == agent_id)
        ).one()
    )  # fmt: skip


@pytest.mark.parametrize("seconds", [20, 0])
def test_held_and_detached_principals_leave_the_same_row(db_url: str, seconds: int) -> None:
    upgrade(db_url)
    db = Database(db_url)
    try:
        with db.write() as session:
            cid = predictive_campaign(session, "Wrap-up", now=NOW)
            held = floor_agent(session, "held", [cid], now=NOW)
            detached = floor_agent(session, "detached", [cid], now=NOW)
            assert held.id and detached.id
            held_id, detached_id = held.id, detached.id
        with db.write() as session:
            # The detached one: the row as it was, held by no session now.
            before = _row(session, detached_id)
            agent = session.get(Agent, held_id)
            assert agent is not None
            begin_wrapup(session, agent=agent, wrapup_seconds=seconds, now=NOW)
            begin_wrapup(session, agent=detached, wrapup_seconds=seconds, now=NOW)
            in_memory = (agent.wrapup_until, detached.wrapup_until)
            clean = detached not in session and agent in session
        with db.read() as session:
            rows = (_row(session, held_id), _row(session, detached_id))
    finally:
        db.dispose()
    until = NOW + timedelta(seconds=seconds) if seconds else None
    assert clean
    assert in_memory == (until, until)
    assert rows[0] == rows[1]
    assert rows[1][0] == until
    assert rows[1][1:] == before[1:]
