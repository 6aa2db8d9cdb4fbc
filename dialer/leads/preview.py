"""A lead list's preview: what the import would detect and do with a file's
first rows (encoding, delimiter, the column each header fills, the rows it would
refuse), so a manager can check and adjust the mapping before importing.
Nothing is written; only the file's first part is read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dialer.leads.csvfile import COLUMN_ALIASES, PREVIEW_BYTES, FileHead, read_head
from dialer.leads.importer import LEAD_MAX_LENGTHS
from dialer.leads.prepare import PrepareSpec, Rejected, check_rows

# The data rows a preview shows and checks.
PREVIEW_ROWS = 10


@dataclass(frozen=True, slots=True)
class Preview:
    head: FileHead
    errors: list[Rejected]

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
    `default_timezone` are the campaign's, as the import judges its rows."""
    with path.open("rb") as handle:
        data = handle.read(PREVIEW_BYTES + 1)
    truncated = len(data) > PREVIEW_BYTES
    head = read_head(
        data[:PREVIEW_BYTES], truncated=truncated, overrides=overrides, max_rows=PREVIEW_ROWS
    )
    if not head.has_phone:
        # Every row would be refused for its empty phone: that is the one error.
        return Preview(head=head, errors=[])
    spec = PrepareSpec(
        import_id=0,
        region=region,
        default_timezone=default_timezone,
        max_lengths=LEAD_MAX_LENGTHS,
    )
    return Preview(head=head, errors=check_rows(head.rows, spec=spec))
