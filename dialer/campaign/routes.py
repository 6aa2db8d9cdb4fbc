from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dialer.campaign import service
from dialer.campaign.schemas import CampaignCreate, CampaignList, CampaignOut, CampaignUpdate
from dialer.web import Id, ManagerCtxDep

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])


@router.post("", status_code=201, response_model=CampaignOut)
def create_campaign(body: CampaignCreate, ctx: ManagerCtxDep) -> dict[str, Any]:
    with ctx.tx() as tx:
        campaign = service.create_campaign(tx.session, data=body, now=tx.now)
        return service.campaign_out(campaign)


@router.get("", response_model=CampaignList)
def list_campaigns(ctx: ManagerCtxDep) -> dict[str, Any]:
    with ctx.tx() as tx:
        items = service.list_campaigns(tx.session)
        return {"items": [service.campaign_out(c) for c in items], "next_cursor": None}


@router.get("/{campaign_id}", response_model=CampaignOut)
def get_campaign(campaign_id: Id, ctx: ManagerCtxDep) -> dict[str, Any]:
    with ctx.tx() as tx:
        return service.campaign_out(service.get_campaign(tx.session, campaign_id=campaign_id))


@router.patch("/{campaign_id}", response_model=CampaignOut)
def update_campaign(campaign_id: Id, body: CampaignUpdate, ctx: ManagerCtxDep) -> dict[str, Any]:
    with ctx.tx() as tx:
        campaign = service.update_campaign(
            tx.session, campaign_id=campaign_id, data=body, now=tx.now
        )
        return service.campaign_out(campaign)
