"""passwords and browser sessions

Revision ID: 0014
Revises: 0013

Browser sign-in: `agent.password_hash` (Argon2id) and `agent.sign_in_name`
(the folded name, unique among accounts with a password; NULL otherwise),
`web_session` (a signed-in browser: its token's digest, its CSRF token, its
expiry), and `sign_in_failure` (consecutive failures per sign-in name, for
the back-off and the lock-out).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dialer.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("sign_in_name", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_agent_sign_in_name", ["sign_in_name"], unique=True)
    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", dialer.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", dialer.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", dialer.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_web_session_token_hash", "web_session", ["token_hash"], unique=True)
    op.create_index("ix_web_session_agent_id", "web_session", ["agent_id"], unique=False)
    op.create_table(
        "sign_in_failure",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", dialer.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", dialer.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index(
        "ix_sign_in_failure_last_failed_at", "sign_in_failure", ["last_failed_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_sign_in_failure_last_failed_at", table_name="sign_in_failure")
    op.drop_table("sign_in_failure")
    op.drop_index("ix_web_session_agent_id", table_name="web_session")
    op.drop_index("ix_web_session_token_hash", table_name="web_session")
    op.drop_table("web_session")
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_sign_in_name")
        batch_op.drop_column("sign_in_name")
        batch_op.drop_column("password_hash")
