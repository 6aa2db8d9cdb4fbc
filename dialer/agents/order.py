"""Queue order as a pure rule. The SQL tiers in `queue.py` implement it with
indexes; tests hold the SQL to this definition.

1. promises owned by this agent that are due;
2. promises due for anyone;
3. leads whose retry is due, earliest first;
4. new leads, higher priority first, then in import order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum


class ClaimReason(StrEnum):
    """Why a claim was handed out: the tier it came from (own and anyone's
    promises are one reason, `promise`)."""

    promise = "promise"
    retry = "retry"
    new = "new"
    # A dialer claim (predictive): no agent yet; handed to the agent who takes
    # the answered call (dialer.calls.connect).
    predictive = "predictive"


class Tier(IntEnum):
    own_promise = 1
    anyone_promise = 2
    retry = 3
    new = 4


@dataclass(frozen=True, slots=True)
class Candidate:
    lead_id: int
    tier: Tier
    due_at: datetime | None = None  # promise due_at or retry next_attempt_at
    priority: int = 0


def sort_key(candidate: Candidate) -> tuple[int, float, int, int]:
    due = candidate.due_at.timestamp() if candidate.due_at is not None else 0.0
    if candidate.tier == Tier.new:
        return (candidate.tier, 0.0, -candidate.priority, candidate.lead_id)
    return (candidate.tier, due, 0, candidate.lead_id)


def ordered(candidates: list[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=sort_key)
