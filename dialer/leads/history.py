"""The append-only history of a lead: every change to a lead is an event here.
Status changes are written by `dialer.leads.lifecycle`, with their event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from dialer.leads.models import Event


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
