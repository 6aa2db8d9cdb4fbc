"""Campaigns as answers show them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from dialer.campaign import history
from dialer.campaign.models import Campaign
from dialer.campaign.schemas import (
    CampaignChange,
    CampaignEventOut,
    CampaignHistory,
    CampaignList,
    CampaignOut,
    DialingBlockOut,
    TestCallOut,
)
from dialer.campaign.service import get_campaign, zone_of
from dialer.telephony import blocks
from dialer.telephony.dialing import TestCall
from dialer.views.actors import actor_names
from dialer.views.paging import next_cursor
from dialer.wire import localized


def block_out(found: blocks.Block | None) -> DialingBlockOut | None:
    if found is None:
        return None
    return DialingBlockOut(
        scope=found.scope,
        code=found.code,
        provider_code=found.provider_code,
        detail=found.detail,
        call_id=found.call_id,
        since=found.since_at,
    )


def campaign_view(campaign: Campaign) -> CampaignOut:
    session = Session.object_session(campaign)
    assert session is not None and campaign.id is not None
    return _view(campaign, block=blocks.block_of(session, campaign_id=campaign.id))


def _view(campaign: Campaign, *, block: blocks.Block | None) -> CampaignOut:
    out = CampaignOut.model_validate(campaign, from_attributes=True)
    out.dialing_blocked = block_out(block)
    return localized(out, zone_of(campaign))


def test_call_view(campaign: Campaign, *, result: TestCall) -> TestCallOut:
    out = TestCallOut(
        provider_sid=result.provider_sid,
        to=result.to,
        cleared=[b for b in (block_out(c) for c in result.cleared) if b is not None],
    )
    return localized(out, zone_of(campaign))


def campaign_list(campaigns: Sequence[Campaign]) -> CampaignList:
    """The account's block, or each campaign's own, read once for the page."""
    if not campaigns:
        return CampaignList(items=[], next_cursor=None)
    session = Session.object_session(campaigns[0])
    assert session is not None
    standing = blocks.all_blocks(session)
    account = next((b for b in standing if b.campaign_id is None), None)
    own = {b.campaign_id: b for b in standing if b.campaign_id is not None}
    return CampaignList(
        items=[
            _view(c, block=account or (own.get(c.id) if c.id is not None else None))
            for c in campaigns
        ],
        next_cursor=None,
    )


def block_record(found: blocks.Block, *, campaign: Campaign) -> dict[str, object]:
    """A lifted block as the history keeps it: what `dialing_blocked` showed."""
    out = block_out(found)
    assert out is not None
    return localized(out, zone_of(campaign)).model_dump(mode="json")


def history_view(
    session: Session, *, campaign_id: int, limit: int, before_id: int | None
) -> CampaignHistory:
    """The campaign's history, newest first, with who did each change by name."""
    campaign = get_campaign(session, campaign_id=campaign_id)
    events = history.history_page(
        session, campaign_id=campaign_id, limit=limit, before_id=before_id
    )
    names = actor_names(session, (e.actor for e in events))
    out = CampaignHistory(
        items=[
            CampaignEventOut(
                id=e.id,
                at=e.at,
                kind=e.kind,
                actor=e.actor,
                actor_name=names.get(e.actor),
                changes=[CampaignChange.model_validate(c) for c in e.changes],
                source_campaign_id=e.source_campaign_id,
            )
            for e in events
            if e.id is not None
        ],
        next_cursor=next_cursor(events, limit=limit),
    )
    return localized(out, zone_of(campaign))
