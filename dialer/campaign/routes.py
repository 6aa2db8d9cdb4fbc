from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from dialer.agents import access
from dialer.campaign import service
from dialer.campaign.schemas import CampaignCreate, CampaignList, CampaignOut, CampaignUpdate
from dialer.leads.models import ImportStatus
from dialer.leads.schemas import ImportList
from dialer.views.campaigns import campaign_list, campaign_view
from dialer.views.imports import import_page
from dialer.web import CtxDep, Id, ManagerCtxDep, PageCursor, parse_page_cursor

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])

_NAME_TAKEN: dict[int | str, dict[str, Any]] = {
    409: {"description": "a campaign with this name exists (`campaign_exists`)"}
}


@router.post("", status_code=201, response_model=CampaignOut, responses=_NAME_TAKEN)
def create_campaign(body: CampaignCreate, ctx: ManagerCtxDep) -> CampaignOut:
    """Creates a campaign. Only `name` is required; the answer shows every field
    with its default filled in. Nested policies may be given in part."""
    with ctx.tx() as tx:
        campaign = service.create_campaign(tx.session, data=body, now=tx.now)
        return campaign_view(campaign)


@router.get("", response_model=CampaignList)
def list_campaigns(ctx: CtxDep) -> CampaignList:
    """Every campaign for a manager; for an agent, the campaigns it is assigned to."""
    with ctx.tx() as tx:
        return campaign_list(access.readable_campaigns(tx.session, principal=tx.principal))


@router.get("/{campaign_id}", response_model=CampaignOut)
def get_campaign(campaign_id: Id, ctx: CtxDep) -> CampaignOut:
    """A manager reads any campaign; an agent one it is assigned to (else 403),
    with its call script."""
    with ctx.tx() as tx:
        return campaign_view(
            access.readable_campaign(tx.session, principal=tx.principal, campaign_id=campaign_id)
        )


@router.patch("/{campaign_id}", response_model=CampaignOut, responses=_NAME_TAKEN)
def update_campaign(campaign_id: Id, body: CampaignUpdate, ctx: ManagerCtxDep) -> CampaignOut:
    """Changes any field; the fields not given keep their values, nested policies
    their keys not given. `status` pauses and resumes the campaign."""
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
