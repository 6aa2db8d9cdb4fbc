"""lead search

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:00:00

Finding a lead by what a customer says on the phone (issue 12): its name,
company, contract number and external id folded into search keys
(dialer.leads.search_keys), each indexed with the id, and the leads already
stored given theirs. Calls get the indexes their lists run on (by agent, by
campaign, all of them, newest first), which replace the single-column ones on
agent and campaign.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from dialer.leads.search_keys import (
    CONTRACT_KEY_MAX,
    EXTERNAL_KEY_MAX,
    NAME_KEY_MAX,
    lead_keys,
)

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = {
    "name_key": NAME_KEY_MAX,
    "company_key": NAME_KEY_MAX,
    "contract_key": CONTRACT_KEY_MAX,
    "external_key": EXTERNAL_KEY_MAX,
}
_CALL_INDEXES = {
    "ix_call_agent_created": ["agent_id", "created_at", "id"],
    "ix_call_campaign_created": ["campaign_id", "created_at", "id"],
    "ix_call_created": ["created_at", "id"],
}
_BATCH = 5000


def _key_type(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _backfill() -> None:
    """The keys of the leads stored before this revision, a batch at a time, by
    the same fold the service uses from now on."""
    bind = op.get_bind()
    select = sa.text(
        "SELECT id, name, company, contract_number, external_id FROM lead"
        " WHERE id > :after AND (name IS NOT NULL OR company IS NOT NULL"
        " OR contract_number IS NOT NULL OR external_id IS NOT NULL)"
        " ORDER BY id LIMIT :n"
    )
    update = sa.text(
        "UPDATE lead SET name_key = :name_key, company_key = :company_key,"
        " contract_key = :contract_key, external_key = :external_key WHERE id = :id"
    )
    after = 0
    while rows := bind.execute(select, {"after": after, "n": _BATCH}).all():
        values = []
        for lead_id, name, company, contract_number, external_id in rows:
            keys = lead_keys(
                name=name, company=company, contract_number=contract_number, external_id=external_id
            )
            values.append({"id": lead_id, **dict(zip(_KEYS, keys, strict=True))})
        bind.execute(update, values)
        after = rows[-1][0]


def upgrade() -> None:
    for column, length in _KEYS.items():
        op.add_column("lead", sa.Column(column, _key_type(length), nullable=True))
    _backfill()
    for column in _KEYS:
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(
            f"ix_lead_{column}",
            "lead",
            [column, "id"],
            sqlite_where=where,
            postgresql_where=where,
        )
    for name, columns in _CALL_INDEXES.items():
        op.create_index(name, "call", columns)
    op.drop_index("ix_call_agent_id", table_name="call")
    op.drop_index("ix_call_campaign_id", table_name="call")


def downgrade() -> None:
    op.create_index("ix_call_campaign_id", "call", ["campaign_id"])
    op.create_index("ix_call_agent_id", "call", ["agent_id"])
    for name in _CALL_INDEXES:
        op.drop_index(name, table_name="call")
    for column in _KEYS:
        op.drop_index(f"ix_lead_{column}", table_name="lead")
    with op.batch_alter_table("lead") as batch_op:
        for column in reversed(_KEYS):
            batch_op.drop_column(column)
