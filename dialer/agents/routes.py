from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from dialer.agents import queue, service
from dialer.agents.schemas import (
    AgentCreate,
    AgentCreated,
    AgentList,
    AgentOut,
    AgentStateIn,
    AgentUpdate,
    NextLeadOut,
)
from dialer.auth import require_self_or_manager
from dialer.views.agents import agent_created, agent_list, agent_view, next_lead_view
from dialer.web import CtxDep, Id, ManagerCtxDep

router = APIRouter(prefix="/api/agents", tags=["agents"])


@router.post("", status_code=201, response_model=AgentCreated)
def create_agent(body: AgentCreate, ctx: ManagerCtxDep) -> AgentCreated:
    """Creates an agent on the given campaigns, `available`. Its bearer `token` is
    in this answer only (the service keeps a digest)."""
    with ctx.tx() as tx:
        agent, token = service.create_agent(
            tx.session,
            name=body.name,
            campaign_ids=body.campaign_ids,
            endpoint=body.endpoint,
            now=tx.now,
        )
        return agent_created(tx.session, agent=agent, token=token)


@router.get("", response_model=AgentList)
def list_agents(ctx: ManagerCtxDep) -> AgentList:
    """Every agent and manager, without tokens."""
    with ctx.tx() as tx:
        return agent_list(tx.session)


@router.get("/{agent_id}", response_model=AgentOut)
def get_agent(agent_id: Id, ctx: CtxDep) -> AgentOut:
    """One agent: its campaigns, endpoint and state. An agent may read itself."""
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        return agent_view(tx.session, agent=service.get_agent(tx.session, agent_id=agent_id))


@router.patch("/{agent_id}", response_model=AgentOut)
def update_agent(agent_id: Id, body: AgentUpdate, ctx: ManagerCtxDep) -> AgentOut:
    """Replaces the campaigns the agent works on."""
    with ctx.tx() as tx:
        agent = service.get_agent(tx.session, agent_id=agent_id)
        service.set_campaigns(tx.session, agent_id=agent_id, campaign_ids=body.campaign_ids)
        return agent_view(tx.session, agent=agent)


@router.put("/{agent_id}/state", response_model=AgentOut)
def set_state(agent_id: Id, body: AgentStateIn, ctx: CtxDep) -> AgentOut:
    """`available` (takes leads), `paused` or `offline`: the agent itself or a manager."""
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        agent = service.set_state(tx.session, agent_id=agent_id, state=body.state, now=tx.now)
        return agent_view(tx.session, agent=agent)


@router.post(
    "/{agent_id}/next",
    response_model=NextLeadOut,
    responses={
        204: {"description": "nothing callable now"},
        409: {"description": "the agent is not `available` (`agent_not_available`)"},
    },
)
def next_lead(agent_id: Id, ctx: CtxDep) -> Any:
    """Claims the next lead for this agent and returns it with why it comes now
    (`promise`, `retry`, `new`): its own due promises first, then promises due for
    anyone, then due retries, then new leads by priority. Asking again while
    holding a claim returns the same lead; an unused claim expires."""
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        service.get_agent(tx.session, agent_id=agent_id)
        got = queue.claim_next(
            tx.writing,
            agent_id=agent_id,
            now=tx.now,
            ttl=tx.runtime.claim_ttl,
        )
        if got is None:
            return Response(status_code=204)
        return next_lead_view(
            tx.session,
            lead_id=got.lead_id,
            reason=got.reason,
            claim_expires_at=got.claim_expires_at,
        )
