"""The per-call write path's hand-written SQL (history events, dialing blocks)
held to the ORM path it replaces in a unit of work, on both engines: the same
rows, read back the same, in the same order; and a lead made in the same
transaction is flushed before its first event (its foreign key)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col

from dialer.campaign.schemas import CampaignCreate
from dialer.campaign.service import create_campaign
from dialer.db import Database, raw_of, savepoint
from dialer.leads import history
from dialer.leads.models import Event, Lead
from dialer.telephony import blocks
from dialer.telephony.faults import Fault, FaultAction
from dialer.telephony.models import DialingBlock

NOW = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)


def _lead(campaign_id: int) -> Lead:
    return Lead(campaign_id=campaign_id, timezone="Asia/Tokyo", failure_counts={}, extra={},
                raw={}, created_at=NOW, updated_at=NOW)  # fmt: skip


def test_raw_events_read_back_as_the_orm_writes_them(db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.write() as session:
            assert raw_of(session) is not None
            campaign = create_campaign(session, data=CampaignCreate(name="Events"), now=NOW)
            assert campaign.id is not None
            # Pending, never flushed: record must flush it before the event.
            lead = _lead(campaign.id)
            session.add(lead)
            session.flush()
            other = _lead(campaign.id)
            session.add(other)
            assert other.id is None
            detail = {"call_id": 3, "checks": {"dnc": "clear", "at": NOW}, "名": "日本"}
            history.record(session, lead_id=lead.id or 0, kind="a", actor="dialer", at=NOW,
                           **detail)  # fmt: skip
            # The ORM path (a session of no unit of work adds the row) beside it.
            session.add(Event(lead_id=lead.id or 0, at=NOW, kind="b", actor="dialer",
                              detail=detail))  # fmt: skip
            session.flush()
            assert other.id is not None
            history.record(session, lead_id=other.id, kind="c", actor="system",
                           at=NOW + timedelta(seconds=1), why="x")  # fmt: skip
        with db.read() as session:
            assert raw_of(session) is None
            rows = list(session.scalars(select(Event).order_by(col(Event.id))))
            by_kind = {e.kind: e for e in rows}
            # Written at once: in the order of the calls.
            assert [e.kind for e in rows] == ["a", "b", "c"]
            assert by_kind["a"].at == by_kind["b"].at == NOW
            assert by_kind["a"].detail == by_kind["b"].detail
            assert by_kind["a"].detail["checks"]["at"] == str(NOW)
            assert by_kind["c"].lead_id == other.id
            assert by_kind["c"].at == NOW + timedelta(seconds=1)
    finally:
        db.dispose()


def test_dialing_blocks_read_raw_and_through_the_orm_agree(db_url: str) -> None:
    db = Database(db_url)
    fault_campaign = Fault(code="campaign_caller_id", meaning="m", provider_code=21212,
                           action=FaultAction.block_campaign)  # fmt: skip
    fault_account = Fault(code="account_suspended", meaning="m", provider_code=20003,
                          action=FaultAction.block_account)  # fmt: skip
    try:
        with db.write() as session:
            one = create_campaign(session, data=CampaignCreate(name="One"), now=NOW)
            two = create_campaign(session, data=CampaignCreate(name="Two"), now=NOW)
            assert one.id is not None and two.id is not None
            ids = (one.id, two.id)
            assert blocks.block_of(session, campaign_id=one.id) is None
            blocks.raise_block(session, fault=fault_campaign, campaign_id=one.id, detail="cid",
                               call_id=None, now=NOW)  # fmt: skip
            # Seen at once by the raw read of the same transaction.
            found = blocks.block_of(session, campaign_id=one.id)
            assert found is not None and found.campaign_id == one.id
            assert blocks.block_of(session, campaign_id=two.id) is None
        later = NOW + timedelta(minutes=5)
        with db.write() as session:
            blocks.raise_block(session, fault=fault_account, campaign_id=two.id, detail="acct",
                               call_id=7, now=later)  # fmt: skip
        with db.write() as session, db.read() as orm:
            assert raw_of(session) is not None and raw_of(orm) is None
            for campaign_id in ids:
                raw_block = blocks.block_of(session, campaign_id=campaign_id)
                orm_block = blocks.block_of(orm, campaign_id=campaign_id)
                # The account's block first, for both campaigns, on both paths.
                assert raw_block == orm_block
                assert raw_block is not None and raw_block.scope == "account"
                assert raw_block.since_at == later and raw_block.call_id == 7
            assert blocks.all_blocks(session) == blocks.all_blocks(orm)
            assert blocks.blocked_campaigns(session) == (True, frozenset({ids[0]}))
            assert session.get(DialingBlock, blocks.ACCOUNT) is not None
    finally:
        db.dispose()


def test_a_raw_event_in_a_rolled_back_savepoint_is_undone(db_url: str) -> None:
    """The session begins a savepoint lazily, at its first statement: an event
    written raw as the first thing in `db.savepoint` must still be inside it."""
    db = Database(db_url)
    try:
        with db.write() as session:
            campaign = create_campaign(session, data=CampaignCreate(name="Savepoint"), now=NOW)
            assert campaign.id is not None
            lead = _lead(campaign.id)
            session.add(lead)
            session.flush()
            lead_id = lead.id
            assert lead_id is not None
        with db.write() as session:
            session.execute(select(1))
            with pytest.raises(RuntimeError), savepoint(session):
                history.record(session, lead_id=lead_id, kind="undone", actor="t", at=NOW)
                raise RuntimeError("the row fails")
            with savepoint(session):
                history.record(session, lead_id=lead_id, kind="kept", actor="t", at=NOW)
        with db.read() as session:
            kinds = list(session.scalars(select(col(Event.kind)).order_by(col(Event.id))))
            assert kinds == ["kept"]
    finally:
        db.dispose()
