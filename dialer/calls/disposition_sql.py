"""A call's unanswered end in hand-written SQL (dialer.calls.disposition
`end_unanswered_raw`, for both providers' reports): most calls of a floor end
so, each one report."""

from __future__ import annotations

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
