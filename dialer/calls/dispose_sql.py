"""The agent's disposition's hand-written reads (dialer.calls.disposition).

`OPEN_PROMISE_ID`: the lead's open (scheduled) promise, if any: every
disposition settles it, and most leads have none. Parameter: the lead's id.

`CALL_DISPOSITIONED`: the call as its disposition leaves it (ended, who
answered, the outcome, by whom and when, the note): the columns of
`DISPOSED_CALL_COLUMNS`, then the call's id."""

from __future__ import annotations

from dialer.promises.models import PromiseStatus
from dialer.sql import sql, update

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
