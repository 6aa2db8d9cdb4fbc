"""The agent's disposition's hand-written reads (dialer.calls.disposition).

`OPEN_PROMISE_ID`: the lead's open (scheduled) promise, if any: every
disposition settles it, and most leads have none. Parameter: the lead's id."""

from __future__ import annotations

from dialer.promises.models import PromiseStatus
from dialer.sql import sql

OPEN_PROMISE_ID = sql(
    "dispose.open_promise_id",
    f"SELECT id FROM promise WHERE lead_id = ? AND status = '{PromiseStatus.scheduled.value}'"
    " LIMIT 1",
)
