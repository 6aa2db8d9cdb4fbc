"""campaign history, the do-not-call audit, import progress

Revision ID: 0016
Revises: 0015

`campaign_event`: every create, change (pause and resume among them), clone and
dialing-block lift of a campaign, who did it and each field's value before and
after. `dnc_event`: every phone listed, imported or lifted, by whom and why;
`dnc_entry.created_by`. `lead_import.size_bytes` and `bytes_read`: how far an
import's processing has read its file.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import dialer.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaign_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("at", dialer.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column(
            "changes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("source_campaign_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_campaign_event_campaign", "campaign_event", ["campaign_id", "id"], unique=False
    )
    op.create_table(
        "dnc_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("at", dialer.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dnc_event_phone", "dnc_event", ["phone", "id"], unique=False)
    # Plain ADD COLUMN (SQLite takes it with a constant default): a batch that
    # rebuilt the table would have to drop one others refer to.
    op.add_column("dnc_entry", sa.Column("created_by", sa.String(length=64), nullable=True))
    op.add_column(
        "lead_import",
        sa.Column("size_bytes", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.add_column(
        "lead_import",
        sa.Column("bytes_read", sa.BigInteger(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    with op.batch_alter_table("lead_import", schema=None) as batch_op:
        batch_op.drop_column("bytes_read")
        batch_op.drop_column("size_bytes")
    with op.batch_alter_table("dnc_entry", schema=None) as batch_op:
        batch_op.drop_column("created_by")
    op.drop_index("ix_dnc_event_phone", table_name="dnc_event")
    op.drop_table("dnc_event")
    op.drop_index("ix_campaign_event_campaign", table_name="campaign_event")
    op.drop_table("campaign_event")
