"""A campaign's abandon standing: abandoned calls over calls a person answered,
over its abandon window (`abandon_policy.window_days`), against its cap
(`abandon_policy.max_rate`).

An abandoned call was answered by a person whom no agent could take, whatever
machine detection said, so it counts as answered too. Calls count by when they
were placed (`created_at`), the instant the pacer decided them.

The pacer reads it every tick and the floor every half second, so it is one
aggregate over the campaign's calls of the window: a range of
`ix_call_campaign_answered`, the partial index of exactly the calls it counts
(the WHERE below is its predicate, written as literal SQL so that both engines
can prove the index applies; bound parameters would hide it from them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.floor_rules import abandon_rate
from dialer.calls.models import Call
from dialer.campaign.models import Campaign
from dialer.campaign.service import abandon_policy_of

# The partial index's predicate, verbatim (dialer/calls/models.py).
ANSWERED_SQL = "answered_by = 'human' OR disposition = 'abandoned'"
_ABANDONED_SQL = "disposition = 'abandoned'"


@dataclass(frozen=True, slots=True)
class AbandonStanding:
    abandoned: int
    # Answered by a person: `answered_by` human, or dispositioned abandoned.
    answered: int
    rate: float | None  # abandoned / answered, 4 places; None before any answer
    max_rate: float
    window_days: int
    since_at: datetime
    over: bool  # rate > max_rate


def abandon_standing(session: Session, *, campaign: Campaign, now: datetime) -> AbandonStanding:
    """The campaign's calls created in [now − window_days, now]."""
    policy = abandon_policy_of(campaign)
    since = now - timedelta(days=policy.window_days)
    abandoned, answered = session.execute(
        select(
            func.count().filter(text(_ABANDONED_SQL)),
            func.count(),
        ).where(
            col(Call.campaign_id) == campaign.id,
            col(Call.created_at) >= since,
            col(Call.created_at) <= now,
            text(f"({ANSWERED_SQL})"),
        )
    ).one()
    abandoned, answered = int(abandoned or 0), int(answered or 0)
    rate = abandon_rate(abandoned=abandoned, answered=answered)
    return AbandonStanding(
        abandoned=abandoned,
        answered=answered,
        rate=rate,
        max_rate=policy.max_rate,
        window_days=policy.window_days,
        since_at=since,
        # The ratio itself, not the rounded one: 0.03004 is over a 0.03 cap.
        over=answered > 0 and abandoned / answered > policy.max_rate,
    )
