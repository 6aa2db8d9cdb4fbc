"""Lead-list import: CSV bytes in, leads (with phones, contacts, raw row and an
`imported` event) out, and a report a manager can act on.

All-or-nothing: the import runs in the caller's transaction, so a failure midway
leaves no lead behind. Phones are unique per campaign in the database itself, so
two imports racing into one campaign cannot create the same household twice.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.campaign.models import Campaign
from dialer.dnc.service import listed
from dialer.errors import BadInput, UnsupportedMedia
from dialer.leads import history
from dialer.leads.models import (
    Contact,
    ImportRowError,
    ImportStatus,
    Lead,
    LeadImport,
    LeadStatus,
    Phone,
    RowErrorKind,
)
from dialer.leads.phones import PhoneError, phones_in_cell

# Canonical columns and the header spellings managers' exports use for them.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "tel", "telephone", "phone1", "電話番号", "電話", "電話番号1", "tel1"),
    "phone2": ("phone2", "tel2", "mobile", "電話番号2", "携帯", "携帯電話", "携帯番号"),
    "name": ("name", "氏名", "名前", "お名前", "顧客名"),
    "contact_name": ("contact_name", "contact", "担当者", "担当者名"),
    "company": ("company", "会社名", "法人名", "社名"),
    "current_provider": ("current_provider", "provider", "現在の契約先", "契約会社", "現契約"),
    "contract_number": ("contract_number", "契約番号", "供給地点特定番号", "お客様番号"),
    "postal_code": ("postal_code", "zip", "postcode", "郵便番号"),
    "prefecture": ("prefecture", "都道府県"),
    "timezone": ("timezone", "time_zone", "tz", "タイムゾーン"),
    "external_id": ("external_id", "id", "crm_id", "顧客id", "顧客番号", "外部id"),
    "priority": ("priority", "優先度"),
    "notes": ("notes", "note", "memo", "備考", "メモ"),
}
_ALIAS_TO_COLUMN = {
    unicodedata.normalize("NFKC", alias).strip().lower(): column
    for column, aliases in COLUMN_ALIASES.items()
    for alias in aliases
}
PHONE_COLUMNS = ("phone", "phone2")
MAX_REPORTED_ERRORS = 1000
_BATCH = 500


@dataclass
class ImportReport:
    lead_import: LeadImport
    errors: list[ImportRowError] = field(default_factory=list)


def decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding it was read with. Never a silent guess: bytes that no
    supported encoding reads are refused."""
    if not data.strip():
        raise BadInput("the file is empty", code="empty_file", field="file")
    text, encoding = _decode(data)
    if "\x00" in text:
        # NUL is never text: a file with binary inside is refused whole.
        raise UnsupportedMedia("the file is binary, not CSV text", code="not_text")
    return text, encoding


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data[len(codecs.BOM_UTF8) :], "utf-8"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16"), "utf-16"
    if b"\x00" in data:
        raise UnsupportedMedia("the file is binary, not CSV text", code="not_text")
    for encoding in ("utf-8", "cp932"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise UnsupportedMedia("the file is neither UTF-8 nor Shift_JIS/CP932 text", code="undecodable")


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UnsupportedMedia(
            f"the file says it is {encoding} but byte {exc.start} is not", code="undecodable"
        ) from exc


def sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;").delimiter
    except csv.Error:
        return ","


def map_header(header: list[str], *, overrides: dict[str, str] | None = None) -> dict[int, str]:
    """Column index → canonical name; unknown columns keep their own header (extra).
    `overrides` (header as written → canonical column) wins over the aliases, for
    exports whose headers no alias list can guess ('TEL(日中)')."""
    given = {
        unicodedata.normalize("NFKC", k).strip().lower(): v for k, v in (overrides or {}).items()
    }
    mapping: dict[int, str] = {}
    for index, title in enumerate(header):
        key = unicodedata.normalize("NFKC", title).strip().lower()
        mapping[index] = given.get(key) or _ALIAS_TO_COLUMN.get(key, title.strip())
    return mapping


def parse_mapping(text: str | None) -> dict[str, str] | None:
    """The `mapping` form field: a JSON object of header → column, checked whole."""
    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"mapping is not JSON: {exc}", code="bad_mapping", field="mapping") from exc
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise BadInput(
            'mapping must be an object of header → column, e.g. {"TEL(日中)": "phone"}',
            code="bad_mapping",
            field="mapping",
        )
    unknown = sorted(v for v in value.values() if v not in COLUMN_ALIASES)
    if unknown:
        raise BadInput(
            f"mapping names unknown columns {unknown}; known: {sorted(COLUMN_ALIASES)}",
            code="bad_mapping",
            field="mapping",
        )
    return dict(value)


