"""Progressive dialing: the dialer, not the agent, presses dial.

Each round, every available agent of an active progressive campaign who holds no
lead gets one: the lead is claimed for that agent first (so nobody else can take
it, and the answered call has its agent), then the call is placed. One call per
free agent, never more: nobody is ever left waiting on a line for an agent,
unless that agent walked away between the dial and the answer (then the voice
webhook apologises and records the call as abandoned)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import col

from dialer.agents.models import Agent, AgentCampaign, AgentState, Claim, Role
from dialer.agents.queue import claim_next
from dialer.agents.service import wrapping_up
from dialer.calls.placing import place_call
from dialer.campaign.models import Campaign, CampaignStatus
from dialer.db import Database
from dialer.errors import DialerError
from dialer.failing import FailingRows
from dialer.telephony import blocks
from dialer.telephony.base import NowIn, Telephony

log = logging.getLogger("dialer.progressive")


def free_agents(
    db: Database, *, needs_caller_id: bool, now_in: NowIn, failing: FailingRows
) -> tuple[list[int], frozenset[int], datetime]:
    """Agents to dial for now, the progressive campaigns to dial from, and the
    domain clock's now. A campaign the provider would refuse (no caller id) is
    not dialled at all: each refused call would count an attempt and wear its
    leads out. An agent whose round failed waits for its retry (dialer.failing)."""
    with db.read() as session:
        now = now_in(session)
        query = select(col(Campaign.id)).where(
            col(Campaign.dial_mode) == "progressive",
            col(Campaign.status) == CampaignStatus.active,
        )
        if needs_caller_id:
            query = query.where(col(Campaign.caller_id).is_not(None))
        # Dialing blocked by a provider fault (the account's or the campaign's
        # set-up): every call would be refused, so none is placed.
        account_blocked, blocked = blocks.blocked_campaigns(session)
        if account_blocked:
            return [], frozenset(), now
        campaigns = frozenset(
            cid for cid in session.scalars(query) if cid is not None and cid not in blocked
        )
        if not campaigns:
            return [], campaigns, now
        skip = failing.skip(now=now)
        agents = [
            aid
            for aid in session.scalars(
                select(col(Agent.id))
                .join(AgentCampaign, col(AgentCampaign.agent_id) == col(Agent.id))
                .outerjoin(Claim, col(Claim.agent_id) == col(Agent.id))
                .where(
                    col(Agent.role) == Role.agent,
                    col(Agent.state) == AgentState.available,
                    # Wrapping up after a disposition: no call until it ends.
                    col(Agent.wrapup_until).is_(None) | (col(Agent.wrapup_until) <= now),
                    col(AgentCampaign.campaign_id).in_(campaigns),
                    col(Claim.id).is_(None),
                )
                .distinct()
                .order_by(col(Agent.id))
            )
            if aid is not None and aid not in skip
        ]
    return agents, campaigns, now


def dial_round(
    db: Database,
    *,
    telephony: Telephony,
    now_in: NowIn,
    claim_ttl: timedelta,
    dial: Callable[[int], None],
    failing: FailingRows,
) -> list[int]:
    """Claim and place one call for each free agent; returns the attempts placed.
    Each is handed to `dial` once its transaction has committed. One transaction
    per agent: an agent whose round raises is logged, counted and benched in
    `failing`, and the others are dialled."""
    agent_ids, campaigns, round_at = free_agents(
        db, needs_caller_id=telephony.name != "simulated", now_in=now_in, failing=failing
    )
    placed: list[int] = []
    for agent_id in agent_ids:
        try:
            with db.work() as work:
                session = work.session
                now = now_in(session)
                if wrapping_up(session.get(Agent, agent_id), now=now):
                    continue  # dispositioned a call since the round began
                got = claim_next(
                    work,
                    agent_id=agent_id,
                    now=now,
                    ttl=claim_ttl,
                    only_campaigns=campaigns,
                )
                if got is None or not got.fresh:
                    # A lead the agent took meanwhile (maybe to read, in preview):
                    # the dialer never calls what it did not claim itself.
                    continue
                # claim_next took a fresh claim only for an available agent.
                agent = session.get(Agent, agent_id)
                assert agent is not None
                call = place_call(
                    session,
                    principal=agent,
                    lead_id=got.lead_id,
                    phone=None,
                    now=now,
                    telephony=telephony,
                    dial=dial,
                )
                assert call.id is not None
                placed.append(call.id)
        except DialerError as exc:
            # Another request got there first (the agent pressed dial, a claim
            # moved): nothing was written; the next round tries again.
            log.info("progressive dial for agent %s skipped: %s", agent_id, exc.detail)
        except Exception as exc:
            # Rolled back: nothing of this agent's round was written or dialled.
            failing.failed(agent_id, now=round_at, error=exc)
        else:
            failing.passed(agent_id)
    failing.settle(now=round_at)
    return placed
