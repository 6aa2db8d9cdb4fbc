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
    with ctx.tx() as tx:
        return agent_list(tx.session)


@router.get("/{agent_id}", response_model=AgentOut)
def get_agent(agent_id: Id, ctx: CtxDep) -> AgentOut:
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        return agent_view(tx.session, agent=service.get_agent(tx.session, agent_id=agent_id))


@router.patch("/{agent_id}", response_model=AgentOut)
def update_agent(agent_id: Id, body: AgentUpdate, ctx: ManagerCtxDep) -> AgentOut:
    with ctx.tx() as tx:
        agent = service.get_agent(tx.session, agent_id=agent_id)
        service.set_campaigns(tx.session, agent_id=agent_id, campaign_ids=body.campaign_ids)
        return agent_view(tx.session, agent=agent)


@router.put("/{agent_id}/state", response_model=AgentOut)
def set_state(agent_id: Id, body: AgentStateIn, ctx: CtxDep) -> AgentOut:
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        agent = service.set_state(tx.session, agent_id=agent_id, state=body.state, now=tx.now)
        return agent_view(tx.session, agent=agent)


@router.post(
    "/{agent_id}/next",
    response_model=NextLeadOut,
    responses={204: {"description": "nothing callable now"}},
)
def next_lead(agent_id: Id, ctx: CtxDep) -> Any:
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