@dataclass
class _Row:
    number: int
    raw: dict[str, str]
    values: dict[str, str]
    extra: dict[str, str]


def _rows(
    text: str, delimiter: str, *, overrides: dict[str, str] | None
) -> tuple[dict[int, str], Iterator[_Row]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise BadInput("the file is empty", code="empty_file", field="file") from None
    except csv.Error as exc:
        raise BadInput(f"not CSV: {exc}", code="not_csv", field="file") from exc
    mapping = map_header(header, overrides=overrides)
    if "phone" not in mapping.values():
        raise BadInput(
            f"no phone column: the header row has {header!r}; name one 'phone' or '電話番号'",
            code="no_phone_column",
            field="file",
        )

    def generate() -> Iterator[_Row]:
        for number, cells in enumerate(reader, start=1):
            if not any(cell.strip() for cell in cells):
                continue
            raw = {
                header[i] if i < len(header) else f"column_{i + 1}": c for i, c in enumerate(cells)
            }
            values: dict[str, str] = {}
            extra: dict[str, str] = {}
            for i, cell in enumerate(cells):
                name = mapping.get(i, f"column_{i + 1}")
                if name in COLUMN_ALIASES:
                    values[name] = cell.strip()
                elif cell.strip():
                    extra[name] = cell.strip()
            yield _Row(number=number, raw=raw, values=values, extra=extra)

    return mapping, generate()


@dataclass
class _Candidate:
    row: _Row
    phones: list[str]
    lead_fields: dict[str, Any]


class _RowInvalid(Exception):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason)
        self.field_name = field_name
        self.reason = reason


def _validate(row: _Row, *, campaign: Campaign) -> _Candidate:
    phones: list[str] = []
    for column in PHONE_COLUMNS:
        value = row.values.get(column, "")
        if not value:
            if column == "phone":
                raise _RowInvalid("phone", "phone is empty")
            continue
        try:
            numbers = phones_in_cell(value, region=campaign.default_region)
        except PhoneError as exc:
            raise _RowInvalid(column, str(exc)) from exc
        phones.extend(n for n in numbers if n not in phones)
    timezone = row.values.get("timezone") or campaign.timezone
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _RowInvalid("timezone", f"unknown time zone {timezone!r}") from None
    priority_text = row.values.get("priority") or "0"
    try:
        priority = int(unicodedata.normalize("NFKC", priority_text))
    except ValueError:
        raise _RowInvalid("priority", f"priority {priority_text!r} is not a whole number") from None
    fields: dict[str, Any] = {
        key: (row.values.get(key) or None)
        for key in (
            "name",
            "company",
            "current_provider",
            "contract_number",
            "postal_code",
            "prefecture",
            "external_id",
            "notes",
        )
    }
    fields.update(timezone=timezone, priority=priority)
    for key, value in fields.items():
        limit = _MAX_LENGTHS.get(key)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            raise _RowInvalid(key, f"{key} is longer than {limit} characters")
    contact_name = row.values.get("contact_name") or ""
    if len(contact_name) > _CONTACT_NAME_MAX:
        raise _RowInvalid(
            "contact_name", f"contact_name is longer than {_CONTACT_NAME_MAX} characters"
        )
    return _Candidate(row=row, phones=phones, lead_fields=fields)


_CONTACT_NAME_MAX = 300

# Column widths of the lead table: an over-long cell is the row's fault, reported
# as such, not a database error that would sink the whole file.
_MAX_LENGTHS: dict[str, int] = {
    column.name: column.type.length
    for column in Lead.__table__.columns  # type: ignore[attr-defined]
    if getattr(column.type, "length", None)
}


def import_leads(
    session: Session,
    *,
    campaign: Campaign,
    data: bytes,
    filename: str | None,
    actor: str,
    now: datetime,
    mapping: dict[str, str] | None = None,
) -> ImportReport:
    text, encoding = decode(data)
    delimiter = sniff_delimiter(text)
    _mapping, rows = _rows(text, delimiter, overrides=mapping)
    assert campaign.id is not None
    lead_import = LeadImport(
        campaign_id=campaign.id,
        status=ImportStatus.running,
        filename=filename,
        encoding=encoding,
        delimiter=delimiter,
        created_by=actor,
        created_at=now,
    )
    session.add(lead_import)
    session.flush()
    report = ImportReport(lead_import=lead_import)
    seen: set[str] = set()
    zones = set(campaign.lead_timezones)
    batch: list[_Candidate] = []

    def flush_batch() -> None:
        _store_batch(
            session,
            campaign=campaign,
            lead_import=lead_import,
            batch=batch,
            seen=seen,
            report=report,
            actor=actor,
            now=now,
            zones=zones,
        )
        batch.clear()

    for row in rows:
        lead_import.rows += 1
        try:
            batch.append(_validate(row, campaign=campaign))
        except _RowInvalid as exc:
            _reject(
                session,
                report,
                row=row,
                kind=RowErrorKind.invalid,
                field_name=exc.field_name,
                reason=exc.reason,
            )
        if len(batch) >= _BATCH:
            flush_batch()
    flush_batch()
    if zones != set(campaign.lead_timezones):
        campaign.lead_timezones = sorted(zones)
        campaign.version += 1
    lead_import.status = ImportStatus.done
    lead_import.finished_at = now
    session.flush()
    return report


