"""The hand-written SQL of dialer.calls.disposition: a call's unanswered end
(`end_unanswered_raw`, for both providers' reports: most calls of a floor end
so, each one report), and the agent's disposition's reads and write.

`OPEN_PROMISE_ID`: the lead's open (scheduled) promise, if any: every
disposition settles it, and most leads have none. Parameter: the lead's id.

`CALL_DISPOSITIONED`: the call as its disposition leaves it (ended, who
answered, the outcome, by whom and when, the note): the columns of
`DISPOSED_CALL_COLUMNS`, then the call's id."""

from __future__ import annotations

from dialer.promises.models import PromiseStatus
from dialer.sql import sql, update

# What an unanswered end decides on besides the call (`disposition.ending_call`):
# its lead's row and its campaign's retry rules, in this order.
ENDING_FIELDS = (
    "lead.status",
    "lead.timezone",
    "lead.promise_id",
    "lead.failure_counts",
    "lead.unsolicited_attempts",
    "lead.day_attempts",
    "lead.day_attempts_date",
    "campaign.retry_policy",
    "campaign.calling_hours",
    "campaign.timezone",
    "campaign.default_region",
    "campaign.skip_holidays",
    "campaign.retry_timing",
)
# ENDING_FIELDS of one lead. Parameter: the lead id.
ENDING_OF_LEAD = sql(
    "call.ending_of_lead",
    f"SELECT {', '.join(ENDING_FIELDS)} FROM lead"
    " JOIN campaign ON campaign.id = lead.campaign_id WHERE lead.id = ?",
)

# The call's end and its system disposition, and (when the simulated
# provider's report ends it) its scripted instant spent. Parameters: the
# columns', whether the script is spent, then the call id.
END_UNANSWERED = update(
    "call.end_unanswered",
    "call",
    (
        "status",
        "answered_by",
        "answered_at",
        "ended_at",
        "duration",
        "disposition",
        "dispositioned_at",
        "dispositioned_by",
        ("sim_final_at", "CASE WHEN ? THEN NULL ELSE sim_final_at END"),
    ),
    where="id = ?",
)

OPEN_PROMISE_ID = sql(
    "dispose.open_promise_id",
    f"SELECT id FROM promise WHERE lead_id = ? AND status = '{PromiseStatus.scheduled.value}'"
    " LIMIT 1",
)

DISPOSED_CALL_COLUMNS = (
    "status",
    "ended_at",
    "duration",
    "sim_final_at",
    "answered_by",
    "disposition",
    "dispositioned_at",
    "dispositioned_by",
    "note",
)
CALL_DISPOSITIONED = update(
    "dispose.call_dispositioned", "call", DISPOSED_CALL_COLUMNS, where="id = ?"
)
