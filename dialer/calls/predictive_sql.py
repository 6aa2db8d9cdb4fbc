"""The pacer's reads (`predictive.gather_inputs`), hand-written: every
predictive round and the simulation's look-ahead run them each second, where
building, caching and compiling the ORM statements cost more than the reads.

`AGENTS`: the campaign's available agents (at most the limit given) with
their claim, whether a lower active predictive campaign counts them
(`elsewhere`), and, for an agent holding a claim, its answered call not yet
dispositioned (how long it has talked), one row per such call. Parameters:
campaign id, active, the limit, the talk window's start.

`IN_FLIGHT`: the campaign's unreserved calls of the in-flight window not yet
dispositioned. Parameters: campaign id, the window's start, agent_reserved."""

from __future__ import annotations

from dialer.agents.models import AgentState, Role
from dialer.campaign.models import CampaignStatus, DialMode
from dialer.leads.models import LeadStatus, NextAttemptReason
from dialer.sql import sql


def _agents(*, need_endpoint: bool) -> str:
    endpoint = " AND a.endpoint IS NOT NULL" if need_endpoint else ""
    return (
        "SELECT f.id, f.wrapup_until, f.claim_id, f.elsewhere, k.connected_at, k.answered_at"
        " FROM (SELECT a.id AS id, a.wrapup_until AS wrapup_until, cl.id AS claim_id,"
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
        " LEFT JOIN call k ON f.claim_id IS NOT NULL AND k.agent_id = f.id"
        " AND k.created_at >= ? AND k.disposition IS NULL AND k.answered_at IS NOT NULL"
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
# agent). No parameters.
_PREDICTIVE = (
    f"SELECT id FROM campaign WHERE dial_mode = '{DialMode.predictive.value}'"
    f" AND status = '{CampaignStatus.active.value}'"
)
PREDICTIVE_CAMPAIGNS = sql("predictive.campaigns", f"{_PREDICTIVE} ORDER BY id")
PREDICTIVE_CAMPAIGNS_WITH_CALLER_ID = sql(
    "predictive.campaigns_with_caller_id",
    f"{_PREDICTIVE} AND caller_id IS NOT NULL ORDER BY id",
)

# Any promise of the campaign due now. Parameters: campaign id, now.
PROMISE_DUE = sql(
    "predictive.promise_due",
    f"SELECT id FROM lead WHERE campaign_id = ? AND status = '{LeadStatus.scheduled.value}'"
    f" AND next_attempt_reason = '{NextAttemptReason.promise.value}'"
    " AND next_attempt_at <= ? LIMIT 1",
)
