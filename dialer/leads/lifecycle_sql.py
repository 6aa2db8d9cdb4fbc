"""The lead lifecycle's hand-written statements: the claim, on every agent's
"next" all day long. The lead is marked claimed only if it still has the status
the queue saw, with its claim row and its event; on PostgreSQL the three go in
one round trip, built from the same three statements. And the attempt's
count, on every call placed, and the end of a call nobody answered."""

from __future__ import annotations

from dialer.leads.history_sql import INSERT_EVENT
from dialer.leads.models import LeadStatus
from dialer.sql import Then, insert, one_trip, update

CLAIM_COLUMNS = (
    "lead_id",
    "campaign_id",
    "agent_id",
    "reason",
    "prev_status",
    "claimed_at",
    "claim_expires_at",
)
INSERT_CLAIM = insert("claim.insert", "claim", CLAIM_COLUMNS)
MARK_CLAIMED = update(
    "claim.mark_lead",
    "lead",
    (("status", f"'{LeadStatus.claimed.value}'"), "updated_at"),
    where="id = ? AND status = ?",
)
TAKE = one_trip(
    "claim.take",
    MARK_CLAIMED,
    Then(INSERT_CLAIM, from_updated={"lead_id": "id", "campaign_id": "campaign_id"}),
    Then(INSERT_EVENT, from_updated={"lead_id": "id"}),
    returning=("id", "campaign_id"),
)

# An attempt counted (`lifecycle.count_attempt_raw`): the counters as
# `lifecycle.counted` computed them. Parameters: the columns', then the lead id.
COUNTED_COLUMNS = (
    "attempts",
    "unsolicited_attempts",
    "day_attempts",
    "day_attempts_date",
    "last_attempt_at",
    "updated_at",
)
COUNT_ATTEMPT = update("lead.count_attempt", "lead", COUNTED_COLUMNS, where="id = ?")

# A call ended unanswered (`lifecycle.unanswered_raw`): the retry scheduled or
# the lead exhausted, with the failure counted. Parameters: the columns', then
# the lead id.
UNANSWERED_COLUMNS = (
    "status",
    "next_attempt_at",
    "next_attempt_reason",
    "failure_counts",
    "last_outcome",
    "updated_at",
)
UNANSWERED = update(
    "lead.unanswered", "lead", UNANSWERED_COLUMNS, where="id = ?", json=("failure_counts",)
)
