"""Who a lead is, as an alert names it: the household's or organization's name
and company, for a batch of leads in one query."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.leads.models import Lead


def names_of(
    session: Session, *, lead_ids: Collection[int]
) -> dict[int, tuple[str | None, str | None]]:
    """lead id → (name, company); a lead not found is left out."""
    if not lead_ids:
        return {}
    rows = session.execute(
        select(col(Lead.id), col(Lead.name), col(Lead.company)).where(
            col(Lead.id).in_(sorted(set(lead_ids)))
        )
    )
    return {lead_id: (name, company) for lead_id, name, company in rows if lead_id is not None}
