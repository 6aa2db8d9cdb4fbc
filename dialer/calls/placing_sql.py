"""The dial's hand-written statements (dialer.calls.placing.place_call), run
on every call placed: the lead's facts the dial checks (locked on
PostgreSQL), the claim on the lead with "is a call to it still live", and the
attempt's row. Through the ORM the lead's full row was loaded (its JSON
columns decoded) and the call inserted by a flush of its own, for a handful of
columns each."""

from __future__ import annotations

from dialer.calls.models import FINAL_CALL_STATUSES
from dialer.sql import insert, sql

_FINAL = ", ".join(f"'{status}'" for status in sorted(FINAL_CALL_STATUSES))

# What the dial checks of the lead, and its attempt counters (counted by
# dialer.leads.lifecycle). Two dial clicks at once must not both pass the "no
# live call" check: the lead row is locked on PostgreSQL (SQLite's write
# transactions are serialized), and the claim and the live call are read by a
# statement after it (a locking read re-checks only the locked row after the
# wait, not a later snapshot).
LEAD_FOR_DIAL = sql(
    "placing.lead_for_dial",
    "SELECT id, campaign_id, timezone, attempts, unsolicited_attempts, day_attempts,"
    " day_attempts_date, abandoned_at, promise_id FROM lead WHERE id = ?",
    postgres_lock=" FOR UPDATE",
)

# The claim's holder and reason, and whether the lead has a live call (one not
# dispositioned and not in a final status): no row when nobody holds a claim.
CLAIM_AND_LIVE_CALL = sql(
    "placing.claim_and_live_call",
    "SELECT cl.agent_id, cl.reason, EXISTS (SELECT 1 FROM call c"
    " WHERE c.lead_id = cl.lead_id AND c.disposition IS NULL"
    f" AND c.status NOT IN ({_FINAL}))"
    " FROM claim cl WHERE cl.lead_id = ?",
)

# The attempt as it is created: every other column of `call` starts NULL, as
# the model's defaults have it. `to` is a keyword of both engines: quoted.
CALL_COLUMNS = (
    "lead_id",
    "campaign_id",
    "agent_id",
    '"to"',
    "from_",
    "status",
    "provider",
    "for_promise",
    "created_at",
    "agent_reserved",
)
INSERT_CALL = insert("call.insert", "call", CALL_COLUMNS, suffix=" RETURNING id")
