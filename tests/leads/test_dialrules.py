"""The dial-time rules, defined once (`dialer.leads.dialrules`): pure tables,
and the two readers of a lead's phones (the ORM one, used by dialing, promises,
the DNC list and the eligibility view, and the hand-written SQL one, used by
the claim) held to the same answer on the same leads, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dialer.campaign.schemas import CampaignCreate
from dialer.campaign.service import create_campaign
from dialer.db import Database
from dialer.dnc.models import DncEntry
from dialer.leads.dialrules import (
    PhoneFact,
    Uncallable,
    attempts_used_up,
    callable_numbers,
    day_attempts_on,
    over_daily_cap,
    why_uncallable,
)
from dialer.leads.models import Lead, Phone
from dialer.leads.phonebook import listed, listed_raw, phone_facts, phone_facts_raw

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
A, B, C = "+81312345678", "+81312345679", "+819012345678"


def P(number: str, *, retired: bool = False, listed: bool = False) -> PhoneFact:
    return PhoneFact(number=number, retired=retired, listed=listed)


PHONE_CASES = [
    ("one callable", [P(A)], [A], None),
    ("order kept", [P(B), P(A)], [B, A], None),
    ("retired skipped", [P(A, retired=True), P(B)], [B], None),
    ("listed skipped", [P(A, listed=True), P(B)], [B], None),
    ("all listed", [P(A, listed=True), P(B, listed=True)], [], Uncallable.dnc),
    ("all retired", [P(A, retired=True)], [], Uncallable.no_phone),
    ("retired and listed", [P(A, retired=True), P(B, listed=True)], [], Uncallable.dnc),
    ("no phone at all", [], [], Uncallable.no_phone),
]


@pytest.mark.parametrize(("name", "phones", "callable_", "why"), PHONE_CASES,
                         ids=[c[0] for c in PHONE_CASES])  # fmt: skip
def test_callable_phones(
    name: str, phones: list[PhoneFact], callable_: list[str], why: Uncallable | None
) -> None:
    assert callable_numbers(phones) == callable_
    assert why_uncallable(phones) == why


@pytest.mark.parametrize(
    ("day_attempts", "date", "today", "cap", "on_day", "over"),
    [
        (2, "2026-12-01", "2026-12-01", 3, 2, False),
        (3, "2026-12-01", "2026-12-01", 3, 3, True),
        (5, "2026-11-30", "2026-12-01", 3, 0, False),  # yesterday's count
        (0, None, "2026-12-01", 1, 0, False),
    ],
)
def test_daily_cap(
    day_attempts: int, date: str | None, today: str, cap: int, on_day: int, over: bool
) -> None:
    assert (
        day_attempts_on(day_attempts=day_attempts, day_attempts_date=date, local_date=today)
        == on_day
    )
    assert over_daily_cap(day_attempts=day_attempts, day_attempts_date=date, local_date=today,
                          cap=cap) is over  # fmt: skip


@pytest.mark.parametrize(("used", "cap", "over"), [(0, 1, False), (5, 6, False), (6, 6, True)])
def test_attempt_cap(used: int, cap: int, over: bool) -> None:
    assert attempts_used_up(unsolicited_attempts=used, max_attempts=cap) is over


# Leads as (phones as (number, retired)), with A and C on the do-not-call list.
LEADS = [
    [(A, False)],
    [(B, False)],
    [(A, False), (B, False)],
    [(B, True), (A, False)],
    [(A, False), (C, False)],
    [(B, True)],
    [(C, True), (B, False), (A, False)],
]


def test_orm_and_sql_readers_agree(db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.write() as session:
            lead_ids = []
            for i, phones in enumerate(LEADS):
                # A number belongs to one lead per campaign: a campaign per lead.
                campaign = create_campaign(session, data=CampaignCreate(name=f"Rules {i}"), now=NOW)
                assert campaign.id is not None
                lead = Lead(campaign_id=campaign.id, timezone="Asia/Tokyo", failure_counts={},
                            extra={}, raw={}, created_at=NOW, updated_at=NOW)  # fmt: skip
                session.add(lead)
                session.flush()
                assert lead.id is not None
                lead_ids.append(lead.id)
                # Positions given in reverse of insertion: the order is by position.
                for position, (number, retired) in reversed(list(enumerate(phones))):
                    session.add(Phone(lead_id=lead.id, campaign_id=campaign.id, number=number,
                                      position=position, retired=retired))  # fmt: skip
            for number in (A, C):
                session.add(DncEntry(phone=number, reason="refused", source="test", created_at=NOW))
        answers = []
        with db.work() as work:
            for lead_id, phones in zip(lead_ids, LEADS, strict=True):
                orm = phone_facts(work.session, lead_id=lead_id)
                raw = phone_facts_raw(work.raw, lead_id=lead_id)
                assert orm == raw, lead_id
                assert [f.number for f in orm] == [n for n, _ in phones]
                answers.append((callable_numbers(orm), why_uncallable(orm)))
            numbers = [A, B, C]
            assert listed(work.session, phones=numbers) == listed_raw(work.raw, phones=numbers)
            assert listed(work.session, phones=numbers) == {A, C}
        assert answers == [
            ([], Uncallable.dnc),
            ([B], None),
            ([B], None),
            ([], Uncallable.dnc),
            ([], Uncallable.dnc),
            ([], Uncallable.no_phone),
            ([B], None),
        ]
    finally:
        db.dispose()
