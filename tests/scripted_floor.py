"""Rows of a scripted floor written straight through the services and the ORM
(no HTTP): the tests of the predictive path's hand-written reads build their
floors from these, then compare the reads with the ORM's rule."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

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
