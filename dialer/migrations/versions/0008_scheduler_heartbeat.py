"""scheduler heartbeat

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00

The scheduler leader writes its heartbeat and tick figures into its lease row
with each renewal, so /healthz and /metrics on any web replica (any host) can
tell whether due work is being done.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dialer.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scheduler_lease", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("heartbeat_at", dialer.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("tick_seconds", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("tick_lag_seconds", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("ticks", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("skipped_runs", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("scheduler_lease", schema=None) as batch_op:
        batch_op.drop_column("skipped_runs")
        batch_op.drop_column("ticks")
        batch_op.drop_column("tick_lag_seconds")
        batch_op.drop_column("tick_seconds")
        batch_op.drop_column("heartbeat_at")
