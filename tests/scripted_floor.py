"""Rows of a scripted floor written straight through the services and the ORM
(no HTTP): the tests of the predictive path's hand-written reads build their
floors from these, then compare the reads with the ORM's rule."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dialer.agents.models import Agent, Claim
from dialer.agents.service import create_agent
from dialer.campaign.schemas import CampaignCreate
from dialer.campaign.service import create_campaign
from dialer.leads.models import Lead


def predictive_campaign(session: Any, name: str, *, now: datetime) -> int:
    """A predictive campaign made the day before `now`; its id."""
    campaign = create_campaign(
        session,
        data=CampaignCreate(
            name=name, dial_mode="predictive", seller_name="Seller", call_reason="A plan",
            callback_number="+81312345678",
        ),
        now=now - timedelta(days=1),
    )  # fmt: skip
    assert campaign.id is not None
    return campaign.id


def bare_lead(session: Any, campaign_id: int, *, now: datetime) -> int:
    """A lead with no phone (flushed for its id): enough for claims and calls."""
    lead = Lead(campaign_id=campaign_id, timezone="Asia/Tokyo", failure_counts={}, extra={},
                raw={}, created_at=now, updated_at=now)  # fmt: skip
    session.add(lead)
    session.flush()
    assert lead.id is not None
    return lead.id


def floor_agent(
    session: Any, name: str, campaigns: list[int], *, now: datetime, **kw: Any
) -> Agent:
    """An agent of `campaigns`; `kw`: its `endpoint`, and columns set after it is
    made (left pending in the session: a hand-written read must flush them)."""
    agent, _token = create_agent(
        session, name=name, campaign_ids=campaigns, endpoint=kw.pop("endpoint", None), now=now
    )
    for key, value in kw.items():
        setattr(agent, key, value)
    assert agent.id is not None
    return agent


def claimed_lead(
    session: Any, *, campaign_id: int, agent_id: int | None, reason: str, now: datetime
) -> int:
    """A new lead of the campaign held by a claim (`agent_id` None: the
    dialer's), claimed a minute before `now`; the lead's id."""
    lead_id = bare_lead(session, campaign_id, now=now)
    session.add(Claim(lead_id=lead_id, agent_id=agent_id, campaign_id=campaign_id, reason=reason,
                      prev_status="new", claimed_at=now - timedelta(seconds=60),
                      claim_expires_at=now + timedelta(seconds=600)))  # fmt: skip
    return lead_id
