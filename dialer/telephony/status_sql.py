"""The status callback's fast path (dialer.telephony.webhooks.on_status_fast) in
hand-written SQL: every callback of every call runs these."""

from __future__ import annotations

from dialer.agents.events_sql import INSERT_AGENT_EVENT
from dialer.leads.history_sql import INSERT_EVENT
from dialer.sql import Then, one_trip, sql, update

# The call as the fast path decides on it, in this order.
CALL_FIELDS = (
    "call.id",
    "call.lead_id",
    "call.campaign_id",
    "call.agent_id",
    "call.status",
    "call.answered_by",
    "call.answered_at",
    "call.duration",
    "call.provider",
    "call.provider_sid",
    "call.provider_seq",
    "call.provider_error",
    "call.disposition",
    "campaign.machine_detection",
)
# Two callbacks of one call at once (in-progress and completed): the second
# waits for the first's commit and decides on what it wrote (PostgreSQL;
# SQLite's write transactions are serialized already).
SELECT_CALL = sql(
    "call_status.select",
    f"SELECT {', '.join(CALL_FIELDS)} FROM call JOIN campaign ON campaign.id = call.campaign_id"
    " WHERE call.id = ?",
    postgres_lock=" FOR UPDATE OF call",
)
UPDATE_SEQUENCE = update("call_status.sequence", "call", ("provider_seq",), where="id = ?")
UPDATE_CALL = update(
    "call_status.update",
    "call",
    ("status", "answered_by", "answered_at", "ended_at", "duration", "provider_seq"),
    where="id = ?",
)
# PostgreSQL: the call's update and its two events in one round trip; the
# events' lead, agent and campaign are the updated call's, and an agent event
# only when the call has an agent.
STATUS_WRITES = one_trip(
    "call_status.writes",
    UPDATE_CALL,
    Then(INSERT_EVENT, from_updated={"lead_id": "lead_id"}),
    Then(
        INSERT_AGENT_EVENT,
        from_updated={"agent_id": "agent_id", "campaign_id": "campaign_id"},
        when="agent_id IS NOT NULL",
    ),
    returning=("lead_id", "agent_id", "campaign_id"),
)
