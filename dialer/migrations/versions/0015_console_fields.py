"""the agent console: pause codes and wrap-up per campaign; pause code, wrap-up,
state reason and event-stream presence per agent

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import dialer.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEFAULT_PAUSE_CODES = '["休憩", "研修", "打ち合わせ"]'


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite takes it with a constant default): a batch that
    # rebuilt `campaign` or `agent` would have to drop a table others refer to.
    op.add_column(
        "campaign",
        sa.Column(
            "pause_codes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
            server_default=sa.text(f"'{_DEFAULT_PAUSE_CODES}'"),
        ),
    )
    op.add_column(
        "campaign",
        sa.Column("wrapup_seconds", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("agent", sa.Column("pause_code", sa.String(length=40), nullable=True))
    op.add_column("agent", sa.Column("state_reason", sa.String(length=32), nullable=True))
    op.add_column(
        "agent", sa.Column("wrapup_until", dialer.db.UTCDateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "agent", sa.Column("stream_lost_at", dialer.db.UTCDateTime(timezone=True), nullable=True)
    )
    op.add_column("agent", sa.Column("stream_connection", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agent", schema=None) as batch_op:
        for name in ("stream_connection", "stream_lost_at", "wrapup_until", "state_reason",
                     "pause_code"):  # fmt: skip
            batch_op.drop_column(name)
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_column("wrapup_seconds")
        batch_op.drop_column("pause_codes")
