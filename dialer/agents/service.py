"""Agents: creation (token shown once), campaign assignment, state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.models import Agent, AgentCampaign, AgentState, Role
from dialer.auth import hash_token, new_token
from dialer.campaign.models import Campaign
from dialer.errors import Invalid, NotFound


def get_agent(session: Session, *, agent_id: int) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None or agent.role != Role.agent:
        raise NotFound(f"agent {agent_id} does not exist", code="agent_not_found")
    return agent


def campaign_ids_of(session: Session, *, agent_id: int) -> list[int]:
    return list(
        session.scalars(
            select(col(AgentCampaign.campaign_id))
            .where(col(AgentCampaign.agent_id) == agent_id)
            .order_by(col(AgentCampaign.campaign_id))
        )
    )


def _check_campaigns(session: Session, campaign_ids: list[int]) -> None:
    for index, campaign_id in enumerate(campaign_ids):
        if session.get(Campaign, campaign_id) is None:
            raise Invalid(
                f"campaign_ids[{index}]: campaign {campaign_id} does not exist",
                code="campaign_not_found",
                field=f"campaign_ids[{index}]",
            )


def create_agent(
    session: Session,
    *,
    name: str,
    campaign_ids: list[int],
    endpoint: str | None,
    now: datetime,
    role: Role = Role.agent,
) -> tuple[Agent, str]:
    """Returns the agent and its token; only the digest is kept, so this is the one
    moment the token can be shown."""
    _check_campaigns(session, campaign_ids)
    token = new_token()
    agent = Agent(
        name=name,
        role=role,
        token_hash=hash_token(token),
        endpoint=endpoint,
        state=AgentState.available,
        created_at=now,
        state_changed_at=now,
    )
    session.add(agent)
    session.flush()
    assert agent.id is not None
    for campaign_id in dict.fromkeys(campaign_ids):
        session.add(AgentCampaign(agent_id=agent.id, campaign_id=campaign_id))
    session.flush()
    return agent, token


def rotate_token(session: Session, *, agent: Agent) -> str:
    token = new_token()
    agent.token_hash = hash_token(token)
    session.flush()
    return token


def set_campaigns(session: Session, *, agent_id: int, campaign_ids: list[int]) -> None:
    _check_campaigns(session, campaign_ids)
    session.execute(delete(AgentCampaign).where(col(AgentCampaign.agent_id) == agent_id))
    for campaign_id in dict.fromkeys(campaign_ids):
        session.add(AgentCampaign(agent_id=agent_id, campaign_id=campaign_id))
    session.flush()


def list_agents(session: Session) -> list[Agent]:
    return list(
        session.scalars(select(Agent).where(col(Agent.role) == Role.agent).order_by(col(Agent.id)))
    )


def set_state(session: Session, *, agent_id: int, state: AgentState, now: datetime) -> Agent:
    agent = get_agent(session, agent_id=agent_id)
    if agent.state != state:
        agent.state = state
        agent.state_changed_at = now
    return agent
