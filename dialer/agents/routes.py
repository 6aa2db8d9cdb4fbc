from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from dialer.agents import queue, service
from dialer.agents.models import Agent, AgentState
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
from dialer.leads.service import get_lead, lead_summary
from dialer.promises.booking import get_promise
from dialer.promises.reading import promise_out
from dialer.web import CtxDep, Id, ManagerCtxDep

router = APIRouter(prefix="/api/agents", tags=["agents"])


def _out(tx_session: Any, agent: Agent) -> dict[str, Any]:
    assert agent.id is not None
    return {
        "id": agent.id,
        "name": agent.name,
        "campaign_ids": service.campaign_ids_of(tx_session, agent_id=agent.id),
        "endpoint": agent.endpoint,
        "state": agent.state,
        "created_at": agent.created_at,
    }


@router.post("", status_code=201, response_model=AgentCreated)
def create_agent(body: AgentCreate, ctx: ManagerCtxDep) -> dict[str, Any]:
    with ctx.tx() as tx:
        agent, token = service.create_agent(
            tx.session,
            name=body.name,
            campaign_ids=body.campaign_ids,
            endpoint=body.endpoint,
            now=tx.now,
        )
        return {**_out(tx.session, agent), "token": token}


@router.get("", response_model=AgentList)
def list_agents(ctx: ManagerCtxDep) -> dict[str, Any]:
    with ctx.tx() as tx:
        return {"items": [_out(tx.session, a) for a in service.list_agents(tx.session)]}


@router.get("/{agent_id}", response_model=AgentOut)
def get_agent(agent_id: Id, ctx: CtxDep) -> dict[str, Any]:
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        return _out(tx.session, service.get_agent(tx.session, agent_id=agent_id))


@router.patch("/{agent_id}", response_model=AgentOut)
def update_agent(agent_id: Id, body: AgentUpdate, ctx: ManagerCtxDep) -> dict[str, Any]:
    with ctx.tx() as tx:
        agent = service.get_agent(tx.session, agent_id=agent_id)
        service.set_campaigns(tx.session, agent_id=agent_id, campaign_ids=body.campaign_ids)
        return _out(tx.session, agent)


@router.put("/{agent_id}/state", response_model=AgentOut)
def set_state(agent_id: Id, body: AgentStateIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        agent = service.set_state(
            tx.session, agent_id=agent_id, state=AgentState(body.state), now=tx.now
        )
        return _out(tx.session, agent)


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
        lead = get_lead(tx.session, lead_id=got.lead_id)
        promise = None
        if got.reason == "promise" and lead.promise_id is not None:
            promise = promise_out(get_promise(tx.session, promise_id=lead.promise_id))
        return {
            "lead": lead_summary(tx.session, lead=lead),
            "reason": got.reason,
            "promise": promise,
            "claim_expires_at": got.claim_expires_at,
        }
