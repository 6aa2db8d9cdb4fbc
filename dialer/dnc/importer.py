"""Bulk do-not-call: a manager's CSV of phones (and why) onto the list in one go.

Each phone goes through `service.add`, the same path as a single entry, so a
bulk-listed phone closes its leads and leaves the same history as one typed in.
The import runs in the caller's transaction: a file refused halfway lists nothing.
File handling (encodings, binary refusal, delimiter, phone header aliases) is the
lead importer's, so the two uploads accept exactly the same files.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from dialer.dnc import service
from dialer.dnc.models import DncEntry, DncEventKind
from dialer.errors import BadInput
from dialer.leads.csvfile import RowReport, decode, map_header, sniff_delimiter
from dialer.leads.phones import PhoneError, normalize_phone

# The lead importer reads 備考 as a lead's notes; on a do-not-call list the
# remark column is the reason the customer gave, so it is ours to map here.
REASON_ALIASES = ("reason", "理由", "備考")
_REASON_KEYS = frozenset(unicodedata.normalize("NFKC", a).strip().lower() for a in REASON_ALIASES)

# Column widths of the list itself: an over-long cell is that row's fault,
# reported as such, not a database error that would sink the whole file.
_REASON_MAX = DncEntry.__table__.columns["reason"].type.length  # type: ignore[attr-defined]
_SOURCE_MAX = DncEntry.__table__.columns["source"].type.length  # type: ignore[attr-defined]


@dataclass(slots=True)
class DncImportReport(RowReport):
    rows: int = 0
    added: int = 0
    already_listed: int = 0


@dataclass(frozen=True, slots=True)
class _Columns:
    phone: int
    reason: int | None


def import_dnc(
    session: Session,
    *,
    data: bytes,
    region: str,
    actor: str,
    now: datetime,
    filename: str | None,
) -> DncImportReport:
    """A phone listed twice (before, or earlier in the file) counts as
    `already_listed`, never as an error: the customer's wish is honoured either way."""
    text, _encoding = decode(data)
    columns, rows = _read(text, sniff_delimiter(text))
    source = _source(filename)
    report = DncImportReport()
    seen: set[str] = set()
    for number, cells in rows:
        report.rows += 1
        raw_phone = _cell(cells, columns.phone)
        if not raw_phone:
            report.reject(row=number, field_name="phone", reason="phone is empty")
            continue
        try:
            phone = normalize_phone(raw_phone, region=region)
        except PhoneError as exc:
            report.reject(row=number, field_name="phone", reason=str(exc))
            continue
        reason = _cell(cells, columns.reason) if columns.reason is not None else ""
        if len(reason) > _REASON_MAX:
            report.reject(
                row=number,
                field_name="reason",
                reason=f"reason is longer than {_REASON_MAX} characters",
            )
            continue
        if phone in seen:
            report.already_listed += 1
            continue
        seen.add(phone)
        _entry, created = service.add(
            session,
            phone=phone,
            reason=reason,
            source=source,
            actor=actor,
            now=now,
            kind=DncEventKind.imported,
        )
        if created:
            report.added += 1
        else:
            report.already_listed += 1
    session.flush()
    return report


def _read(text: str, delimiter: str) -> tuple[_Columns, Iterator[tuple[int, list[str]]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise BadInput("the file is empty", code="empty_file", field="file") from None
    except csv.Error as exc:
        raise BadInput(f"not CSV: {exc}", code="not_csv", field="file") from exc
    mapping = map_header(header)
    phone = next((i for i, name in mapping.items() if name == "phone"), None)
    if phone is None:
        raise BadInput(
            f"no phone column: the header row has {header!r}; name one 'phone' or '電話番号'",
            code="no_phone_column",
            field="file",
        )
    reason = next(
        (
            i
            for i, title in enumerate(header)
            if unicodedata.normalize("NFKC", title).strip().lower() in _REASON_KEYS
        ),
        None,
    )

    def generate() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, cells in enumerate(reader, start=1):
                if any(cell.strip() for cell in cells):
                    yield number, cells
        except csv.Error as exc:
            # Mid-file garbage (an unterminated quote) refuses the file: rows after
            # it can't be trusted to be the rows the manager meant.
            raise BadInput(
                f"not CSV after row {reader.line_num}: {exc}", code="not_csv", field="file"
            ) from exc

    return _Columns(phone=phone, reason=reason), generate()


def _cell(cells: list[str], index: int) -> str:
    return cells[index].strip() if index < len(cells) else ""


def _source(filename: str | None) -> str:
    # A client-supplied filename: control characters (NUL breaks PostgreSQL) go,
    # and it is cut to the column's width rather than failing the import.
    name = "".join(c for c in (filename or "") if not unicodedata.category(c).startswith("C"))
    return f"import:{name.strip()}"[:_SOURCE_MAX] if name.strip() else "import"
