from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from dialer.campaign import service
from dialer.campaign.schemas import CampaignCreate, CampaignList, CampaignOut, CampaignUpdate
from dialer.leads.models import ImportStatus
from dialer.leads.schemas import ImportList
from dialer.views.campaigns import campaign_list, campaign_view
from dialer.views.imports import import_page
from dialer.web import Id, ManagerCtxDep, PageCursor, parse_page_cursor

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])


@router.post("", status_code=201, response_model=CampaignOut)
def create_campaign(body: CampaignCreate, ctx: ManagerCtxDep) -> CampaignOut:
    with ctx.tx() as tx:
        campaign = service.create_campaign(tx.session, data=body, now=tx.now)
        return campaign_view(campaign)


@router.get("", response_model=CampaignList)
def list_campaigns(ctx: ManagerCtxDep) -> CampaignList:
    with ctx.tx() as tx:
        return campaign_list(service.list_campaigns(tx.session))


@router.get("/{campaign_id}", response_model=CampaignOut)
def get_campaign(campaign_id: Id, ctx: ManagerCtxDep) -> CampaignOut:
    with ctx.tx() as tx:
        return campaign_view(service.get_campaign(tx.session, campaign_id=campaign_id))


@router.patch("/{campaign_id}", response_model=CampaignOut)
def update_campaign(campaign_id: Id, body: CampaignUpdate, ctx: ManagerCtxDep) -> CampaignOut:
    with ctx.tx() as tx:
        campaign = service.update_campaign(
            tx.session, campaign_id=campaign_id, data=body, now=tx.now
        )
        return campaign_view(campaign)


@router.get("/{campaign_id}/imports", response_model=ImportList)
def list_imports(
    campaign_id: Id,
    ctx: ManagerCtxDep,
    status: ImportStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: PageCursor = None,
) -> ImportList:
    """The campaign's lead-list imports, newest first."""
    with ctx.tx() as tx:
        return import_page(
            tx.session,
            campaign_id=campaign_id,
            status=status,
            limit=limit,
            before_id=parse_page_cursor(cursor),
        )
