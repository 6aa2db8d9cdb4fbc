"""Agents as answers show them, and the lead an agent is handed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from dialer.agents.deactivation import Deactivation
from dialer.agents.models import AccountEvent, Agent
from dialer.agents.order import ClaimReason
from dialer.agents.schemas import (
    AccountEventList,
    AccountEventOut,
    AgentCreated,
    AgentDeactivated,
    AgentList,
    AgentOut,
    HandedOverOut,
    NextLeadOut,
)
from dialer.agents.service import campaign_ids_by_agent, campaign_ids_of
from dialer.promises.booking import get_promise
from dialer.views.leads import get_lead, lead_summary
from dialer.views.overlay import Overlay
from dialer.views.paging import next_cursor
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


def agent_page(session: Session, *, agents: Sequence[Agent], limit: int) -> AgentList:
    ids = [a.id for a in agents if a.id is not None]
    campaigns = campaign_ids_by_agent(session, agent_ids=ids)
    items = [
        AgentOut.model_validate(
            Overlay(a, campaign_ids=campaigns.get(a.id or 0, [])), from_attributes=True
        )
        for a in agents
    ]
    return AgentList(items=items, next_cursor=next_cursor(agents, limit=limit))


def deactivation_view(session: Session, *, done: Deactivation) -> AgentDeactivated:
    return AgentDeactivated.model_validate(
        Overlay(
            _with_campaigns(session, done.agent),
            released_lead_id=done.released_lead_id,
            handed_over=[
                HandedOverOut.model_validate(h, from_attributes=True) for h in done.handed_over
            ],
        ),
        from_attributes=True,
    )


def account_history_page(events: Sequence[AccountEvent], *, limit: int) -> AccountEventList:
    return AccountEventList(
        items=[AccountEventOut.model_validate(e, from_attributes=True) for e in events],
        next_cursor=next_cursor(events, limit=limit),
    )


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
