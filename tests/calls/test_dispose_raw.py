"""The disposition writes its call by hand (`disposition_sql.CALL_DISPOSITIONED`):
the stored row is what the loaded call says (ended, the outcome, by whom and
when, the note, who answered), the loaded call is left clean (no later flush
writes it again), and the lead's and the agent's changes still reach the
database through the same transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from scripted_floor import claimed_lead, floor_agent, predictive_campaign
from sqlalchemy import select
from sqlmodel import col

from dialer.agents.models import Agent, Claim
from dialer.calls.disposition import DispositionInput, dispose
from dialer.calls.disposition_sql import DISPOSED_CALL_COLUMNS
from dialer.calls.models import Call, Outcome
from dialer.db import Database
from dialer.leads.models import Event, Lead, LeadStatus
from dialer.migrations import upgrade
from dialer.telephony.simulated import SimulatedTelephony

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
S = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("outcome", "status"),
    [(Outcome.not_interested, "in-progress"), (Outcome.converted, "completed")],
)
def test_the_disposed_call_is_written_by_hand_and_left_clean(
    db_url: str, outcome: Outcome, status: str
) -> None:
    upgrade(db_url)
    db = Database(db_url)
    try:
        with db.write() as session:
            cid = predictive_campaign(session, "Dispose", now=NOW)
            agent = floor_agent(session, "agent", [cid], now=NOW)
            assert agent.id is not None
            agent_id = agent.id
            lead_id = claimed_lead(
                session, campaign_id=cid, agent_id=agent_id, reason="next", now=NOW
            )
            lead = session.get(Lead, lead_id)
            assert lead is not None
            lead.status = LeadStatus.claimed
            ended = NOW - S if status == "completed" else None
            call = Call(lead_id=lead_id, campaign_id=cid, agent_id=agent_id, to="+819012345678",
                        provider="simulated", created_at=NOW - 60 * S, status=status,
                        answered_by="machine", answered_at=NOW - 50 * S, ended_at=ended,
                        duration=49 if ended else None, connected_at=NOW - 50 * S,
                        agent_reserved=True, sim_final_at=NOW + 100 * S)  # fmt: skip
            session.add(call)
            session.flush()
            assert call.id is not None
            call_id = call.id
        with db.write() as session:
            principal = session.get(Agent, agent_id)
            assert principal is not None
            disposed = dispose(
                session,
                principal=principal,
                call_id=call_id,
                data=DispositionInput(
                    outcome=outcome, note="a note", contract_number=None, promise=None
                ),
                now=NOW,
                telephony=SimulatedTelephony(answer_rate=0.5, seed=1),
            )
            clean = not session.is_modified(disposed)
            in_memory = tuple(getattr(disposed, c) for c in DISPOSED_CALL_COLUMNS)
        with db.read() as session:
            stored = session.get(Call, call_id)
            assert stored is not None
            stored_values = tuple(getattr(stored, c) for c in DISPOSED_CALL_COLUMNS)
            lead_status = session.scalar(select(col(Lead.status)).where(col(Lead.id) == lead_id))
            claims = session.scalars(select(Claim).where(col(Claim.lead_id) == lead_id)).all()
            free_since = session.scalar(
                select(col(Agent.free_since)).where(col(Agent.id) == agent_id)
            )
            kinds = session.scalars(
                select(col(Event.kind)).where(col(Event.lead_id) == lead_id).order_by(col(Event.id))
            ).all()
    finally:
        db.dispose()
    assert clean
    assert stored_values == in_memory
    values = dict(zip(DISPOSED_CALL_COLUMNS, stored_values, strict=True))
    assert values["status"] == "completed" and values["sim_final_at"] is None
    assert values["ended_at"] == (NOW - S if status == "completed" else NOW)
    assert values["duration"] == (49 if status == "completed" else 50)
    assert values["answered_by"] == "human"  # the agent heard a person
    assert values["disposition"] == outcome.value
    assert (values["dispositioned_at"], values["dispositioned_by"]) == (NOW, f"agent:{agent_id}")
    assert values["note"] == "a note"
    # Converted closes the lead; not interested is retried later (the policy's ladder).
    assert lead_status == (
        LeadStatus.converted if outcome == Outcome.converted else LeadStatus.scheduled
    )
    assert claims == []
    assert free_since == NOW  # the release freed the agent
    assert "disposition" in kinds and "claim_released" in kinds
