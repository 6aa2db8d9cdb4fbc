"""The lead import's staging (dialer.leads.importer) in hand-written SQL: at a
million rows the ORM's per-row work would be most of the import. Rows go in by
COPY on PostgreSQL and executemany on SQLite, with the same column tuples."""

from __future__ import annotations

from dialer.leads.prepare import FIELD_COLUMNS
from dialer.sql import insert, sql

# Phones of the campaign among a batch's, `{in_}` as RawSql.column_in fills it.
HELD_PHONES = sql(
    "import.held_phones", "SELECT number FROM phone WHERE campaign_id = ? AND number {in_}"
)

# The leads' columns: the ones an import fixes, then the row's own (FIELD_COLUMNS).
LEAD_COLUMNS = (
    "id",
    "campaign_id",
    "import_id",
    "status",
    "attempts",
    "unsolicited_attempts",
    "day_attempts",
    "failure_counts",
    "created_at",
    "updated_at",
    *FIELD_COLUMNS,
)
INSERT_LEADS = insert("import.leads", "lead", LEAD_COLUMNS, json=("failure_counts", "extra", "raw"))

PHONE_COLUMNS = ("lead_id", "campaign_id", "number", "position", "retired")
INSERT_PHONES = insert("import.phones", "phone", PHONE_COLUMNS)
# A phone a concurrent import has just taken is skipped, not an error that sinks
# the batch; RETURNING tells which went in. One array parameter per column.
_PHONE_ARRAYS = ("int", "int", "text", "int", "bool")
INSERT_PHONES_UNLESS_TAKEN = sql(
    "import.phones_unless_taken",
    f"INSERT INTO phone ({', '.join(PHONE_COLUMNS)})"
    f" SELECT * FROM unnest({', '.join(f'?::{kind}[]' for kind in _PHONE_ARRAYS)})"
    " ON CONFLICT DO NOTHING RETURNING lead_id",
    postgres_only=True,
)
# Leads that lost a phone to a concurrent import (PostgreSQL: SQLite has no
# concurrent writer), removed with their phones.
DELETE_LOST_PHONES = sql(
    "import.lost_phones", "DELETE FROM phone WHERE lead_id = ANY(?)", postgres_only=True
)
DELETE_LOST_LEADS = sql(
    "import.lost_leads", "DELETE FROM lead WHERE id = ANY(?)", postgres_only=True
)

CONTACT_COLUMNS = ("lead_id", "name", "role")
INSERT_CONTACTS = insert("import.contacts", "contact", CONTACT_COLUMNS)

# A rejected row: (import, row number, kind, field, reason, the raw row as JSON).
ROW_ERROR_COLUMNS = ("import_id", "row", "kind", "field", "reason", "raw")
INSERT_ROW_ERRORS = insert(
    "import.row_errors", "import_row_error", ROW_ERROR_COLUMNS, json=("raw",)
)

# New lead ids: drawn from the sequence on PostgreSQL; on SQLite the import holds
# the write lock (BEGIN IMMEDIATE), so max(id) is its to extend.
NEW_LEAD_IDS = sql(
    "import.new_lead_ids",
    "SELECT nextval(pg_get_serial_sequence('lead', 'id')) FROM generate_series(1, ?)",
    postgres_only=True,
)
TOP_LEAD_ID = sql("import.top_lead_id", "SELECT COALESCE(MAX(id), 0) FROM lead")

ANALYZE_PHONES = sql("import.analyze_phones", "ANALYZE phone", postgres_only=True)
