"""The append-only history of a lead: every change to a lead is an event here.
Status changes are written by `dialer.leads.lifecycle`, with their event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from dialer.db import raw_of
from dialer.leads.history_sql import INSERT_EVENT, event_row
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
    """In a unit of work the event is written at once in hand-written SQL: an
    event is never read back or changed, so the ORM's unit of work (a row
    object, its flush, its primary key fetched back) is pure cost, 4–5 times on
    every call. Written at once, the events keep the order of these calls, as
    the ORM's flush kept them. A session of no unit of work adds it as a row."""
    raw = raw_of(session)
    if raw is None:
        session.add(Event(lead_id=lead_id, at=at, kind=kind, actor=actor, detail=detail))
        return
    # The event's lead must exist for its foreign key: a lead made in this
    # transaction may still be pending in the session (raw SQL does not autoflush).
    if session.new and any(isinstance(row, Lead) for row in session.new):
        session.flush()
    raw.run(
        INSERT_EVENT,
        event_row(raw, lead_id=lead_id, at=at, kind=kind, actor=actor, detail=detail),
    )
