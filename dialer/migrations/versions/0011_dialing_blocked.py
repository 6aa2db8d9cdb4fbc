"""dialing blocked by account and configuration faults of the provider

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dialer.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dialing_block",
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("provider_code", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("since_at", dialer.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.PrimaryKeyConstraint("scope"),
    )
    op.create_index("ix_dialing_block_campaign_id", "dialing_block", ["campaign_id"])


def downgrade() -> None:
    op.drop_index("ix_dialing_block_campaign_id", table_name="dialing_block")
    op.drop_table("dialing_block")
