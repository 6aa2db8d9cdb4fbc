"""The row shape of an agent's event stream (`agent_event`) for hand-written SQL
(status callbacks' fast path); the ORM writer is dialer.agents.events."""

from __future__ import annotations

from dialer.sql import insert

AGENT_EVENT_COLUMNS = ("agent_id", "campaign_id", "kind", "at", "payload")
INSERT_AGENT_EVENT = insert(
    "agent_event.insert", "agent_event", AGENT_EVENT_COLUMNS, json=("payload",)
)
