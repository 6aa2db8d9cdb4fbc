"""The script panel: the campaign's script filled in for one lead."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.models import Agent, Claim
from dialer.campaign import script
from dialer.campaign.service import get_campaign
from dialer.leads.models import Phone
from dialer.leads.schemas import OpeningItemOut, ScriptOut
from dialer.views.leads import check_lead_access, get_lead


def lead_script(session: Session, *, principal: Agent, lead_id: int) -> ScriptOut:
    """A manager, or the agent holding the claim. `{agent_name}` is the holder's
    name (the reader's, when nobody holds the lead); `{phone}` the lead's first
    phone still in use."""
    lead = get_lead(session, lead_id=lead_id)
    check_lead_access(session, principal=principal, lead=lead)
    campaign = get_campaign(session, campaign_id=lead.campaign_id)
    holder_id = session.scalar(select(col(Claim.agent_id)).where(col(Claim.lead_id) == lead.id))
    holder = session.get(Agent, holder_id) if holder_id is not None else None
    agent_name = (holder or principal).name
    phone = session.scalar(
        select(col(Phone.number))
        .where(col(Phone.lead_id) == lead.id, col(Phone.retired).is_(False))
        .order_by(col(Phone.position), col(Phone.id))
        .limit(1)
    )
    seller = script.seller_of(seller_name=campaign.seller_name, campaign_name=campaign.name)
    filled = script.fill(
        campaign.script,
        values={
            "name": lead.name,
            "company": lead.company,
            "current_provider": lead.current_provider,
            "contract_number": lead.contract_number,
            "phone": phone,
            "agent_name": agent_name,
            "seller_name": seller,
            "call_reason": campaign.call_reason,
        },
        extra=lead.extra or {},
    )
    assert lead.id is not None and campaign.id is not None
    return ScriptOut(
        lead_id=lead.id,
        campaign_id=campaign.id,
        text=filled.text,
        opening=[
            OpeningItemOut(key=item.key, value=item.value)
            for item in script.opening(
                seller=seller, agent_name=agent_name, purpose=campaign.call_reason
            )
        ],
        unfilled=filled.unfilled,
    )
