"""predictive dialing: abandon policy and retry timing per campaign, dialer
claims, unreserved calls waiting for an agent, abandoned leads, free agents

Revision ID: 0017
Revises: 0016

`campaign.abandon_policy` and `retry_timing`. `claim.agent_id` becomes
nullable: a dialer claim (reason `predictive`) holds a lead while its call
rings, with no agent until one takes the answered call. `call.agent_reserved`,
`connect_by_at` (an answered unreserved call waiting for an agent: abandoned
then) and `connected_at`. `lead.abandoned_at`: the lead's last abandoned call
(no unreserved recall within `no_recall_hours`). `agent.free_since`: when the
agent last became free (longest waiting first). `ix_call_campaign_answered`:
the calls a person answered, for the abandon rate read every tick.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import dialer.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEFAULT_ABANDON_POLICY = (
    '{"max_rate": 0.03, "window_days": 30, "connect_seconds": 2, "no_recall_hours": 72}'
)

# The abandon standing's calls (dialer.calls.models.ANSWERED_PREDICATE).
_ANSWERED = "answered_by = 'human' OR disposition = 'abandoned'"


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite takes it with a constant default): a batch that
    # rebuilt `campaign`, `call`, `lead` or `agent` would have to drop a table
    # others refer to. `claim` is referred to by nothing: its batch rebuild
    # (SQLite cannot alter a column's NULL) is safe.
    op.add_column(
        "campaign",
        sa.Column(
            "abandon_policy",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
            server_default=sa.text(f"'{_DEFAULT_ABANDON_POLICY}'"),
        ),
    )
    op.add_column(
        "campaign",
        sa.Column("retry_timing", sa.String(length=16), nullable=False, server_default="fixed"),
    )
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.alter_column("agent_id", existing_type=sa.Integer(), nullable=True)
    op.add_column(
        "call",
        sa.Column("agent_reserved", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "call", sa.Column("connect_by_at", dialer.db.UTCDateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "call", sa.Column("connected_at", dialer.db.UTCDateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_call_connect_by",
        "call",
        ["connect_by_at"],
        unique=False,
        sqlite_where=sa.text("connect_by_at IS NOT NULL"),
        postgresql_where=sa.text("connect_by_at IS NOT NULL"),
    )
    op.create_index(
        "ix_call_campaign_answered",
        "call",
        ["campaign_id", "created_at", "disposition"],
        unique=False,
        sqlite_where=sa.text(_ANSWERED),
        postgresql_where=sa.text(_ANSWERED),
    )
    op.add_column(
        "lead", sa.Column("abandoned_at", dialer.db.UTCDateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "agent", sa.Column("free_since", dialer.db.UTCDateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ has it): a batch rebuilding `campaign`
    # would drop a table whose rows others still refer to (campaign_event, 0016).
    op.drop_column("agent", "free_since")
    op.drop_column("lead", "abandoned_at")
    op.drop_index("ix_call_connect_by", table_name="call")
    op.drop_index("ix_call_campaign_answered", table_name="call")
    for name in ("connected_at", "connect_by_at", "agent_reserved"):
        op.drop_column("call", name)
    # Dialer claims have no agent to go back to: their leads return to the queue.
    op.execute(
        "UPDATE lead SET status = (SELECT prev_status FROM claim WHERE claim.lead_id = lead.id)"
        " WHERE id IN (SELECT lead_id FROM claim WHERE agent_id IS NULL)"
    )
    op.execute("DELETE FROM claim WHERE agent_id IS NULL")
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.alter_column("agent_id", existing_type=sa.Integer(), nullable=False)
    op.drop_column("campaign", "retry_timing")
    op.drop_column("campaign", "abandon_policy")
