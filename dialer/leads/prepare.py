"""A lead file's rows made ready to write: validated, phones in E.164, JSON
serialized, as compact tuples in batches. No database here.

This is most of an import's CPU (decoding, CSV, phone numbers), so for large
files it runs in a worker process (dialer.leads.pipeline) while the importing
process writes the previous batch. It therefore imports nothing of the database
layer: the worker starts faster and stays small, and batches cross the process
boundary as plain tuples and strings, which pickle cheaply.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialer.leads.csvfile import PHONE_COLUMNS, LeadFile, Row
from dialer.leads.phones import PhoneError, phones_in_cell
from dialer.leads.search_keys import lead_keys

# The lead columns a row fills, in the order of Accepted.fields; the importer
# writes them under these names.
FIELD_COLUMNS = (
    "name",
    "company",
    "priority",
    "current_provider",
    "contract_number",
    "postal_code",
    "prefecture",
    "timezone",
    "external_id",
    "notes",
    # Their search keys (dialer.leads.search_keys), folded here, in the worker.
    "name_key",
    "company_key",
    "contract_key",
    "external_key",
    # `raw` stays last: a rejected row's report takes it from there.
    "extra",
    "raw",
)
# Checked for length in this order, as a manager reads the row: the first one too
# long is the row's error.
_CHECKED_FIELDS = (
    "name",
    "company",
    "current_provider",
    "contract_number",
    "postal_code",
    "prefecture",
    "external_id",
    "notes",
    "timezone",
)
_CONTACT_NAME_MAX = 300

# The same JSON as the database layer writes (dialer.db: ensure_ascii=False,
# default=str), with the encoder made once rather than per call.
_to_json = json.JSONEncoder(ensure_ascii=False, default=str).encode

# A row that will be a lead: (row number, its phones in E.164, the values of
# FIELD_COLUMNS, the contact name or None, the JSON of its `imported` event).
Accepted = tuple[int, tuple[str, ...], tuple[Any, ...], str | None, str]
# A row that will not: (row number, field, reason, the raw row as JSON).
Rejected = tuple[int, str, str, str]


@dataclass(frozen=True, slots=True)
class PrepareSpec:
    """What preparing needs to know of the import; picklable for the worker."""

    import_id: int
    region: str
    default_timezone: str
    # Column widths of the lead table: an over-long cell is the row's fault,
    # reported as such, not a database error that would sink the whole file.
    max_lengths: dict[str, int]


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    rows: int  # data rows read, blank lines not counted
    accepted: list[Accepted]
    invalid: list[Rejected]
    bytes_read: int  # of the file, for progress


class RowInvalid(Exception):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason)
        self.field_name = field_name
        self.reason = reason


def prepare_batches(
    lead_file: LeadFile, *, spec: PrepareSpec, batch_rows: int
) -> Iterator[PreparedBatch]:
    preparer = _Preparer(spec)
    rows = lead_file.rows()
    while batch := list(islice(rows, batch_rows)):
        accepted, invalid = preparer.batch(batch)
        yield PreparedBatch(
            rows=len(batch), accepted=accepted, invalid=invalid, bytes_read=lead_file.bytes_read
        )


def check_rows(rows: list[Row], *, spec: PrepareSpec) -> tuple[list[Accepted], list[Rejected]]:
    """Rows as the import judges them (a preview's first rows): the valid ones,
    and those it would refuse as invalid."""
    return _Preparer(spec).batch(rows)


class _Preparer:
    def __init__(self, spec: PrepareSpec) -> None:
        self.spec = spec
        self.limits = [
            (key, spec.max_lengths[key]) for key in _CHECKED_FIELDS if key in spec.max_lengths
        ]
        self.zones: set[str] = {spec.default_timezone}

    def batch(self, rows: list[Row]) -> tuple[list[Accepted], list[Rejected]]:
        accepted: list[Accepted] = []
        invalid: list[Rejected] = []
        import_id = self.spec.import_id
        for row in rows:
            try:
                phones, fields, contact_name = self.row(row)
            except RowInvalid as exc:
                invalid.append((row.number, exc.field_name, exc.reason, _to_json(row.raw)))
                continue
            detail = _to_json({"import_id": import_id, "row": row.number})
            accepted.append((row.number, phones, fields, contact_name, detail))
        return accepted, invalid

    def row(self, row: Row) -> tuple[tuple[str, ...], tuple[Any, ...], str | None]:
        """The row's phones, lead fields and contact name, or RowInvalid naming the
        first field at fault (phones first, then time zone, priority, lengths)."""
        values = row.values
        region = self.spec.region
        phones: list[str] = []
        for column in PHONE_COLUMNS:
            value = values.get(column, "")
            if not value:
                if column == "phone":
                    raise RowInvalid("phone", "phone is empty")
                continue
            try:
                numbers = phones_in_cell(value, region=region)
            except PhoneError as exc:
                raise RowInvalid(column, str(exc)) from exc
            phones.extend(n for n in numbers if n not in phones)
        timezone = values.get("timezone") or self.spec.default_timezone
        if timezone not in self.zones:
            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise RowInvalid("timezone", f"unknown time zone {timezone!r}") from None
            self.zones.add(timezone)
        priority_text = values.get("priority") or "0"
        try:
            # int() reads full-width digits itself; NFKC only for the rest.
            priority = int(priority_text)
        except ValueError:
            try:
                priority = int(unicodedata.normalize("NFKC", priority_text))
            except ValueError:
                raise RowInvalid(
                    "priority", f"priority {priority_text!r} is not a whole number"
                ) from None
        text = {key: values.get(key) or None for key in _CHECKED_FIELDS}
        text["timezone"] = timezone
        for key, limit in self.limits:
            cell = text[key]
            if cell is not None and len(cell) > limit:
                raise RowInvalid(key, f"{key} is longer than {limit} characters")
        contact_name: str | None = values.get("contact_name") or text["name"]
        if contact_name is not None and len(contact_name) > _CONTACT_NAME_MAX:
            raise RowInvalid("contact_name", f"contact name is longer than {_CONTACT_NAME_MAX}")
        fields = (
            text["name"],
            text["company"],
            priority,
            text["current_provider"],
            text["contract_number"],
            text["postal_code"],
            text["prefecture"],
            timezone,
            text["external_id"],
            text["notes"],
            *lead_keys(
                name=text["name"],
                company=text["company"],
                contract_number=text["contract_number"],
                external_id=text["external_id"],
            ),
            _to_json(row.extra) if row.extra else "{}",
            _to_json(row.raw),
        )
        return tuple(phones), fields, contact_name
