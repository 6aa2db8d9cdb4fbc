"""The account service's hand-written writes (dialer.agents.service).

`WRAPUP_BEGUN`: the agent wraps up until then (its own disposition). Parameters:
wrap-up until, the agent's id."""

from __future__ import annotations

from dialer.sql import update

WRAPUP_BEGUN = update("agent.wrapup_begun", "agent", ("wrapup_until",), where="id = ?")
