"""A call's unanswered end in hand-written SQL (dialer.calls.disposition
`end_unanswered_raw`): most calls of a floor end so, each one report."""

from __future__ import annotations

from dialer.sql import update

# The call's end and its system disposition; an ended call has no scripted
# instant left (the simulated provider's). Parameters: the columns', then the
# call id.
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
        ("sim_final_at", "NULL"),
    ),
    where="id = ?",
)
