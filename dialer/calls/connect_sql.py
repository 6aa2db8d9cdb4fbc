"""The connect path's hand-written reads (dialer.calls.connect): every answered
unreserved call, and every pacer round, asks them.

`ANY_WAITING`: "is any answered call waiting for an agent", from the partial
index of waiting calls. No parameters.

`FREE_AGENTS` (`FREE_AGENTS_WITH_ENDPOINT`: only those a provider can bridge
to): the campaign's agents free now (available, active, holding no lead, not
wrapping up), with the three instants "waiting since" is the latest of.
Parameters: campaign id, active, now, the limit.

`AGENT_TO_TAKE`: an agent's state and whether it holds a claim, in one read;
on PostgreSQL the agent's row is locked with it (two answered calls can't both
take one agent; SQLite's writers are serialized). Parameter: the agent's id.

`CONNECTED`: the call given to its agent. Parameters: agent id, connected at,
connect by (none: it waits no more), the call's id.

`HAND_OVER`: the lead's dialer claim (no agent) becomes the agent's; no row
when the claim is gone or another agent took it. Parameters: agent id, lead id."""

from __future__ import annotations

from dialer.agents.models import AgentState, Role
from dialer.sql import sql, update

ANY_WAITING = sql(
    "connect.any_waiting", "SELECT 1 FROM call WHERE connect_by_at IS NOT NULL LIMIT 1"
)


def free_agents_text(*, need_endpoint: bool, also: str = "") -> str:
    """The free agents' read; `also`: a further condition on `a` (its parameters
    come after "now", before the limit). The one text of the rule: the
    predictive round's due-promise read adds its condition to it."""
    endpoint = " AND a.endpoint IS NOT NULL" if need_endpoint else ""
    return (
        "SELECT a.id, a.state_changed_at, a.free_since, a.wrapup_until FROM agent a"
        " JOIN agent_campaign ac ON ac.agent_id = a.id"
        " LEFT JOIN claim cl ON cl.agent_id = a.id"
        f" WHERE ac.campaign_id = ? AND a.role = '{Role.agent.value}' AND a.active = ?"
        f" AND a.state = '{AgentState.available.value}'"
        " AND (a.wrapup_until IS NULL OR a.wrapup_until <= ?)"
        f" AND cl.id IS NULL{endpoint}{also} LIMIT ?"
    )


FREE_AGENTS = sql("connect.free_agents", free_agents_text(need_endpoint=False))
FREE_AGENTS_WITH_ENDPOINT = sql(
    "connect.free_agents_with_endpoint", free_agents_text(need_endpoint=True)
)

AGENT_TO_TAKE = sql(
    "connect.agent_to_take",
    "SELECT a.state, EXISTS (SELECT 1 FROM claim cl WHERE cl.agent_id = a.id)"
    " FROM agent a WHERE a.id = ?",
    postgres_lock=" FOR UPDATE OF a",
)

CONNECTED = update(
    "connect.connected", "call", ("agent_id", "connected_at", "connect_by_at"), where="id = ?"
)

HAND_OVER = update(
    "connect.hand_over", "claim", ("agent_id",), where="lead_id = ? AND agent_id IS NULL"
)
