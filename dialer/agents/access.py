"""What an agent may read beyond its own queue: the campaigns it takes leads
from (assigned to it), call scripts included. Managers read every campaign.

Another campaign's id answers 403 (`not_your_campaign`) rather than 404: the
contract's rule for someone else's resource. Campaign ids are not secrets (an
agent sees them on every lead), and nothing in a campaign is: its caller id is
shown to every customer it calls."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.models import Agent, AgentCampaign, Role
from dialer.campaign.models import Campaign
from dialer.campaign.service import get_campaign, list_campaigns
from dialer.errors import Forbidden


def readable_campaigns(session: Session, *, principal: Agent) -> list[Campaign]:
    if principal.role == Role.manager:
        return list_campaigns(session)
    return list(
        session.scalars(
            select(Campaign)
            .join(AgentCampaign, col(AgentCampaign.campaign_id) == col(Campaign.id))
            .where(col(AgentCampaign.agent_id) == principal.id)
            .order_by(col(Campaign.id))
        )
    )


def readable_campaign(session: Session, *, principal: Agent, campaign_id: int) -> Campaign:
    """The campaign (404 when there is none), if the principal may read it (403)."""
    campaign = get_campaign(session, campaign_id=campaign_id)
    if principal.role == Role.manager:
        return campaign
    assigned = session.scalar(
        select(col(AgentCampaign.campaign_id)).where(
            col(AgentCampaign.agent_id) == principal.id,
            col(AgentCampaign.campaign_id) == campaign_id,
        )
    )
    if assigned is None:
        raise Forbidden(
            f"campaign {campaign_id} is not one of this agent's campaigns",
            code="not_your_campaign",
        )
    return campaign
