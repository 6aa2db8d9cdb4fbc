"""The append-only history of a lead. Every change to a lead goes through here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from dialer.leads.models import Event, Lead


def record(
    session: Session,
    *,
    lead_id: int,
    kind: str,
    actor: str,
    at: datetime,
    **detail: Any,
) -> None:
    session.add(Event(lead_id=lead_id, at=at, kind=kind, actor=actor, detail=detail))


def set_status(
    session: Session, *, lead: Lead, status: str, actor: str, at: datetime, **detail: Any
) -> None:
    """Change a lead's status and say so in its history, in one step."""
    if lead.status == status:
        return
    assert lead.id is not None
    record(
        session,
        lead_id=lead.id,
        kind="status_changed",
        actor=actor,
        at=at,
        old=lead.status,
        new=status,
        **detail,
    )
    lead.status = status
    lead.updated_at = at
