"""accounts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00

Several managers, and accounts that can be deactivated: `agent.active` (every
existing account stays active) and `agent.deactivated_at`; `account_event` is
an account's append-only history (created, renamed, token rotated, deactivated,
reactivated).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import dialer.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("deactivated_at", dialer.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "account_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", dialer.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("account_event", schema=None) as batch_op:
        batch_op.create_index("ix_account_event_agent", ["agent_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("account_event", schema=None) as batch_op:
        batch_op.drop_index("ix_account_event_agent")
    op.drop_table("account_event")
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.drop_column("deactivated_at")
        batch_op.drop_column("active")
