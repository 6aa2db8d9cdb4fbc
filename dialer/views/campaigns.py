"""Campaigns as answers show them."""

from __future__ import annotations

from collections.abc import Sequence

from dialer.campaign.models import Campaign
from dialer.campaign.schemas import CampaignList, CampaignOut
from dialer.campaign.service import zone_of
from dialer.wire import localized


def campaign_view(campaign: Campaign) -> CampaignOut:
    return localized(CampaignOut.model_validate(campaign, from_attributes=True), zone_of(campaign))


def campaign_list(campaigns: Sequence[Campaign]) -> CampaignList:
    return CampaignList(items=[campaign_view(c) for c in campaigns], next_cursor=None)
