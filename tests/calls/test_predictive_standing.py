"""The dials' abandon standing (`standing_now`) against the reports' own
(`abandon_standing`): the same counts, the window's old part re-counted once a
minute of domain time, its last two hours every round."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from dialer.calls.abandon import abandon_standing
from dialer.calls.models import Call
from dialer.calls.standing import STANDING_TTL, standing_now
from dialer.campaign.models import Campaign
from dialer.campaign.schemas import CampaignCreate
from dialer.campaign.service import create_campaign
from dialer.db import Database
from dialer.leads.models import Lead
from dialer.migrations import upgrade

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def _call(campaign_id: int, lead_id: int, *, ago: timedelta, kind: str) -> Call:
    at = NOW - ago
    person = kind in ("answered", "abandoned")
    return Call(
        lead_id=lead_id,
        campaign_id=campaign_id,
        to="+819012345678",
        status="completed" if person else "no-answer",
        answered_by="human" if kind == "answered" else None,
        provider="simulated",
        created_at=at,
        answered_at=at + timedelta(seconds=5) if person else None,
        disposition="abandoned" if kind == "abandoned" else None,
    )


def _both(db: Database, campaign_id: int, now: datetime) -> tuple[Any, Any]:
    with db.read() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        return (
            standing_now(session, campaign=campaign, now=now),
            abandon_standing(session, campaign=campaign, now=now),
        )


def test_the_round_standing_counts_what_abandon_standing_counts(db_url: str) -> None:
    upgrade(db_url)
    db = Database(db_url)
    try:
        with db.write() as session:
            campaign = create_campaign(
                session, data=CampaignCreate(name="Standing", abandon_policy={"window_days": 1}),
                now=NOW,
            )  # fmt: skip
            assert campaign.id is not None
            lead = Lead(campaign_id=campaign.id, timezone="Asia/Tokyo", failure_counts={},
                        extra={}, raw={}, created_at=NOW, updated_at=NOW)  # fmt: skip
            session.add(lead)
            session.flush()
            assert lead.id is not None
            cid, lid = campaign.id, lead.id
            for ago, kind in [
                (timedelta(days=2), "abandoned"),  # outside the window
                (timedelta(hours=20), "answered"),
                (timedelta(hours=5), "abandoned"),
                (timedelta(hours=3), "unanswered"),
                (timedelta(minutes=30), "answered"),
                (timedelta(minutes=1), "abandoned"),
            ]:
                session.add(_call(cid, lid, ago=ago, kind=kind))
            session.flush()
            old = _call(cid, lid, ago=timedelta(hours=4), kind="answered")
            session.add(old)
            session.flush()
            old_id = old.id
        fast, exact = _both(db, cid, NOW)
        assert (fast.abandoned, fast.answered) == (exact.abandoned, exact.answered) == (2, 5)
        assert fast.rate == exact.rate and fast.over == exact.over
        assert fast.since_at == exact.since_at and fast.window_days == 1
        # A call of the last two hours counts at once.
        with db.write() as session:
            session.add(_call(cid, lid, ago=timedelta(seconds=10), kind="abandoned"))
        fast, exact = _both(db, cid, NOW + timedelta(seconds=1))
        assert (fast.abandoned, fast.answered) == (exact.abandoned, exact.answered) == (3, 6)
        # An older call's change shows within STANDING_TTL of domain time.
        with db.write() as session:
            session.execute(
                update(Call).where(col(Call.id) == old_id).values(disposition="abandoned")
            )
        fast, exact = _both(db, cid, NOW + timedelta(seconds=2))
        assert (exact.abandoned, fast.abandoned) == (4, 3)
        fast, exact = _both(db, cid, NOW + STANDING_TTL + timedelta(seconds=1))
        assert (fast.abandoned, fast.answered) == (exact.abandoned, exact.answered) == (4, 6)
    finally:
        db.dispose()
