"""The do-not-call list as answers show it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from dialer.dnc.importer import DncImportReport
from dialer.dnc.models import DncEntry, DncEvent
from dialer.dnc.schemas import DncEventOut, DncHistory, DncImportOut, DncList, DncOut
from dialer.views.actors import actor_names
from dialer.views.paging import next_cursor


def dnc_view(entry: DncEntry) -> DncOut:
    return DncOut.model_validate(entry, from_attributes=True)


def dnc_page(entries: Sequence[DncEntry], *, limit: int) -> DncList:
    return DncList(
        items=[dnc_view(e) for e in entries], next_cursor=next_cursor(entries, limit=limit)
    )


def dnc_import_report(report: DncImportReport) -> DncImportOut:
    return DncImportOut.model_validate(report, from_attributes=True)


def dnc_history(session: Session, events: Sequence[DncEvent], *, limit: int) -> DncHistory:
    """The audit page, with who did each by name (in UTC: the list is of no
    campaign)."""
    names = actor_names(session, (e.actor for e in events))
    return DncHistory(
        items=[
            DncEventOut(
                id=e.id,
                phone=e.phone,
                at=e.at,
                actor=e.actor,
                actor_name=names.get(e.actor),
                kind=e.kind,
                reason=e.reason,
            )
            for e in events
            if e.id is not None
        ],
        next_cursor=next_cursor(events, limit=limit),
    )
