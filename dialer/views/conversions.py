"""Conversions as answers show them: each with its credit ledger."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.conversions.models import Conversion, ConversionStatus, CreditEntry
from dialer.conversions.schemas import ConversionList, ConversionOut
from dialer.conversions.service import list_conversions
from dialer.views.overlay import Overlay
from dialer.views.paging import next_cursor
from dialer.views.zones import zone_for
from dialer.wire import localized


def conversion_view(session: Session, *, conversion: Conversion) -> ConversionOut:
    credit = session.scalars(
        select(CreditEntry)
        .where(col(CreditEntry.conversion_id) == conversion.id)
        .order_by(col(CreditEntry.id))
    )
    out = ConversionOut.model_validate(
        Overlay(conversion, credit=list(credit)), from_attributes=True
    )
    return localized(out, zone_for(conversion))


def conversion_page(
    session: Session,
    *,
    campaign_id: int | None,
    status: ConversionStatus | None,
    unmatched: bool | None,
    limit: int,
    after_id: int | None,
) -> ConversionList:
    found = list_conversions(
        session,
        campaign_id=campaign_id,
        status=status,
        unmatched=unmatched,
        limit=limit,
        after_id=after_id,
    )
    return ConversionList(
        items=[conversion_view(session, conversion=c) for c in found],
        next_cursor=next_cursor(found, limit=limit),
    )
