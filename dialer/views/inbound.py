"""Incoming calls as a manager reads them: a campaign's, newest first, and those
of callers matching no lead (`unmatched`), for a person to call back or match."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.calls.inbound import Answer
from dialer.calls.models import InboundCall
from dialer.calls.schemas import InboundList, InboundOut
from dialer.campaign.service import get_campaign, zone_of
from dialer.views.paging import next_cursor
from dialer.wire import localized


def inbound_view(session: Session, *, answer: Answer) -> InboundOut:
    campaign = get_campaign(session, campaign_id=answer.inbound.campaign_id)
    out = InboundOut.model_validate(answer.inbound, from_attributes=True)
    return localized(out, zone_of(campaign))


def inbound_page(
    session: Session,
    *,
    campaign_id: int,
    unmatched: bool | None,
    limit: int,
    cursor: int | None,
) -> InboundList:
    campaign = get_campaign(session, campaign_id=campaign_id)
    query = select(InboundCall).where(col(InboundCall.campaign_id) == campaign_id)
    if unmatched is True:
        query = query.where(col(InboundCall.lead_id).is_(None))
    elif unmatched is False:
        query = query.where(col(InboundCall.lead_id).is_not(None))
    if cursor is not None:
        query = query.where(col(InboundCall.id) < cursor)
    rows = list(session.scalars(query.order_by(col(InboundCall.id).desc()).limit(limit)))
    items = [InboundOut.model_validate(row, from_attributes=True) for row in rows]
    return localized(
        InboundList(items=items, next_cursor=next_cursor(rows, limit=limit)), zone_of(campaign)
    )
