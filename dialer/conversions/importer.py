"""External conversions as CSV: the monthly list from the web form or the postcard
desk, matched back to leads row by row.

The file handling (encodings, binary refusal, delimiter) is the lead importer's,
so the same exports open here. Each good row goes through `record_external`, the
path of `POST /api/conversions`, so a row and an API call with the same
`reference` are one conversion. A bad row is reported (row, field, reason) and
skipped; the good rows are recorded, in the request's one transaction."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from dialer.campaign.service import get_campaign
from dialer.conversions.models import Channel, Conversion, ConversionReport, ConversionStatus
from dialer.conversions.service import record_external
from dialer.errors import BadInput, DialerError
from dialer.leads.csvfile import RowReport, decode, sniff_delimiter

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "reference": ("reference", "ref", "受付番号", "申込番号", "申込id", "受付id"),
    "channel": ("channel", "申込経路", "経路", "チャネル", "申込方法"),
    "phone": ("phone", "tel", "電話番号", "電話", "携帯"),
    "contract_number": ("contract_number", "契約番号", "供給地点特定番号", "お客様番号"),
    "external_id": ("external_id", "顧客id", "顧客番号", "外部id", "crm_id"),
    "occurred_at": ("occurred_at", "申込日", "申込日時", "受付日", "受付日時", "date"),
}
_ALIAS_TO_COLUMN = {
    unicodedata.normalize("NFKC", alias).strip().lower(): column
    for column, aliases in COLUMN_ALIASES.items()
    for alias in aliases
}
_CHANNELS = {
    "web": Channel.web,
    "ウェブ": Channel.web,
    "web申込": Channel.web,
    "インターネット": Channel.web,
    "postcard": Channel.postcard,
    "はがき": Channel.postcard,
    "ハガキ": Channel.postcard,
    "郵送": Channel.postcard,
    "phone": Channel.phone,
    "電話": Channel.phone,
    "other": Channel.other,
    "その他": Channel.other,
}


@dataclass(slots=True)
class ConversionImportReport(RowReport):
    encoding: str = ""
    delimiter: str = ","
    rows: int = 0
    created: int = 0
    already_reported: int = 0
    matched: int = 0
    unmatched: int = 0
    duplicates: int = 0

    def count(self, conversion: Conversion, *, created: bool) -> None:
        if not created:
            self.already_reported += 1
            return
        self.created += 1
        if conversion.status == ConversionStatus.duplicate:
            self.duplicates += 1
        elif conversion.lead_id is None:
            self.unmatched += 1
        else:
            self.matched += 1


def parse_occurred_at(value: str) -> datetime | date:
    """ISO 8601, or a date alone (`2026/12/01` too). A date means that local day
    of the campaign, and a time without offset its wall time: a Tokyo web form
    exports Tokyo dates (`record_external` resolves both in the campaign's zone)."""
    text = unicodedata.normalize("NFKC", value).strip().replace("/", "-")
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"occurred_at {value!r} is not a date or date-time") from None


def import_conversions(
    session: Session,
    *,
    campaign_id: int,
    data: bytes,
    actor: str,
    now: datetime,
    filename: str | None,
) -> ConversionImportReport:
    get_campaign(session, campaign_id=campaign_id)
    text, encoding = decode(data)
    delimiter = sniff_delimiter(text)
    columns, rows = _read(text, delimiter)
    report = ConversionImportReport(encoding=encoding, delimiter=delimiter)
    source = f"import:{(filename or 'upload')[:180]}"
    for number, cells in rows:
        report.rows += 1
        values = {name: cells[i].strip() for i, name in columns.items() if i < len(cells)}
        reference = values.get("reference", "")
        if not reference:
            report.reject(row=number, field_name="reference", reason="reference is empty")
            continue
        if len(reference) > 128:
            report.reject(row=number, field_name="reference", reason="reference is longer than 128")
            continue
        channel = _CHANNELS.get(unicodedata.normalize("NFKC", values.get("channel", "")).lower())
        if channel is None and not values.get("channel"):
            channel = Channel.other
        if channel is None:
            report.reject(
                row=number,
                field_name="channel",
                reason=f"unknown channel {values['channel']!r} (web, postcard, phone, other)",
            )
            continue
        occurred_at = None
        if values.get("occurred_at"):
            try:
                occurred_at = parse_occurred_at(values["occurred_at"])
            except ValueError as exc:
                report.reject(row=number, field_name="occurred_at", reason=str(exc))
                continue
        if not any(values.get(k) for k in ("phone", "contract_number", "external_id")):
            report.reject(
                row=number,
                field_name="phone",
                reason="nothing to match the lead by: give phone, contract_number or external_id",
            )
            continue
        for name, limit in (("phone", 64), ("contract_number", 64), ("external_id", 128)):
            if len(values.get(name, "")) > limit:
                report.reject(row=number, field_name=name, reason=f"{name} is longer than {limit}")
                break
        else:
            try:
                with session.begin_nested():
                    conversion, created = record_external(
                        session,
                        report=ConversionReport(
                            campaign_id=campaign_id,
                            reference=reference,
                            channel=channel,
                            occurred_at=occurred_at,
                            phone=values.get("phone"),
                            contract_number=values.get("contract_number"),
                            external_id=values.get("external_id"),
                            raw={"row": number, **values},
                        ),
                        actor=actor,
                        source=source,
                        now=now,
                    )
            except DialerError as exc:
                report.reject(
                    row=number, field_name=str(exc.extra.get("field", "row")), reason=exc.detail
                )
                continue
            report.count(conversion, created=created)
    session.flush()
    return report


def _read(text: str, delimiter: str) -> tuple[dict[int, str], Iterator[tuple[int, list[str]]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise BadInput("the file is empty", code="empty_file", field="file") from None
    except csv.Error as exc:
        raise BadInput(f"not CSV: {exc}", code="not_csv", field="file") from exc
    columns: dict[int, str] = {}
    for index, title in enumerate(header):
        name = _ALIAS_TO_COLUMN.get(unicodedata.normalize("NFKC", title).strip().lower())
        if name is not None and name not in columns.values():
            columns[index] = name
    if "reference" not in columns.values():
        raise BadInput(
            f"no reference column: the header row has {header!r}; name one 'reference' "
            "or '受付番号' (each sign-up's own number, which makes re-imports safe)",
            code="no_reference_column",
            field="file",
        )

    def generate() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, cells in enumerate(reader, start=1):
                if any(cell.strip() for cell in cells):
                    yield number, cells
        except csv.Error as exc:
            raise BadInput(
                f"not CSV after row {reader.line_num}: {exc}", code="not_csv", field="file"
            ) from exc

    return columns, generate()
