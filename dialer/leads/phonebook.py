"""Phones and their do-not-call standing: which numbers are listed, and a
lead's phones in the order they are tried. Each read through the ORM, or in
hand-written SQL for the claim path and the bulk import, with the same answer
(a test holds them to each other). The rules over them are `dialrules.py`."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.db import RawSql
from dialer.dnc.models import DncEntry
from dialer.leads.dialrules import PhoneFact
from dialer.leads.models import TERMINAL_STATUSES, Lead, LeadStatus, Phone
from dialer.leads.phonebook_sql import LISTED, PHONE_FACTS


def listed(session: Session, *, phones: Iterable[str]) -> set[str]:
    """The numbers among `phones` on the do-not-call list."""
    numbers = list(set(phones))
    if not numbers:
        return set()
    return set(session.scalars(select(col(DncEntry.phone)).where(col(DncEntry.phone).in_(numbers))))


def listed_raw(raw: RawSql, *, phones: Collection[str]) -> set[str]:
    """`listed` in hand-written SQL, for the bulk import's batches."""
    return set(raw.column_in(LISTED, phones))


def phone_facts(session: Session, *, lead_id: int) -> list[PhoneFact]:
    rows = session.execute(
        select(col(Phone.number), col(Phone.retired), col(DncEntry.id))
        .outerjoin(DncEntry, col(DncEntry.phone) == col(Phone.number))
        .where(col(Phone.lead_id) == lead_id)
        .order_by(col(Phone.position), col(Phone.id))
    )
    return [
        PhoneFact(number, bool(retired), dnc_id is not None) for number, retired, dnc_id in rows
    ]


def phone_facts_raw(raw: RawSql, *, lead_id: int) -> list[PhoneFact]:
    return [
        PhoneFact(number, bool(retired), dnc_id is not None)
        for number, retired, dnc_id in raw.rows(PHONE_FACTS, (lead_id,))
    ]


def lead_of_caller(session: Session, *, number: str, campaign_ids: Collection[int]) -> Lead | None:
    """The lead a caller is, among these campaigns' leads: the household whose
    phone it is, one still in play before a closed one, a phone in use before a
    retired one, then the newest lead. Staged leads are nobody yet."""
    if not campaign_ids:
        return None
    rows = session.execute(
        select(Lead, col(Phone.retired))
        .join(Phone, col(Phone.lead_id) == col(Lead.id))
        .where(
            col(Phone.number) == number,
            col(Phone.campaign_id).in_(list(campaign_ids)),
            col(Lead.status) != LeadStatus.importing,
        )
        .limit(50)
    ).all()
    if not rows:
        return None
    best = min(
        rows,
        key=lambda row: (row[0].status in TERMINAL_STATUSES, bool(row[1]), -(row[0].id or 0)),
    )
    lead: Lead = best[0]
    return lead
