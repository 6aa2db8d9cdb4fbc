"""The abandon standing's counts (`standing._answered_counts`), hand-written:
every predictive round (each second) and every dial reads them. Abandoned and
person-answered calls of a campaign created in a range, on the partial index
of answered calls (`ANSWERED_PREDICATE`, as dialer.calls.abandon counts them).
Parameters: campaign id, since, until."""

from __future__ import annotations

from dialer.calls.models import ANSWERED_PREDICATE, Outcome
from dialer.sql import sql


def _counts(end: str) -> str:
    return (
        f"SELECT count(*) FILTER (WHERE disposition = '{Outcome.abandoned.value}'), count(*)"
        f" FROM call WHERE campaign_id = ? AND created_at >= ? AND created_at {end} ?"
        f" AND ({ANSWERED_PREDICATE})"
    )


ANSWERED_COUNTS_TO = sql("standing.answered_counts_to", _counts("<="))
ANSWERED_COUNTS_BEFORE = sql("standing.answered_counts_before", _counts("<"))
