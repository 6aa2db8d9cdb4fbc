"""The pacer's reads (`predictive.gather_inputs`), hand-written: every
predictive round and the simulation's look-ahead run them each second, where
building, caching and compiling the ORM statements cost more than the reads.

`AGENTS`: the campaign's available agents (at most the limit given) with
their claim, whether a lower active predictive campaign counts them
(`elsewhere`), and, for an agent holding a claim, its answered call of the
claimed lead not yet dispositioned (how long it has talked), one row per such
call. Parameters: campaign id, active, the limit, the talk window's start.

`IN_FLIGHT`: the campaign's unreserved calls of the in-flight window not yet
dispositioned. Parameters: campaign id, the window's start, agent_reserved."""

from __future__ import annotations

from dialer.agents.models import AgentState, Role
from dialer.calls.connect_sql import free_agents_text
from dialer.campaign.models import CampaignStatus, DialMode
from dialer.leads.models import LeadStatus, NextAttemptReason
from dialer.sql import sql
from dialer.telephony.blocks_sql import NOT_BLOCKED


def _agents(*, need_endpoint: bool) -> str:
    endpoint = " AND a.endpoint IS NOT NULL" if need_endpoint else ""
    return (
        "SELECT f.id, f.wrapup_until, f.claim_id, f.elsewhere, k.connected_at, k.answered_at"
        " FROM (SELECT a.id AS id, a.wrapup_until AS wrapup_until, cl.id AS claim_id,"
        " cl.lead_id AS claim_lead,"
        " EXISTS (SELECT o.agent_id FROM agent_campaign o"
        " JOIN campaign c ON c.id = o.campaign_id"
        " WHERE o.agent_id = a.id AND o.campaign_id < ac.campaign_id"
        f" AND c.dial_mode = '{DialMode.predictive.value}'"
        f" AND c.status = '{CampaignStatus.active.value}') AS elsewhere"
        " FROM agent a"
        " JOIN agent_campaign ac ON ac.agent_id = a.id"
        " LEFT JOIN claim cl ON cl.agent_id = a.id"
        f" WHERE ac.campaign_id = ? AND a.role = '{Role.agent.value}' AND a.active = ?"
        f" AND a.state = '{AgentState.available.value}'{endpoint}"
        " LIMIT ?) f"
        # The agent's talk is a call of the lead it holds: found by the lead's
        # few calls (ix_call_lead). `+` keeps SQLite off the agent's index,
        # whose rows (every call of the agent's last four hours) it would read
        # one by one for their disposition: 0.24 ms a round at two hours of a
        # day, growing with it, against 0.07 ms.
        " LEFT JOIN call k ON f.claim_id IS NOT NULL AND k.lead_id = f.claim_lead"
        " AND +k.agent_id = f.id AND k.created_at >= ? AND k.disposition IS NULL"
        " AND k.answered_at IS NOT NULL"
    )


AGENTS = sql("predictive.agents", _agents(need_endpoint=False))
AGENTS_WITH_ENDPOINT = sql("predictive.agents_with_endpoint", _agents(need_endpoint=True))

IN_FLIGHT = sql(
    "predictive.in_flight",
    "SELECT created_at, answered_at, connected_at, status FROM call"
    " WHERE campaign_id = ? AND created_at >= ? AND agent_reserved = ?"
    " AND disposition IS NULL",
)

# The rounds' campaigns, in id order (a lower campaign's pacer counts a shared
# agent), those blocked by a provider fault left out (dialer.telephony.blocks).
# No parameters.
_PREDICTIVE = (
    f"SELECT c.id FROM campaign c WHERE c.dial_mode = '{DialMode.predictive.value}'"
    f" AND c.status = '{CampaignStatus.active.value}' AND {NOT_BLOCKED.format(c='c')}"
)
PREDICTIVE_CAMPAIGNS = sql("predictive.campaigns", f"{_PREDICTIVE} ORDER BY c.id")
PREDICTIVE_CAMPAIGNS_WITH_CALLER_ID = sql(
    "predictive.campaigns_with_caller_id",
    f"{_PREDICTIVE} AND c.caller_id IS NOT NULL ORDER BY c.id",
)

# What a round checks of its campaign before dialling it, and the version its
# kept row must have (predictive.campaign_round). Parameter: campaign id.
CAMPAIGN_STATE = sql(
    "predictive.campaign_state", "SELECT status, dial_mode, version FROM campaign WHERE id = ?"
)

# The campaign's agents free now (available, active, holding no claim, not
# wrapping up: dialer.calls.connect's rule) who could take one of its due
# promises: one reserved for them, or for anyone. With their columns of
# "longest waiting first" (connect.free_agent_ids), at most the limit given.
# Parameters: campaign id, active, now (wrap-up), now (due), the limit.
# The round asks it before trying agents one by one: a promise due for an agent
# on a call (or wrapping up) is due in most rounds, and no free agent can take it.
FREE_FOR_PROMISE = sql(
    "predictive.free_for_promise",
    free_agents_text(
        need_endpoint=False,
        also=" AND EXISTS (SELECT l.id FROM lead l WHERE l.campaign_id = ac.campaign_id"
        f" AND l.status = '{LeadStatus.scheduled.value}'"
        f" AND l.next_attempt_reason = '{NextAttemptReason.promise.value}'"
        " AND l.next_attempt_at <= ?"
        " AND (l.reserved_agent_id = a.id OR l.reserved_agent_id IS NULL))",
    ),
)
