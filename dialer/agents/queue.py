"""The next-lead queue: which lead an agent gets, and the claim that holds it.

The queue is a list of tiers, tried in order; each tier is one indexed query that
returns candidates best-first. Promises (owned, then for anyone) slot in as tiers
ahead of the retry and new-lead tiers, without touching these.

Claims are atomic on both engines: on PostgreSQL the candidate row is taken with
`FOR UPDATE SKIP LOCKED` (and the agent row locked so one agent's parallel
requests serialize); on SQLite the whole transaction runs under `BEGIN IMMEDIATE`.
Behind both, the `claim` table's unique keys on `lead_id` and `agent_id` make a
lead held by two agents impossible rather than unlikely.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, delete, false, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select
from sqlmodel import col

from dialer.agents.models import Agent, AgentCampaign, AgentState, Claim
from dialer.calls.models import FINAL_CALL_STATUSES, Call
from dialer.campaign.models import Campaign, CampaignStatus
from dialer.campaign.service import calling_hours_of, retry_policy_of
from dialer.db import affected
from dialer.dnc.service import listed
from dialer.errors import Conflict, NotFound
from dialer.leads import history
from dialer.leads.models import Lead, LeadStatus, NextAttemptReason, Phone

# How many candidates one request will look at before saying "nothing now": the
# dial-time checks (DNC, daily cap) reject a lead only after a race, so a handful
# of rejections in a row means something is off, not that the queue is long.
MAX_REJECTED_CANDIDATES = 20


@dataclass(frozen=True, slots=True)
class Scope:
    """One campaign as the queue sees it now: the lead time zones that are open."""

    campaign: Campaign
    open_zones: tuple[str, ...]


class Tier(Protocol):
    reason: str

    def candidates(self, *, agent_id: int, scopes: list[Scope], now: datetime) -> Select[Any]:
        """Leads this tier offers, best first."""
        ...


def _in_scopes(scopes: list[Scope]) -> Any:
    clauses = [
        and_(col(Lead.campaign_id) == scope.campaign.id, col(Lead.timezone).in_(scope.open_zones))
        for scope in scopes
        if scope.open_zones
    ]
    return or_(*clauses) if clauses else false()


class RetryDue:
    reason = "retry"

    def candidates(self, *, agent_id: int, scopes: list[Scope], now: datetime) -> Select[Any]:
        return (
            select(Lead)
            .where(
                _in_scopes(scopes),
                col(Lead.status) == LeadStatus.scheduled,
                col(Lead.next_attempt_at) <= now,
            )
            .order_by(col(Lead.next_attempt_at), col(Lead.id))
        )


class NewLeads:
    reason = "new"

    def candidates(self, *, agent_id: int, scopes: list[Scope], now: datetime) -> Select[Any]:
        return (
            select(Lead)
            .where(_in_scopes(scopes), col(Lead.status) == LeadStatus.new)
            .order_by(col(Lead.priority).desc(), col(Lead.id))
        )


TIERS: list[Tier] = [RetryDue(), NewLeads()]


@dataclass(frozen=True, slots=True)
class NextLead:
    lead: Lead
    reason: str
    claim_expires_at: datetime


def open_scopes(session: Session, *, agent_id: int, now: datetime) -> list[Scope]:
    campaigns = session.scalars(
        select(Campaign)
        .join(AgentCampaign, col(AgentCampaign.campaign_id) == col(Campaign.id))
        .where(
            col(AgentCampaign.agent_id) == agent_id, col(Campaign.status) == CampaignStatus.active
        )
        .order_by(col(Campaign.id))
    )
    scopes = []
    for campaign in campaigns:
        zones = tuple(
            zone
            for zone in campaign.lead_timezones
            if calling_hours_of(campaign, timezone=zone).is_open(at=now)
        )
        scopes.append(Scope(campaign=campaign, open_zones=zones))
    return scopes


def claim_next(
    session: Session, *, agent_id: int, now: datetime, ttl: timedelta, for_update: bool
) -> NextLead | None:
    agent_query = select(Agent).where(col(Agent.id) == agent_id)
    if for_update:
        agent_query = agent_query.with_for_update()
    agent = session.scalar(agent_query)
    if agent is None:
        raise NotFound(f"agent {agent_id} does not exist", code="agent_not_found")
    held = session.scalar(select(Claim).where(col(Claim.agent_id) == agent_id))
    if held is not None:
        lead = session.get(Lead, held.lead_id)
        assert lead is not None
        return NextLead(lead=lead, reason=held.reason, claim_expires_at=held.claim_expires_at)
    if agent.state != AgentState.available:
        raise Conflict(
            f"agent {agent_id} is {agent.state}; set the state to available to take leads",
            code="agent_not_available",
        )
    scopes = open_scopes(session, agent_id=agent_id, now=now)
    if not any(scope.open_zones for scope in scopes):
        return None
    campaigns = {scope.campaign.id: scope.campaign for scope in scopes}
    rejected: list[int] = []
    for tier in TIERS:
        while len(rejected) < MAX_REJECTED_CANDIDATES:
            query = tier.candidates(agent_id=agent_id, scopes=scopes, now=now).limit(1)
            if rejected:
                query = query.where(col(Lead.id).not_in(rejected))
            if for_update:
                query = query.with_for_update(skip_locked=True)
            lead = session.scalar(query)
            if lead is None:
                break
            assert lead.id is not None
            if not _passes_dial_checks(
                session, lead=lead, campaign=campaigns[lead.campaign_id], now=now
            ):
                rejected.append(lead.id)
                continue
            expires_at = now + ttl
            _take(
                session,
                lead=lead,
                agent_id=agent_id,
                reason=tier.reason,
                now=now,
                expires_at=expires_at,
            )
            return NextLead(lead=lead, reason=tier.reason, claim_expires_at=expires_at)
    return None


def _passes_dial_checks(session: Session, *, lead: Lead, campaign: Campaign, now: datetime) -> bool:
    """What the indexed tier query cannot see: the do-not-call list (which may have
    grown since the lead was queued) and the per-day cap on the lead's local day.
    A lead failing here is moved out of the way so the next request skips it."""
    assert lead.id is not None
    phones = [
        number
        for number, retired in session.execute(
            select(col(Phone.number), col(Phone.retired)).where(col(Phone.lead_id) == lead.id)
        )
        if not retired
    ]
    if not phones or set(phones) <= listed(session, phones=phones):
        status = LeadStatus.dnc if phones else LeadStatus.invalid
        history.set_status(
            session, lead=lead, status=status, actor="system", at=now, reason="queue check"
        )
        return False
    hours = calling_hours_of(campaign, timezone=lead.timezone)
    policy = retry_policy_of(campaign)
    today = hours.local_date(now).isoformat()
    if lead.day_attempts_date == today and lead.day_attempts >= policy.max_attempts_per_day:
        lead.next_attempt_at = hours.next_opening(at=hours.next_local_day_start(now))
        lead.next_attempt_reason = NextAttemptReason.daily_limit
        history.set_status(
            session,
            lead=lead,
            status=LeadStatus.scheduled,
            actor="system",
            at=now,
            reason="daily_limit",
        )
        return False
    return True


def _take(
    session: Session, *, lead: Lead, agent_id: int, reason: str, now: datetime, expires_at: datetime
) -> None:
    assert lead.id is not None
    session.add(
        Claim(
            lead_id=lead.id,
            agent_id=agent_id,
            campaign_id=lead.campaign_id,
            reason=reason,
            prev_status=lead.status,
            claimed_at=now,
            claim_expires_at=expires_at,
        )
    )
    history.record(
        session,
        lead_id=lead.id,
        kind="claimed",
        actor=f"agent:{agent_id}",
        at=now,
        reason=reason,
        old_status=lead.status,
        claim_expires_at=expires_at.isoformat(),
    )
    lead.status = LeadStatus.claimed
    lead.updated_at = now
    session.flush()


def claim_of(session: Session, *, lead_id: int) -> Claim | None:
    return session.scalar(select(Claim).where(col(Claim.lead_id) == lead_id))


def release(session: Session, *, lead: Lead, actor: str, now: datetime, why: str) -> None:
    """Drop the claim on a lead; its status has been set by whoever released it."""
    assert lead.id is not None
    result = session.execute(delete(Claim).where(col(Claim.lead_id) == lead.id))
    if affected(result):
        history.record(
            session, lead_id=lead.id, kind="claim_released", actor=actor, at=now, why=why
        )


def has_live_call(session: Session, *, lead_id: int) -> bool:
    return (
        session.scalar(
            select(col(Call.id))
            .where(
                col(Call.lead_id) == lead_id,
                col(Call.disposition).is_(None),
                col(Call.status).not_in(FINAL_CALL_STATUSES),
            )
            .limit(1)
        )
        is not None
    )


def expire_claims(session: Session, *, now: datetime, ttl: timedelta) -> int:
    """An abandoned claim returns its lead to the pool with no attempt counted. A
    claim whose call is still live is extended instead: the agent is on the phone."""
    expired = list(
        session.scalars(
            select(Claim)
            .where(col(Claim.claim_expires_at) <= now)
            .order_by(col(Claim.claim_expires_at))
        )
    )
    for claim in expired:
        if has_live_call(session, lead_id=claim.lead_id):
            claim.claim_expires_at = now + ttl
            continue
        lead = session.get(Lead, claim.lead_id)
        assert lead is not None and lead.id is not None
        session.delete(claim)
        history.record(
            session,
            lead_id=lead.id,
            kind="claim_expired",
            actor="system",
            at=now,
            agent_id=claim.agent_id,
            claimed_at=claim.claimed_at.isoformat(),
        )
        if lead.status == LeadStatus.claimed:
            history.set_status(
                session,
                lead=lead,
                status=claim.prev_status,
                actor="system",
                at=now,
                reason="claim_expired",
            )
    session.flush()
    return len(expired)


def next_claim_expiry(session: Session) -> datetime | None:
    return session.scalar(
        select(col(Claim.claim_expires_at)).order_by(col(Claim.claim_expires_at)).limit(1)
    )
