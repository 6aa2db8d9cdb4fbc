from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import Response

from dialer.agents import deactivation, queue, service
from dialer.agents.models import Role
from dialer.agents.schemas import (
    AccountEventList,
    AgentCreate,
    AgentCreated,
    AgentDeactivated,
    AgentList,
    AgentOut,
    AgentStateIn,
    AgentUpdate,
    DeactivateIn,
    NextLeadOut,
    RoleFilter,
)
from dialer.auth import actor_of, require_self_or_manager
from dialer.views.agents import (
    account_history_page,
    agent_created,
    agent_page,
    agent_view,
    deactivation_view,
    next_lead_view,
)
from dialer.web import CtxDep, Id, ManagerCtxDep, parse_cursor

router = APIRouter(prefix="/api/agents", tags=["agents"])


@router.post("", status_code=201, response_model=AgentCreated)
def create_agent(body: AgentCreate, ctx: ManagerCtxDep) -> AgentCreated:
    """Creates an agent on the given campaigns, `available`. Its bearer `token` is
    in this answer only (the service keeps a digest)."""
    with ctx.tx() as tx:
        agent, token = service.create_agent(
            tx.session,
            name=body.name,
            role=body.role,
            campaign_ids=body.campaign_ids,
            endpoint=body.endpoint,
            now=tx.now,
            actor=actor_of(tx.principal),
        )
        return agent_created(tx.session, agent=agent, token=token)


@router.get("", response_model=AgentList)
def list_agents(
    ctx: ManagerCtxDep,
    role: Annotated[RoleFilter, Query(description="agent (the default), manager, or any")] = (
        RoleFilter.agent
    ),
    active: Annotated[
        bool | None, Query(description="true: active only; false: deactivated")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    cursor: str | None = None,
) -> AgentList:
    """Agents and managers, without tokens, filtered by role and active, paginated."""
    with ctx.tx() as tx:
        agents = service.list_agents(
            tx.session,
            role=None if role == RoleFilter.any else Role(role),
            active=active,
            limit=limit,
            after_id=parse_cursor(cursor),
        )
        return agent_page(tx.session, agents=agents, limit=limit)


@router.get("/{agent_id}", response_model=AgentOut)
def get_agent(agent_id: Id, ctx: CtxDep) -> AgentOut:
    """One agent: its campaigns, endpoint and state. An agent may read itself."""
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        return agent_view(tx.session, agent=service.get_account(tx.session, agent_id=agent_id))


@router.patch("/{agent_id}", response_model=AgentOut)
def update_agent(agent_id: Id, body: AgentUpdate, ctx: ManagerCtxDep) -> AgentOut:
    """Rename, reassign to campaigns, move the endpoint: only the fields given change."""
    with ctx.tx() as tx:
        agent = service.update(
            tx.session,
            agent_id=agent_id,
            changes=body.changes(),
            actor=actor_of(tx.principal),
            now=tx.now,
        )
        return agent_view(tx.session, agent=agent)


@router.put("/{agent_id}/state", response_model=AgentOut)
def set_state(agent_id: Id, body: AgentStateIn, ctx: CtxDep) -> AgentOut:
    """`available` (takes leads), `paused` or `offline`: the agent itself or a manager."""
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        agent = service.set_state(tx.session, agent_id=agent_id, state=body.state, now=tx.now)
        return agent_view(tx.session, agent=agent)


@router.post("/{agent_id}/deactivate", response_model=AgentDeactivated)
def deactivate_agent(
    agent_id: Id, ctx: ManagerCtxDep, body: Annotated[DeactivateIn | None, Body()] = None
) -> AgentDeactivated:
    """The token stops working at once; the claim is released and the promises are
    handed over by each campaign's `on_missed` rule."""
    with ctx.tx() as tx:
        done = deactivation.deactivate(
            tx.session,
            agent_id=agent_id,
            promises_to=body.promises_to if body is not None else None,
            actor=actor_of(tx.principal),
            now=tx.now,
            bootstrap_token=tx.runtime.settings.bootstrap_token,
        )
        return deactivation_view(tx.session, done=done)


@router.post("/{agent_id}/reactivate", response_model=AgentCreated)
def reactivate_agent(agent_id: Id, ctx: ManagerCtxDep) -> AgentCreated:
    """Active again, offline, with a new token shown once (the old one stays dead)."""
    with ctx.tx() as tx:
        agent, token = service.reactivate(
            tx.session, agent_id=agent_id, actor=actor_of(tx.principal), now=tx.now
        )
        return agent_created(tx.session, agent=agent, token=token)


@router.post("/{agent_id}/token", response_model=AgentCreated)
def new_token(agent_id: Id, ctx: CtxDep) -> AgentCreated:
    """A new token, shown once; the old one is refused from this answer on. A
    manager for any account, an agent for itself."""
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        agent = service.get_account(tx.session, agent_id=agent_id, lock=True)
        token = service.rotate_token(
            tx.session,
            agent=agent,
            now=tx.now,
            actor=actor_of(tx.principal),
            bootstrap_token=tx.runtime.settings.bootstrap_token,
        )
        return agent_created(tx.session, agent=agent, token=token)


@router.get("/{agent_id}/history", response_model=AccountEventList)
def account_history(
    agent_id: Id,
    ctx: ManagerCtxDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    cursor: str | None = None,
) -> AccountEventList:
    """An account's own history (created, renamed, token rotated, deactivated,
    reactivated), oldest first; never a token."""
    with ctx.tx() as tx:
        service.get_account(tx.session, agent_id=agent_id)
        events = service.account_history(
            tx.session, agent_id=agent_id, limit=limit, after_id=parse_cursor(cursor)
        )
        return account_history_page(events, limit=limit)


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
