"""Agents as answers show them, and the lead an agent is handed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from dialer.agents.models import Agent
from dialer.agents.order import ClaimReason
from dialer.agents.schemas import AgentCreated, AgentList, AgentOut, NextLeadOut
from dialer.agents.service import campaign_ids_of, list_agents
from dialer.promises.booking import get_promise
from dialer.views.leads import get_lead, lead_summary
from dialer.views.overlay import Overlay
from dialer.views.promises import promise_view
from dialer.views.zones import zone_for
from dialer.wire import localized


def _with_campaigns(session: Session, agent: Agent) -> Overlay:
    assert agent.id is not None
    return Overlay(agent, campaign_ids=campaign_ids_of(session, agent_id=agent.id))


def agent_view(session: Session, *, agent: Agent) -> AgentOut:
    return AgentOut.model_validate(_with_campaigns(session, agent), from_attributes=True)


def agent_created(session: Session, *, agent: Agent, token: str) -> AgentCreated:
    """The one answer that carries the agent's token: it is stored only hashed."""
    return AgentCreated.model_validate(
        Overlay(_with_campaigns(session, agent), token=token), from_attributes=True
    )


def agent_list(session: Session) -> AgentList:
    return AgentList(items=[agent_view(session, agent=a) for a in list_agents(session)])


def next_lead_view(
    session: Session, *, lead_id: int, reason: str, claim_expires_at: datetime
) -> NextLeadOut:
    """The lead just claimed, with the promise it is called for."""
    lead = get_lead(session, lead_id=lead_id)
    promise = None
    if reason == ClaimReason.promise and lead.promise_id is not None:
        promise = promise_view(get_promise(session, promise_id=lead.promise_id))
    out = NextLeadOut(
        lead=lead_summary(session, lead=lead),
        reason=reason,
        promise=promise,
        claim_expires_at=claim_expires_at,
    )
    return localized(out, zone_for(lead))
