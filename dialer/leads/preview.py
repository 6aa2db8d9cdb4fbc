"""A lead list's preview: what the import would detect and do with a file's
first rows (encoding, delimiter, the column each header fills, the rows it would
refuse), so a manager can check and adjust the mapping before importing.
Nothing is written; only the file's first part is read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.leads.csvfile import COLUMN_ALIASES, PREVIEW_BYTES, FileHead, read_head
from dialer.leads.importer import LEAD_MAX_LENGTHS, screen
from dialer.leads.models import Phone
from dialer.leads.phonebook import listed
from dialer.leads.prepare import Accepted, PrepareSpec, check_rows

# The data rows a preview shows and checks.
PREVIEW_ROWS = 10


@dataclass(frozen=True, slots=True)
class PreviewError:
    row: int
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class Preview:
    head: FileHead
    # The rows the import would take (checked against the campaign next).
    valid: list[Accepted]
    errors: list[PreviewError]

    @property
    def fields(self) -> list[str]:
        """Every column a header may fill, in the order the docs list them."""
        return list(COLUMN_ALIASES)


def preview_file(
    path: Path, *, region: str, default_timezone: str, overrides: dict[str, str] | None
) -> Preview:
    """The file's first PREVIEW_BYTES read as the import reads the whole: the
    same refusals (empty, binary, undecodable, not CSV), but a missing phone
    column is reported (`has_phone`), for the manager to map one. `region` and
    `default_timezone` are the campaign's, as the import judges its rows. No
    database here: `screen_preview` then checks the valid rows' phones."""
    with path.open("rb") as handle:
        data = handle.read(PREVIEW_BYTES + 1)
    truncated = len(data) > PREVIEW_BYTES
    head = read_head(
        data[:PREVIEW_BYTES], truncated=truncated, overrides=overrides, max_rows=PREVIEW_ROWS
    )
    if not head.has_phone:
        # Every row would be refused for its empty phone: that is the one error.
        return Preview(head=head, valid=[], errors=[])
    spec = PrepareSpec(
        import_id=0,
        region=region,
        default_timezone=default_timezone,
        max_lengths=LEAD_MAX_LENGTHS,
    )
    valid, invalid = check_rows(head.rows, spec=spec)
    errors = [
        PreviewError(row=row, field=field, reason=reason) for row, field, reason, _ in invalid
    ]
    return Preview(head=head, valid=valid, errors=errors)


def screen_preview(session: Session, *, campaign_id: int, preview: Preview) -> Preview:
    """The preview with the valid rows the import would still refuse added to its
    errors, as it refuses them: a phone already a lead of the campaign (or of an
    earlier row), or on the do-not-call list."""
    numbers = {n for candidate in preview.valid for n in candidate[1]}
    if not numbers:
        return preview
    held = set(
        session.scalars(
            select(col(Phone.number)).where(
                col(Phone.campaign_id) == campaign_id, col(Phone.number).in_(numbers)
            )
        )
    )
    kept, refused = screen(preview.valid, held=held, on_dnc=listed(session, phones=numbers))
    errors = preview.errors + [
        PreviewError(row=row, field=field or "phone", reason=reason)
        for row, _kind, field, reason, _raw in refused
    ]
    return Preview(head=preview.head, valid=kept, errors=sorted(errors, key=lambda e: e.row))
