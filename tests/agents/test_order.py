"""Queue order as a pure rule: own promises, promises for anyone, due retries
(earliest first), then new leads (higher priority first, then import order)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialer.agents.order import Candidate, Tier, ordered

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # Tuesday 10:00 in Tokyo


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def own(lead_id: int, due: int) -> Candidate:
    return Candidate(lead_id=lead_id, tier=Tier.own_promise, due_at=at(due))


def anyone(lead_id: int, due: int) -> Candidate:
    return Candidate(lead_id=lead_id, tier=Tier.anyone_promise, due_at=at(due))


def retry(lead_id: int, due: int) -> Candidate:
    return Candidate(lead_id=lead_id, tier=Tier.retry, due_at=at(due))


def new(lead_id: int, priority: int = 0) -> Candidate:
    return Candidate(lead_id=lead_id, tier=Tier.new, priority=priority)


@pytest.mark.parametrize(
    ("candidates", "expected_ids"),
    [
        pytest.param([], [], id="nothing-to-order"),
        pytest.param(
            [new(1, priority=9), retry(2, -60), anyone(3, -30), own(4, 0)],
            [4, 3, 2, 1],
            id="tiers-own-promise-anyone-promise-retry-new",
        ),
        pytest.param(
            [anyone(1, -120), own(2, 0)],
            [2, 1],
            id="own-promise-before-an-older-promise-for-anyone",
        ),
        pytest.param(
            [retry(1, -600), anyone(2, 0)],
            [2, 1],
            id="promise-for-anyone-before-an-older-retry",
        ),
        pytest.param(
            [new(1, priority=100), retry(2, 0)],
            [2, 1],
            id="due-retry-before-high-priority-new-lead",
        ),
        pytest.param(
            [own(1, 5), own(2, -5), own(3, 0)],
            [2, 3, 1],
            id="own-promises-earliest-due-first",
        ),
        pytest.param(
            [anyone(1, 5), anyone(2, -5)],
            [2, 1],
            id="anyone-promises-earliest-due-first",
        ),
        pytest.param(
            [retry(1, 30), retry(2, -30), retry(3, 0)],
            [2, 3, 1],
            id="retries-earliest-first",
        ),
        pytest.param(
            [retry(9, 0), retry(3, 0), retry(5, 0)],
            [3, 5, 9],
            id="retries-due-together-by-lead-id",
        ),
        pytest.param(
            [own(8, 0), own(2, 0)],
            [2, 8],
            id="own-promises-due-together-by-lead-id",
        ),
        pytest.param(
            [anyone(8, 0), anyone(2, 0)],
            [2, 8],
            id="anyone-promises-due-together-by-lead-id",
        ),
        pytest.param(
            [retry(1, 0), retry(2, -1)],
            [2, 1],
            id="earlier-due-beats-lower-lead-id",
        ),
        pytest.param(
            [new(1, priority=0), new(2, priority=5), new(3, priority=1)],
            [2, 3, 1],
            id="new-higher-priority-first",
        ),
        pytest.param(
            [new(7), new(3), new(5)],
            [3, 5, 7],
            id="new-same-priority-in-import-order",
        ),
        pytest.param(
            [new(4, priority=2), new(1, priority=-1), new(9, priority=2), new(2, priority=0)],
            [4, 9, 2, 1],
            id="new-priority-desc-then-lead-id-asc",
        ),
        pytest.param(
            [
                Candidate(lead_id=1, tier=Tier.new, due_at=at(-999), priority=0),
                Candidate(lead_id=2, tier=Tier.new, due_at=at(999), priority=1),
            ],
            [2, 1],
            id="new-leads-ignore-due-at",
        ),
        pytest.param(
            [
                retry(5, 10),
                new(1, priority=3),
                own(9, 20),
                anyone(4, -5),
                retry(2, 10),
                new(3, priority=3),
                anyone(6, -5),
                own(7, 20),
                new(8, priority=4),
            ],
            [7, 9, 4, 6, 2, 5, 8, 1, 3],
            id="mixed-with-ties-in-every-tier",
        ),
    ],
)
def test_ordered(candidates: list[Candidate], expected_ids: list[int]) -> None:
    assert [c.lead_id for c in ordered(candidates)] == expected_ids


def test_ordered_does_not_depend_on_input_order() -> None:
    candidates = [new(1, 2), retry(2, 0), own(3, 1), anyone(4, 0), retry(5, -1), new(6, 3)]
    expected = [3, 4, 5, 2, 6, 1]
    assert [c.lead_id for c in ordered(candidates)] == expected
    assert [c.lead_id for c in ordered(list(reversed(candidates)))] == expected


def test_due_times_compare_as_instants_across_zones() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    later_in_utc = Candidate(1, Tier.retry, due_at=datetime(2026, 12, 1, 1, 1, tzinfo=UTC))
    earlier_in_tokyo = Candidate(2, Tier.retry, due_at=datetime(2026, 12, 1, 10, 0, tzinfo=tokyo))
    assert [c.lead_id for c in ordered([later_in_utc, earlier_in_tokyo])] == [2, 1]


def test_ordered_leaves_the_input_alone() -> None:
    candidates = [new(2), new(1)]
    assert [c.lead_id for c in ordered(candidates)] == [1, 2]
    assert [c.lead_id for c in candidates] == [2, 1]


# --- the queue's memo of calling hours -------------------------------------------


def test_rules_memo_follows_the_calling_hours_across_changes() -> None:
    from dialer.agents.queue import CampaignRules
    from dialer.campaign.hours import CallingHours

    hours = CallingHours.from_spec(
        rules=[{"days": "mon-fri", "start": "09:00", "end": "20:00"}],
        timezone="Asia/Tokyo",
        holiday_region="JP",
    )
    rules = CampaignRules(
        campaign_id=1, hours_by_zone={"Asia/Tokyo": hours}, max_attempts_per_day=3
    )
    start = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # Tue 08:00 Tokyo
    for minutes in range(0, 3 * 24 * 60, 7):
        at = start + timedelta(minutes=minutes)
        assert rules.is_open("Asia/Tokyo", at=at) is hours.is_open(at=at), at
