"""The do-not-call list as answers show it."""

from __future__ import annotations

from collections.abc import Sequence

from dialer.dnc.importer import DncImportReport
from dialer.dnc.models import DncEntry
from dialer.dnc.schemas import DncImportOut, DncList, DncOut
from dialer.views.paging import next_cursor


def dnc_view(entry: DncEntry) -> DncOut:
    return DncOut.model_validate(entry, from_attributes=True)


def dnc_page(entries: Sequence[DncEntry], *, limit: int) -> DncList:
    return DncList(
        items=[dnc_view(e) for e in entries], next_cursor=next_cursor(entries, limit=limit)
    )


def dnc_import_report(report: DncImportReport) -> DncImportOut:
    return DncImportOut.model_validate(report, from_attributes=True)
