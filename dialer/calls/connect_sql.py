"""The connect path's hand-written read (dialer.calls.connect.waiting_calls):
"is any answered call waiting for an agent", asked by every pacer round, from
the partial index of waiting calls."""

from __future__ import annotations

from dialer.sql import sql

ANY_WAITING = sql(
    "connect.any_waiting", "SELECT 1 FROM call WHERE connect_by_at IS NOT NULL LIMIT 1"
)
