"""Campaigns as answers show them."""

from __future__ import annotations

from collections.abc import Sequence

from dialer.campaign.models import Campaign
from dialer.campaign.schemas import CampaignList, CampaignOut


def campaign_view(campaign: Campaign) -> CampaignOut:
    return CampaignOut.model_validate(campaign, from_attributes=True)


def campaign_list(campaigns: Sequence[Campaign]) -> CampaignList:
    return CampaignList(items=[campaign_view(c) for c in campaigns], next_cursor=None)
