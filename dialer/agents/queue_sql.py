"""The queue's hand-written reads: the agent with its held claim and campaigns,
and the tiers' candidate queries (templates: the open campaigns and zones of
the moment go where `{scope}` stands). Their order is `dialer.agents.order`'s,
held to it by tests; their indexes are checked by tests/leads/test_lead_indexes.py."""

from __future__ import annotations

from dialer.leads.models import LeadStatus, NextAttemptReason
from dialer.sql import sql, update

# A locking read re-checks only the locked row after the wait, not what it
# joined: the agent row is locked by a statement of its own (PostgreSQL).
LOCK_AGENT = sql(
    "queue.lock_agent",
    "SELECT id FROM agent WHERE id = ?",
    postgres_lock=" FOR UPDATE",
    postgres_only=True,
)
AGENT_WITH_CLAIM = sql(
    "queue.agent_with_claim",
    "SELECT a.state, cl.lead_id, cl.reason, cl.claim_expires_at,"
    " c.id, c.status, c.version"
    " FROM agent a"
    " LEFT JOIN claim cl ON cl.agent_id = a.id"
    " LEFT JOIN agent_campaign ac ON ac.agent_id = a.id"
    " LEFT JOIN campaign c ON c.id = ac.campaign_id"
    " WHERE a.id = ? AND a.role = 'agent'",
)

CANDIDATE_COLUMNS = "id, campaign_id, status, timezone, day_attempts, day_attempts_date"
_DUE = f"status = '{LeadStatus.scheduled.value}' AND next_attempt_at <= ?"
_PROMISE = f"next_attempt_reason = '{NextAttemptReason.promise.value}'"

# Own promises first, then those for anyone. Parameters: scope's, now, agent id.
PROMISES_DUE = (
    f"SELECT {CANDIDATE_COLUMNS} FROM lead WHERE {{scope}} AND {_PROMISE} AND {_DUE}"
    " AND (reserved_agent_id = ? OR reserved_agent_id IS NULL)"
    " ORDER BY CASE WHEN reserved_agent_id IS NULL THEN 1 ELSE 0 END,"
    " next_attempt_at, id"
)
# A promise lead is never a plain retry: its owner has it first. Parameters: scope's, now.
RETRY_DUE = (
    f"SELECT {CANDIDATE_COLUMNS} FROM lead WHERE {{scope}} AND {_DUE}"
    f" AND (next_attempt_reason IS NULL OR NOT {_PROMISE})"
    " ORDER BY next_attempt_at, id"
)
# Parameters: scope's.
NEW_LEADS = (
    f"SELECT {CANDIDATE_COLUMNS} FROM lead WHERE {{scope}}"
    f" AND status = '{LeadStatus.new.value}' ORDER BY priority DESC, id"
)

# The dialer's claims (predictive dialing) take from the retry and new tiers
# only (a promise has its agent), leaving out a lead abandoned since the cutoff
# (`abandon_policy.no_recall_hours`): nobody is reserved for it. Parameter: the
# cutoff, after the tier's own.
NO_RECALL = "(abandoned_at IS NULL OR abandoned_at <= ?)"

# A claim released (`queue.release`): it goes and says whose it was. Parameter:
# the lead id.
RELEASE_CLAIM = sql("queue.release_claim", "DELETE FROM claim WHERE lead_id = ? RETURNING agent_id")
# The agent holds no lead from now: it waits from here. Parameters: the
# instant, the agent id.
FREE_AGENT = update("queue.free_agent", "agent", ("free_since",), where="id = ?")
