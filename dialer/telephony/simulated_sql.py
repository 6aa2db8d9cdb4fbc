"""The simulated provider's scripted outcomes, hand-written: every simulated
dial asks for one (a floor of `dialer simulate` places thousands).

`NEXT_SCRIPTED`: the number's oldest outcome not yet consumed (parameters:
phone, consumed = false); `CONSUME`: take it, only if nobody did (parameters:
true, id, false)."""

from __future__ import annotations

from dialer.sql import sql, update

NEXT_SCRIPTED = sql(
    "simulated.next_scripted",
    "SELECT id, outcome FROM sim_outcome WHERE phone = ? AND consumed = ? ORDER BY id LIMIT 1",
)
CONSUME = update("simulated.consume", "sim_outcome", ["consumed"], where="id = ? AND consumed = ?")
