from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from dialer.agents import access
from dialer.auth import actor_of
from dialer.campaign import service
from dialer.campaign.schemas import (
    CampaignClone,
    CampaignCreate,
    CampaignHistory,
    CampaignList,
    CampaignOut,
    CampaignUpdate,
    TestCallIn,
    TestCallOut,
)
from dialer.leads.models import ImportStatus
from dialer.leads.schemas import ImportList
from dialer.telephony import blocks, dialing
from dialer.views.campaigns import (
    block_record,
    campaign_list,
    campaign_view,
    history_view,
    test_call_view,
)
from dialer.views.imports import import_page
from dialer.web import CtxDep, Id, ManagerCtxDep, PageCursor, parse_page_cursor

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])
# The account's own settings (its dialing block).
account_router = APIRouter(prefix="/api/account", tags=["campaigns"])

_NAME_TAKEN: dict[int | str, dict[str, Any]] = {
    409: {"description": "a campaign with this name exists (`campaign_exists`)"}
}


@router.post("", status_code=201, response_model=CampaignOut, responses=_NAME_TAKEN)
def create_campaign(body: CampaignCreate, ctx: ManagerCtxDep) -> CampaignOut:
    """Creates a campaign. Only `name` is required; the answer shows every field
    with its default filled in. Nested policies may be given in part."""
    with ctx.tx() as tx:
        campaign = service.create_campaign(
            tx.session, data=body, now=tx.now, actor=actor_of(tx.principal)
        )
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
            tx.session,
            campaign_id=campaign_id,
            data=body,
            now=tx.now,
            actor=actor_of(tx.principal),
        )
        return campaign_view(campaign)


@router.post(
    "/{campaign_id}/clone",
    status_code=201,
    response_model=CampaignOut,
    responses={**_NAME_TAKEN, 404: {"description": "unknown campaign (`campaign_not_found`)"}},
)
def clone_campaign(campaign_id: Id, body: CampaignClone, ctx: ManagerCtxDep) -> CampaignOut:
    """A new campaign with every setting of this one but its name, `paused` (so
    nothing dials before a manager looks) and without its leads, imports or
    dialing block. Its history starts with `cloned`."""
    with ctx.tx() as tx:
        campaign = service.clone_campaign(
            tx.session,
            campaign_id=campaign_id,
            name=body.name,
            now=tx.now,
            actor=actor_of(tx.principal),
        )
        return campaign_view(campaign)


@router.get(
    "/{campaign_id}/history",
    response_model=CampaignHistory,
    responses={404: {"description": "unknown campaign (`campaign_not_found`)"}},
)
def campaign_history(
    campaign_id: Id,
    ctx: ManagerCtxDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: PageCursor = None,
) -> CampaignHistory:
    """Every change to the campaign's settings, newest first: created, updated,
    paused, resumed, cloned, dialing_block_lifted, who did it and each field's
    value before and after."""
    with ctx.tx() as tx:
        return history_view(
            tx.session, campaign_id=campaign_id, limit=limit, before_id=parse_page_cursor(cursor)
        )


@router.delete(
    "/{campaign_id}/dialing-block",
    response_model=CampaignOut,
    responses={404: {"description": "unknown campaign (`campaign_not_found`)"}},
)
def clear_dialing_block(campaign_id: Id, ctx: ManagerCtxDep) -> CampaignOut:
    """Lifts the campaign's own dialing block (set by a provider fault of its
    set-up); answers the campaign, whose `dialing_blocked` still shows an
    account-wide block if one stands. No block: nothing changes."""
    with ctx.tx() as tx:
        campaign = service.get_campaign(tx.session, campaign_id=campaign_id)
        lifted = blocks.clear(tx.session, campaign_id=campaign_id)
        if lifted is not None:
            service.record_block_lifted(
                tx.session,
                campaign_id=campaign_id,
                block=block_record(lifted, campaign=campaign),
                actor=actor_of(tx.principal),
                now=tx.now,
            )
        return campaign_view(campaign)


@router.post(
    "/{campaign_id}/test-call",
    response_model=TestCallOut,
    responses={
        404: {"description": "unknown campaign (`campaign_not_found`)"},
        409: {"description": "the provider refused the call (the fault's code), or no caller_id"},
        422: {"description": "`to` is not a phone number, or one the provider refuses"},
    },
)
def test_call(campaign_id: Id, body: TestCallIn, ctx: ManagerCtxDep) -> TestCallOut:
    """Places one call from the campaign's caller id to `to` (a manager's phone).
    Accepted by the provider: the account's and the campaign's dialing blocks
    are lifted. The provider is asked outside any transaction, as every dial."""
    rt = ctx.runtime
    result = dialing.test_call(
        rt.db, rt.creator, campaign_id=campaign_id, to=body.to, now_in=rt.now_in
    )
    with ctx.tx() as tx:
        campaign = service.get_campaign(tx.session, campaign_id=campaign_id)
        for lifted in result.cleared:
            if lifted.campaign_id == campaign_id:
                service.record_block_lifted(
                    tx.session,
                    campaign_id=campaign_id,
                    block=block_record(lifted, campaign=campaign),
                    actor=actor_of(tx.principal),
                    now=tx.now,
                )
        return test_call_view(campaign, result=result)


@account_router.delete("/dialing-block", status_code=204, response_class=Response)
def clear_account_dialing_block(ctx: ManagerCtxDep) -> Response:
    """Lifts the account-wide dialing block (set by a provider fault of the
    account: credentials, trial, suspension). No block: nothing changes."""
    with ctx.tx() as tx:
        blocks.clear(tx.session, campaign_id=None)
    return Response(status_code=204)


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
