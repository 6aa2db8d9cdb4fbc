"""A lead import as a manager follows it: its counts, the first invalid rows,
and every rejected row as a spreadsheet."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.campaign.service import get_campaign, zone_of
from dialer.errors import NotFound
from dialer.leads.csvfile import COLUMN_ALIASES, MAX_ROW_ERRORS
from dialer.leads.models import ImportRowError, ImportStatus, LeadImport, RowErrorKind
from dialer.leads.preview import Preview
from dialer.leads.schemas import (
    ImportList,
    ImportOut,
    ImportPreviewOut,
    ImportSummary,
    PreviewColumn,
    PreviewError,
)
from dialer.views.overlay import Overlay
from dialer.views.paging import next_cursor
from dialer.wire import localized

# The answer lists this many invalid rows; errors.csv has them all.
MAX_REPORTED_ERRORS = MAX_ROW_ERRORS


def get_import(session: Session, *, import_id: int) -> LeadImport:
    lead_import = session.get(LeadImport, import_id)
    if lead_import is None:
        raise NotFound(f"import {import_id} does not exist", code="import_not_found")
    return lead_import


def first_invalid_rows(session: Session, *, import_id: int) -> list[ImportRowError]:
    return list(
        session.scalars(
            select(ImportRowError)
            .where(
                col(ImportRowError.import_id) == import_id,
                col(ImportRowError.kind) == RowErrorKind.invalid,
            )
            .order_by(col(ImportRowError.row))
            .limit(MAX_REPORTED_ERRORS)
        )
    )


def import_report(session: Session, *, import_id: int) -> ImportOut:
    lead_import = get_import(session, import_id=import_id)
    errors = first_invalid_rows(session, import_id=import_id)
    return ImportOut.model_validate(Overlay(lead_import, errors=errors), from_attributes=True)


def import_page(
    session: Session,
    *,
    campaign_id: int,
    status: ImportStatus | None,
    limit: int,
    before_id: int | None,
) -> ImportList:
    """A campaign's imports, newest first; the cursor is the last id of a full page."""
    zone = zone_of(get_campaign(session, campaign_id=campaign_id))
    query = (
        select(LeadImport)
        .where(col(LeadImport.campaign_id) == campaign_id)
        .order_by(col(LeadImport.id).desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(col(LeadImport.status) == status)
    if before_id is not None:
        query = query.where(col(LeadImport.id) < before_id)
    found = list(session.scalars(query))
    return ImportList(
        items=[
            localized(ImportSummary.model_validate(i, from_attributes=True), zone) for i in found
        ],
        next_cursor=next_cursor(found, limit=limit),
    )


def errors_csv(session: Session, *, import_id: int) -> str:
    """Every rejected row, for Excel: UTF-8 with BOM, formula-looking cells defused."""
    get_import(session, import_id=import_id)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["row", "kind", "field", "reason", "raw"])
    query = (
        select(ImportRowError)
        .where(col(ImportRowError.import_id) == import_id)
        .order_by(col(ImportRowError.row))
    )
    for error in session.scalars(query):
        raw = " | ".join(f"{k}={v}" for k, v in error.raw.items())
        writer.writerow(
            [
                error.row,
                error.kind,
                _safe_cell(error.field or ""),
                _safe_cell(error.reason),
                _safe_cell(raw),
            ]
        )
    return out.getvalue()


def _safe_cell(value: str) -> str:
    # A cell Excel would run as a formula (CSV injection) is kept as text.
    if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def preview_view(preview: Preview, *, filename: str | None) -> ImportPreviewOut:
    head = preview.head
    return ImportPreviewOut(
        filename=filename,
        encoding=head.encoding,
        delimiter=head.delimiter,
        columns=[
            PreviewColumn(
                index=index,
                header=title,
                field=head.columns[index] if head.columns[index] in COLUMN_ALIASES else None,
            )
            for index, title in enumerate(head.header)
        ],
        fields=preview.fields,
        rows=head.cells,
        has_phone=head.has_phone,
        errors=[PreviewError(row=e.row, field=e.field, reason=e.reason) for e in preview.errors],
    )
