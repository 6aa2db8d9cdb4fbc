"""Migration 0009 gives the leads stored before it their search keys, and goes
back down cleanly."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import text

from dialer.campaign.schemas import CampaignCreate
from dialer.campaign.service import create_campaign
from dialer.db import Database
from dialer.migrations import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def test_upgrade_fills_the_keys_of_existing_leads(db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.write() as session:
            campaign = create_campaign(session, data=CampaignCreate(name="Old"), now=NOW)
            campaign_id = campaign.id
        db.dispose()
        command.downgrade(alembic_config(db_url), "0008")
        insert = text(
            "INSERT INTO lead (campaign_id, status, name, company, contract_number, external_id,"
            " priority, timezone, attempts, unsolicited_attempts, day_attempts, failure_counts,"
            " extra, raw, created_at, updated_at) VALUES (:c, 'new', :name, :company, :contract,"
            " :external, 0, 'Asia/Tokyo', 0, 0, 0, '{}', '{}', '{}', :at, :at)"
        )
        rows = [
            {"name": "ﾔﾏﾀﾞ ﾀﾛｳ", "company": "ＡＢＣ", "contract": "01-23", "external": "X 1"},
            {"name": None, "company": None, "contract": None, "external": None},
        ]
        with db.engine.begin() as conn:
            for row in rows:
                conn.execute(insert, {"c": campaign_id, "at": NOW.replace(tzinfo=None), **row})
        db.dispose()
        upgrade(db_url)
        with db.engine.connect() as conn:
            keys = conn.execute(
                text(
                    "SELECT name_key, company_key, contract_key, external_key FROM lead ORDER BY id"
                )
            ).all()
        assert [tuple(k) for k in keys] == [
            ("ヤマダタロウ", "abc", "0123", "x1"),
            (None, None, None, None),
        ]
    finally:
        db.dispose()
