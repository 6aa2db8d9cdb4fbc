"""`queue.release`, hand-written in a unit of work: the claim goes, its agent
waits from now (`free_since`), the release is in the lead's history, and the
rows the session holds stay in step: a held agent row is changed itself (and
written with its other changes), and a held claim row goes through the ORM
(which drops it from the session)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from helpers import Api
from sqlalchemy import func, select

from dialer.agents.models import Agent, Claim
from dialer.agents.queue import claim_next, claim_of, release
from dialer.leads.models import Event, Lead


def _runtime(api: Api) -> Any:
    return api.client.app.state.runtime  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("hold_agent", "hold_claim"),
    [(False, False), (True, False), (False, True), (True, True)],
    ids=["nothing held", "agent held", "claim held", "both held"],
)
def test_release_frees_the_agent_and_keeps_the_session_in_step(
    api: Api, hold_agent: bool, hold_claim: bool
) -> None:
    c = api.campaign()
    assert api.import_csv(c["id"], "name,phone\nL0,090-7000-0000\n").status_code == 201
    agent = api.agent([c["id"]])
    runtime = _runtime(api)
    with runtime.db.work() as work:
        session = work.session
        now = runtime.now_in(session)
        got = claim_next(work, agent_id=agent["id"], now=now, ttl=timedelta(minutes=5))
        assert got is not None
        held_agent = session.get(Agent, agent["id"]) if hold_agent else None
        if hold_claim:
            assert claim_of(session, lead_id=got.lead_id) is not None
        lead = session.get(Lead, got.lead_id)
        assert lead is not None
        later = now + timedelta(seconds=30)
        release(session, lead=lead, actor="test", now=later, why="test")
        if held_agent is not None:
            # Changed on the held row, written with its other changes.
            assert held_agent.free_since == later
        # No claim row is left in the session, nor in the table.
        assert not any(isinstance(row, Claim) for row in session.identity_map.values())
        assert claim_of(session, lead_id=got.lead_id) is None
        free_since = session.execute(
            select(Agent.free_since).where(Agent.id == agent["id"])
        ).scalar_one()
        assert free_since == later
        released = session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.lead_id == got.lead_id, Event.kind == "claim_released")
        )
        assert released == 1
        # A second release finds no claim: nothing more is recorded.
        release(session, lead=lead, actor="test", now=later, why="again")
        again = session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.lead_id == got.lead_id, Event.kind == "claim_released")
        )
        assert again == 1
