"""import owner: the process running a lead import

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lead_import", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lead_import", schema=None) as batch_op:
        batch_op.drop_column("owner")
