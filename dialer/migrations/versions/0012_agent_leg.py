"""agent leg: the bridge's DialCallStatus on the call; the campaign's abandon message

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite takes it with a constant default): a batch that
    # rebuilt `campaign` would have to drop a table every lead refers to.
    op.add_column("call", sa.Column("agent_leg_status", sa.String(length=16), nullable=True))
    op.add_column("campaign", sa.Column("seller_name", sa.String(length=100), nullable=True))
    op.add_column("campaign", sa.Column("call_reason", sa.String(length=200), nullable=True))
    op.add_column("campaign", sa.Column("callback_number", sa.String(length=20), nullable=True))
    op.add_column("campaign", sa.Column("abandon_message", sa.String(length=1000), nullable=True))
    op.add_column(
        "campaign",
        sa.Column("tts_voice", sa.String(length=64), nullable=False, server_default="Polly.Mizuki"),
    )
    op.add_column(
        "campaign",
        sa.Column("tts_language", sa.String(length=16), nullable=False, server_default="ja-JP"),
    )


def downgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        for name in (
            "tts_language",
            "tts_voice",
            "abandon_message",
            "callback_number",
            "call_reason",
            "seller_name",
        ):
            batch_op.drop_column(name)
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_column("agent_leg_status")