def _reject(
    session: Session,
    report: ImportReport,
    *,
    row: _Row,
    kind: RowErrorKind,
    field_name: str | None,
    reason: str,
) -> None:
    error = ImportRowError(
        import_id=report.lead_import.id or 0,
        row=row.number,
        kind=kind,
        field=field_name,
        reason=reason,
        raw=row.raw,
    )
    session.add(error)
    counters = {
        RowErrorKind.invalid: "invalid",
        RowErrorKind.duplicate: "duplicates",
        RowErrorKind.suppressed: "suppressed",
    }
    name = counters[kind]
    setattr(report.lead_import, name, getattr(report.lead_import, name) + 1)
    if kind == RowErrorKind.invalid and len(report.errors) < MAX_REPORTED_ERRORS:
        report.errors.append(error)


def _store_batch(
    session: Session,
    *,
    campaign: Campaign,
    lead_import: LeadImport,
    batch: list[_Candidate],
    seen: set[str],
    report: ImportReport,
    actor: str,
    now: datetime,
    zones: set[str],
) -> None:
    if not batch:
        return
    numbers = {n for c in batch for n in c.phones}
    held = set(
        session.scalars(
            select(col(Phone.number)).where(
                col(Phone.campaign_id) == campaign.id,
                col(Phone.number).in_(numbers),
            )
        )
    )
    on_dnc = listed(session, phones=numbers)
    accepted: list[tuple[_Candidate, Lead]] = []
    for candidate in batch:
        dup = next((n for n in candidate.phones if n in held or n in seen), None)
        if dup is not None:
            _reject(
                session,
                report,
                row=candidate.row,
                kind=RowErrorKind.duplicate,
                field_name="phone",
                reason=f"{dup} is already a lead of this campaign",
            )
            continue
        blocked = next((n for n in candidate.phones if n in on_dnc), None)
        if blocked is not None:
            _reject(
                session,
                report,
                row=candidate.row,
                kind=RowErrorKind.suppressed,
                field_name="phone",
                reason=f"{blocked} is on the do-not-call list",
            )
            continue
        seen.update(candidate.phones)
        lead = Lead(
            campaign_id=campaign.id or 0,
            import_id=lead_import.id,
            status=LeadStatus.new,
            failure_counts={},
            extra=candidate.row.extra,
            raw=candidate.row.raw,
            created_at=now,
            updated_at=now,
            **candidate.lead_fields,
        )
        zones.add(candidate.lead_fields["timezone"])
        accepted.append((candidate, lead))
    session.add_all([lead for _c, lead in accepted])
    session.flush()
    for candidate, lead in accepted:
        assert lead.id is not None
        for position, number in enumerate(candidate.phones):
            session.add(
                Phone(
                    lead_id=lead.id, campaign_id=lead.campaign_id, number=number, position=position
                )
            )
        contact_name = candidate.row.values.get("contact_name") or candidate.row.values.get("name")
        if contact_name:
            session.add(Contact(lead_id=lead.id, name=contact_name, role="registrant"))
        history.record(
            session,
            lead_id=lead.id,
            kind="imported",
            actor=actor,
            at=now,
            import_id=lead_import.id,
            row=candidate.row.number,
        )
    lead_import.accepted += len(accepted)
    session.flush()


def import_out(report: ImportReport) -> dict[str, Any]:
    li = report.lead_import
    return {
        "id": li.id,
        "campaign_id": li.campaign_id,
        "status": li.status,
        "filename": li.filename,
        "encoding": li.encoding,
        "delimiter": li.delimiter,
        "rows": li.rows,
        "accepted": li.accepted,
        "duplicates": li.duplicates,
        "invalid": li.invalid,
        "suppressed": li.suppressed,
        "error": li.error,
        "errors": [{"row": e.row, "field": e.field, "reason": e.reason} for e in report.errors],
    }


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


def errors_csv(session: Session, *, import_id: int) -> str:
    """Every rejected row, for Excel: UTF-8 with BOM, formula-looking cells defused."""
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
    if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
