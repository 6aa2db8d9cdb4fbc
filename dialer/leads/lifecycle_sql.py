"""The lead lifecycle's hand-written statements: the claim, on every agent's
"next" all day long. Written once with `?` placeholders; the PostgreSQL form
chains the same three writes into one statement (one round trip)."""

from __future__ import annotations

from dialer.leads.models import LeadStatus

CLAIM_COLUMNS = (
    "lead_id",
    "campaign_id",
    "agent_id",
    "reason",
    "prev_status",
    "claimed_at",
    "claim_expires_at",
)
EVENT_COLUMNS = ("lead_id", "at", "kind", "actor", "detail")

_SET_CLAIMED = f"UPDATE lead SET status = '{LeadStatus.claimed.value}', updated_at = ?"
CLAIM_LEAD = f"{_SET_CLAIMED} WHERE id = ? AND status = ?"
INSERT_CLAIM = f"INSERT INTO claim ({', '.join(CLAIM_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)"
INSERT_CLAIM_EVENT = f"INSERT INTO event ({', '.join(EVENT_COLUMNS)}) VALUES (?, ?, ?, ?, ?)"

CLAIM_ALL_PG = (
    f"WITH taken AS ({CLAIM_LEAD} RETURNING id, campaign_id),"
    f" claimed AS (INSERT INTO claim ({', '.join(CLAIM_COLUMNS)})"
    " SELECT id, campaign_id, ?, ?, ?, ?, ? FROM taken),"
    f" recorded AS (INSERT INTO event ({', '.join(EVENT_COLUMNS)})"
    " SELECT id, ?, ?, ?, CAST(? AS jsonb) FROM taken)"
    " SELECT count(*) FROM taken"
)
