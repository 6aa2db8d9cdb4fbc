"""partial lead indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 14:50:00

A lead as imported has no next attempt, reservation, external id or contract
number, yet every such lead was written into the five indexes on those columns
(and again into three of them when an import's leads turn `new`). Only the rows
that have a value are indexed now: every query on these columns compares the
column, which implies the condition, so the same plans are used.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name: (columns, the rows indexed)
_INDEXES: dict[str, tuple[list[str], str]] = {
    "ix_lead_queue_retry": (
        ["campaign_id", "status", "next_attempt_at", "id"],
        "next_attempt_at IS NOT NULL",
    ),
    "ix_lead_campaign_external": (["campaign_id", "external_id"], "external_id IS NOT NULL"),
    "ix_lead_campaign_contract": (
        ["campaign_id", "contract_number"],
        "contract_number IS NOT NULL",
    ),
    "ix_lead_queue_promise": (
        ["campaign_id", "status", "next_attempt_reason", "next_attempt_at"],
        "next_attempt_at IS NOT NULL",
    ),
    "ix_lead_reserved_until": (["reserved_until"], "reserved_until IS NOT NULL"),
}


def upgrade() -> None:
    for name, (columns, where) in _INDEXES.items():
        op.drop_index(name, table_name="lead")
        op.create_index(
            name,
            "lead",
            columns,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    for name, (columns, _where) in _INDEXES.items():
        op.drop_index(name, table_name="lead")
        op.create_index(name, "lead", columns)
