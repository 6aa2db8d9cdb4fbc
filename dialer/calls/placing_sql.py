"""The dial's hand-written reads (dialer.calls.placing.place_call), run on
every call placed: the claim on the lead with "is a call to it still live", in
one statement instead of two ORM queries."""

from __future__ import annotations

from dialer.calls.models import FINAL_CALL_STATUSES
from dialer.sql import sql

_FINAL = ", ".join(f"'{status}'" for status in sorted(FINAL_CALL_STATUSES))

# The claim's holder and reason, and whether the lead has a live call (one not
# dispositioned and not in a final status): no row when nobody holds a claim.
CLAIM_AND_LIVE_CALL = sql(
    "placing.claim_and_live_call",
    "SELECT cl.agent_id, cl.reason, EXISTS (SELECT 1 FROM call c"
    " WHERE c.lead_id = cl.lead_id AND c.disposition IS NULL"
    f" AND c.status NOT IN ({_FINAL}))"
    " FROM claim cl WHERE cl.lead_id = ?",
)
