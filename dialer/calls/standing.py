"""A campaign's abandon standing as the dials read it: every predictive round
(each second) and every manual dial records it. `dialer.calls.abandon`'s
aggregate over the whole window costs a range of the window's answered calls
(some 220 ms at 300k calls on SQLite, docs/BENCHMARKS.md); here the window's
part older than two hours is counted once a minute of domain time, per
campaign, and only the recent part each time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from threading import Lock

from sqlalchemy.orm import Session

from dialer.agents.floor_rules import abandon_rate
from dialer.calls.abandon import AbandonStanding
from dialer.calls.standing_sql import ANSWERED_COUNTS_BEFORE, ANSWERED_COUNTS_TO
from dialer.campaign.models import Campaign
from dialer.campaign.service import abandon_policy_of
from dialer.db import raw_in

# The round's abandon standing: the window's calls older than STANDING_RECENT
# are counted again every STANDING_TTL of domain time, the recent ones every
# round (they are the ones still ringing, waiting, talking or being
# dispositioned: what moves the count).
STANDING_RECENT = timedelta(hours=2)
STANDING_TTL = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class _OldCounts:
    read_at: datetime
    cut: datetime  # counted: created in [the window's start then, cut)
    abandoned: int
    answered: int


_old_counts: dict[tuple[str, int, int], _OldCounts] = {}
_lock = Lock()


def _answered_counts(
    session: Session, *, campaign_id: int, since: datetime, until: datetime, inclusive: bool
) -> tuple[int, int]:
    """Abandoned and person-answered calls of the campaign created in
    [since, until] (or [since, until) when not `inclusive`): the abandon
    standing's aggregate (dialer.calls.abandon) over a part of its window, on
    the same partial index."""
    raw = raw_in(session)
    statement = ANSWERED_COUNTS_TO if inclusive else ANSWERED_COUNTS_BEFORE
    ((abandoned, answered),) = raw.rows(
        statement, (campaign_id, raw.instant(since), raw.instant(until))
    )
    return int(abandoned or 0), int(answered or 0)


def standing_now(session: Session, *, campaign: Campaign, now: datetime) -> AbandonStanding:
    """The campaign's abandon standing now, for a dial and the predictive round
    (every second): what `abandon_standing` counts, with the part of the window
    older than STANDING_RECENT counted at most every STANDING_TTL. Its error is
    bounded by that: calls older than two hours whose outcome changed in the last
    minute, and the window's far end, up to a minute stale. The reports read
    `abandon_standing` itself."""
    assert campaign.id is not None
    policy = abandon_policy_of(campaign)
    since = now - timedelta(days=policy.window_days)
    key = (str(session.get_bind().engine.url), campaign.id, policy.window_days)
    old = _old_counts.get(key)
    if old is None or not old.read_at <= now < old.read_at + STANDING_TTL:
        cut = max(since, now - STANDING_RECENT)
        abandoned, answered = _answered_counts(
            session, campaign_id=campaign.id, since=since, until=cut, inclusive=False
        )
        old = _OldCounts(read_at=now, cut=cut, abandoned=abandoned, answered=answered)
        with _lock:
            if len(_old_counts) > 1024:
                _old_counts.clear()
            _old_counts[key] = old
    recent_abandoned, recent_answered = _answered_counts(
        session, campaign_id=campaign.id, since=old.cut, until=now, inclusive=True
    )
    abandoned = old.abandoned + recent_abandoned
    answered = old.answered + recent_answered
    return AbandonStanding(
        abandoned=abandoned,
        answered=answered,
        rate=abandon_rate(abandoned=abandoned, answered=answered),
        max_rate=policy.max_rate,
        window_days=policy.window_days,
        since_at=since,
        over=answered > 0 and abandoned / answered > policy.max_rate,
    )
