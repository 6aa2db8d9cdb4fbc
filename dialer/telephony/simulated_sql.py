"""The simulated provider's scripted outcomes, hand-written: every simulated
dial asks for one (a floor of `dialer simulate` places thousands).

`NEXT_SCRIPTED`: the number's oldest outcome not yet consumed (parameters:
phone, consumed = false); `CONSUME`: take it, only if nobody did (parameters:
true, id, false)."""

from __future__ import annotations

from dialer.calls.disposition_sql import ENDING_FIELDS
from dialer.sql import sql, update

NEXT_SCRIPTED = sql(
    "simulated.next_scripted",
    "SELECT id, outcome FROM sim_outcome WHERE phone = ? AND consumed = ? ORDER BY id LIMIT 1",
)
CONSUME = update("simulated.consume", "sim_outcome", ["consumed"], where="id = ? AND consumed = ?")

# The calls whose scripted instant has come, first due first: the call's
# fields (`CALL_FIELDS`' order), then what an unanswered end decides on
# (disposition_sql.ENDING_FIELDS: its lead's row and its campaign's retry
# rules). Parameters: now, limit. A call's report and an agent's disposition
# of it wait for each other (PostgreSQL; SQLite's write transactions are
# serialized already), as every writer of a call locks it first.
CALL_FIELDS = (
    "call.id",
    "call.lead_id",
    "call.campaign_id",
    "call.agent_id",
    "call.status",
    "call.answered_by",
    "call.answered_at",
    "call.duration",
    "call.disposition",
    "call.provider",
    "call.sim_outcome",
    "call.sim_final_at",
)
DUE = sql(
    "simulated.due",
    f"SELECT {', '.join(CALL_FIELDS + ENDING_FIELDS)} FROM call"
    " JOIN lead ON lead.id = call.lead_id JOIN campaign ON campaign.id = call.campaign_id"
    " WHERE call.sim_final_at <= ? ORDER BY call.sim_final_at, call.id LIMIT ?",
    postgres_lock=" FOR UPDATE OF call",
)
# A due call with nothing to report (ended already, or no outcome scripted):
# its instant is spent. Parameter: the call id.
SPENT = update("simulated.spent", "call", (("sim_final_at", "NULL"),), where="id = ?")
# The dial: the provider's sid, the scripted outcome and its instant, and the
# call's status (ringing). Parameters: the columns', then the call id.
DIALLED = update(
    "simulated.dialled",
    "call",
    ("provider_sid", "sim_outcome", "sim_final_at", "status", "answered_by"),
    where="id = ?",
)
