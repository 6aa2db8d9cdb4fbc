from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from dialer.agents import queue, service
from dialer.agents.schemas import (
    AgentCreate,
    AgentCreated,
    AgentList,
    AgentOut,
    AgentQueueOut,
    AgentStateIn,
    AgentUpdate,
    NextLeadOut,
    NothingCallableOut,
)
from dialer.auth import require_self_or_manager
from dialer.reports.schemas import AgentDayStats
from dialer.reports.service import agent_day
from dialer.views.agents import agent_created, agent_list, agent_view, next_lead_view
from dialer.views.queue import agent_queue as agent_queue_view
from dialer.views.queue import nothing_callable
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
    response_model=NextLeadOut | NothingCallableOut,
    responses={
        200: {
            "description": "the lead claimed; or, with `explain=true` and nothing callable,"
            " why not and when something next becomes callable (`lead` is null)",
            "headers": {
                "Retry-After": {
                    "description": "with explain=true and nothing callable: seconds (clock"
                    " time) until next_callable_at",
                    "schema": {"type": "integer"},
                }
            },
        },
        204: {"description": "nothing callable now"},
    },
)
def next_lead(
    agent_id: Id,
    ctx: CtxDep,
    explain: Annotated[
        bool,
        Query(
            description="answer 200 with the reason and the next callable instant instead"
            " of a bare 204 when nothing is callable now"
        ),
    ] = False,
) -> Any:
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
            if not explain:
                # The default stays a bare 204 (the contract), and as cheap as the claim.
                return Response(status_code=204)
            why = nothing_callable(tx.session, agent_id=agent_id, now=tx.now)
            headers = {} if why.retry_after is None else {"Retry-After": str(why.retry_after)}
            return JSONResponse(why.model_dump(mode="json"), headers=headers)
        return next_lead_view(
            tx.session,
            lead_id=got.lead_id,
            reason=got.reason,
            claim_expires_at=got.claim_expires_at,
        )


@router.get("/{agent_id}/queue", response_model=AgentQueueOut)
def agent_queue(agent_id: Id, ctx: CtxDep) -> AgentQueueOut:
    """The queue diagnosis of each of the agent's campaigns as its queue sees them
    (another agent's promise leads count as `promise_pending`), and when something
    next becomes callable for it. The agent itself or a manager."""
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        agent = service.get_agent(tx.session, agent_id=agent_id)
        return agent_queue_view(tx.session, agent=agent, now=tx.now)


@router.get("/{agent_id}/stats", response_model=AgentDayStats)
def agent_stats(
    agent_id: Id,
    ctx: CtxDep,
    date: Annotated[
        dt.date | None,
        Query(
            ge=dt.date(2000, 1, 1),
            le=dt.date(2100, 12, 31),
            description="a local day (2026-12-01), in each campaign's time zone; default today",
        ),
    ] = None,
) -> dict[str, Any]:
    """The agent's own figures for a day in each of its campaigns (calls, contacts,
    talk time, conversions, promises made / kept / missed), counted as
    `/api/reports/agents` counts them, and their total. The agent itself or a manager."""
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        agent = service.get_agent(tx.session, agent_id=agent_id)
        return agent_day(tx.session, agent_id=agent_id, name=agent.name, now=tx.now, day=date)
