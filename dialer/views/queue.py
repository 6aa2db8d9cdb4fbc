"""Why a campaign's floor (or one agent) has nothing (or this much) to dial, at a
glance, and when something next becomes callable."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.models import Agent, AgentState, Claim
from dialer.agents.schemas import AgentQueueOut, NothingCallableOut
from dialer.agents.service import campaign_ids_of
from dialer.campaign.hours import CallingHours, ClosedBy, Closure
from dialer.campaign.models import CampaignStatus
from dialer.campaign.schemas import OnMissed, PromisePolicy
from dialer.campaign.service import calling_hours_of, get_campaign, zone_of
from dialer.leads.eligibility import BlockRule, rule_of_reason
from dialer.leads.models import TERMINAL_STATUSES, Lead, LeadStatus, NextAttemptReason
from dialer.leads.schemas import IdleReason, QueueOut, ZoneOut
from dialer.promises.models import Promise, PromiseStatus
from dialer.wire import localized

# A lead held back by `next_attempt_at` is blocked by the rule that set it.

# Leads still to call: what a zone's hours matter for.
_WAITING = frozenset({LeadStatus.new, LeadStatus.scheduled, LeadStatus.claimed})


def queue_rule(
    *,
    status: str,
    due: bool,
    reason: str | None,
    paused: bool,
    closed_reason: Callable[[], str | None],
    reserved_for_other: bool = False,
) -> BlockRule | None:
    """The one rule a group of leads is counted under, or None when they are
    callable now. Unlike eligibility, which lists every rule, each lead counts
    once, under the first that holds: status, claim, campaign, reservation,
    schedule, hours. `reserved_for_other`: seen by one agent, a promise lead that
    is another agent's until its window ends. `closed_reason` is asked last, so a
    zone's hours are computed only when needed."""
    if status in TERMINAL_STATUSES or status == LeadStatus.awaiting_external:
        return BlockRule.terminal_status
    if status == LeadStatus.claimed:
        return BlockRule.claimed
    if paused:
        return BlockRule.campaign_paused
    if reserved_for_other:
        return BlockRule.promise_pending
    if not due:
        return rule_of_reason(reason)
    closed = closed_reason()
    return BlockRule(closed) if closed else None


@dataclass(frozen=True, slots=True)
class Outlook:
    """When something may next become callable (None: nothing will by itself),
    and what is being waited on (None: something is callable at `at`, now)."""

    at: datetime | None
    on: IdleReason | None
    detail: str


_DETAIL: dict[IdleReason, str] = {
    IdleReason.calling_hours: "outside local calling hours",
    IdleReason.holiday: "a public holiday",
    IdleReason.retry_delay: "waiting for retries to fall due",
    IdleReason.daily_limit: "the day's attempts are used up",
    IdleReason.promise_pending: "waiting for promises to fall due or their windows to end",
    IdleReason.claimed: "the leads left are held by claims",
    IdleReason.campaign_paused: "the campaign is paused",
    IdleReason.no_leads: "no lead is left to call",
    IdleReason.no_campaigns: "the agent is assigned to no campaign",
    IdleReason.contended: "callable leads were taken by others meanwhile; ask again",
}


def outlook(*, on: IdleReason | None, at: datetime | None, holiday: str | None = None) -> Outlook:
    if on is None:
        return Outlook(at=at, on=None, detail="callable now")
    detail = _DETAIL[on]
    if on == IdleReason.holiday and holiday:
        detail = f"a public holiday: {holiday}"
    return Outlook(at=at, on=on, detail=detail)


def soonest(outlooks: Iterable[Outlook], *, otherwise: Outlook) -> Outlook:
    """The outlook with the earliest instant (ties: the first given), or
    `otherwise` when none has one. Pure: the campaign and the agent views both
    pick with it."""
    best: Outlook | None = None
    for candidate in outlooks:
        if candidate.at is not None and (best is None or best.at is None or candidate.at < best.at):
            best = candidate
    return best if best is not None else otherwise


@dataclass(frozen=True, slots=True)
class Diagnosis:
    out: QueueOut
    outlook: Outlook


def _aware(value: datetime | None) -> datetime | None:
    # An aggregate over an instant column comes back naive from some drivers.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def diagnose(
    session: Session, *, campaign_id: int, now: datetime, agent_id: int | None = None
) -> Diagnosis:
    """Counted by SQL aggregates per (status, zone, due-or-not, reason), never by
    walking the leads in Python: one grouped pass over the campaign's leads, the
    rest through the queue's indexes (docs/BENCHMARKS.md, "Queue diagnosis").

    With `agent_id`, as that agent's queue sees the campaign: a promise lead that
    is another agent's counts as `promise_pending`, and only the promises it may
    take count as due. The next callable instant is the earliest of: a retry or
    promise falling due, a reservation lapsing to anyone, a claim expiring, the
    calling hours opening in a zone with leads waiting — each moved into open
    hours of its zone."""
    campaign = get_campaign(session, campaign_id=campaign_id)
    in_campaign = col(Lead.campaign_id) == campaign_id
    scheduled = col(Lead.status) == LeadStatus.scheduled
    is_promise = col(Lead.next_attempt_reason) == NextAttemptReason.promise
    due = col(Lead.next_attempt_at).is_(None) | (col(Lead.next_attempt_at) <= now)
    keys = [col(Lead.status), col(Lead.timezone), due.label("due"), col(Lead.next_attempt_reason)]
    # The one pass over all the campaign's leads is the plain grouped count; what
    # else is needed is read from small subsets, through the queue's own indexes.
    groups: dict[tuple[str, str, bool, str | None, bool], int] = {}
    for row in session.execute(select(*keys, func.count()).where(in_campaign).group_by(*keys)):
        status, zone, is_due, reason, count = tuple(row)
        groups[(status, zone, bool(is_due), reason, False)] = count
    reserved_until: dict[tuple[str, bool], datetime | None] = {}
    pending_query = select(
        col(Lead.timezone), col(Lead.next_attempt_reason), func.min(col(Lead.next_attempt_at))
    ).where(in_campaign, scheduled, col(Lead.next_attempt_at) > now)
    if agent_id is not None:
        # Promise leads another agent holds, as PROMISES_DUE in agents/queue_sql.py
        # decides who may take one (ix_lead_queue_promise).
        others = and_(
            is_promise,
            col(Lead.reserved_agent_id).is_not(None),
            col(Lead.reserved_agent_id) != agent_id,
        )
        for zone, is_due, count, until in session.execute(
            select(
                col(Lead.timezone),
                due.label("due"),
                func.count(),
                func.min(col(Lead.reserved_until)),
            )
            # Always true of a promise lead; says so to the partial index's planner.
            .where(in_campaign, scheduled, others, col(Lead.next_attempt_at).is_not(None))
            .group_by(col(Lead.timezone), due)
        ):
            # Keyed by the values the database returns, not the enum members.
            key = (LeadStatus.scheduled.value, zone, bool(is_due), NextAttemptReason.promise.value)
            groups[(*key, False)] = groups.get((*key, False), 0) - count
            groups[(*key, True)] = count
            reserved_until[(zone, bool(is_due))] = _aware(until)
        pending_query = pending_query.where(
            or_(
                col(Lead.next_attempt_reason).is_(None),
                ~is_promise,
                col(Lead.reserved_agent_id).is_(None),
                col(Lead.reserved_agent_id) == agent_id,
            )
        )
    # When each group held by its schedule falls due (ix_lead_queue_retry).
    pending: dict[tuple[str, str | None], datetime] = {}
    for zone, reason, first in session.execute(
        pending_query.group_by(col(Lead.timezone), col(Lead.next_attempt_reason))
    ):
        aware = _aware(first)
        if aware is not None:
            pending[(zone, reason)] = aware
    paused = campaign.status != CampaignStatus.active
    reassign = PromisePolicy.model_validate(campaign.promise_policy).on_missed == OnMissed.reassign
    blocked: dict[BlockRule, int] = {}
    callable_now = 0
    zone_leads: dict[str, int] = {}
    closures: dict[str, Closure | None] = {}

    def hours_in(zone: str) -> CallingHours:
        return calling_hours_of(campaign, timezone=zone)

    def closure_in(zone: str) -> Closure | None:
        if zone not in closures:
            closures[zone] = hours_in(zone).closure(at=now)
        return closures[zone]

    def closed_in(zone: str) -> Callable[[], str | None]:
        def closed() -> str | None:
            found = closure_in(zone)
            return found.by if found else None

        return closed

    claim_expiry = _claim_expiry_by_zone(session, campaign_id=campaign_id, agent_id=agent_id)
    candidates: list[Outlook] = []

    def opening(zone: str, at: datetime | None) -> datetime | None:
        if at is None:
            return None
        return hours_in(zone).next_opening(at=max(at, now))

    for (status, zone, is_due, reason, reserved_other), count in groups.items():
        if status == LeadStatus.importing or count <= 0:
            continue
        if status in _WAITING:
            zone_leads[zone] = zone_leads.get(zone, 0) + count
        rule = queue_rule(
            status=status,
            due=is_due,
            reason=reason,
            paused=paused,
            closed_reason=closed_in(zone),
            reserved_for_other=reserved_other,
        )
        if rule is None:
            callable_now += count
            continue
        blocked[rule] = blocked.get(rule, 0) + count
        if rule in (BlockRule.calling_hours, BlockRule.holiday):
            found = closure_in(zone)
            if found is not None:
                candidates.append(
                    outlook(on=IdleReason(found.by), at=found.opens_at, holiday=found.holiday)
                )
        elif rule == BlockRule.claimed:
            candidates.append(
                outlook(on=IdleReason.claimed, at=opening(zone, claim_expiry.get(zone)))
            )
        elif reserved_other:
            # Another agent's until its window ends; then anyone's, or the owner's for good.
            lapse = reserved_until.get((zone, is_due)) if reassign else None
            candidates.append(outlook(on=IdleReason.promise_pending, at=opening(zone, lapse)))
        elif rule in (BlockRule.retry_delay, BlockRule.daily_limit, BlockRule.promise_pending):
            first_due = pending.get((zone, reason))
            candidates.append(outlook(on=IdleReason(rule), at=opening(zone, first_due)))

    upcoming = min(pending.values(), default=None)
    if callable_now:
        result = outlook(on=None, at=now)
    else:
        result = soonest(candidates, otherwise=_without_end(paused=paused, blocked=blocked))
    out = QueueOut(
        campaign_id=campaign_id,
        callable_now=callable_now,
        blocked=blocked,
        promises_due=_promises_due(session, campaign_id=campaign_id, now=now, agent_id=agent_id),
        next_due_at=upcoming,
        next_callable_at=result.at,
        waiting_on=result.on,
        zones=[
            _zone_out(hours_in(zone), zone=zone, leads=n, closure=closure_in(zone), now=now)
            for zone, n in sorted(zone_leads.items())
        ],
    )
    out = localized(out, zone_of(campaign))
    return Diagnosis(out=out, outlook=result)


def _without_end(*, paused: bool, blocked: dict[BlockRule, int]) -> Outlook:
    """Nothing will become callable by itself: say what holds the leads still
    to call (the most of them), or that none is left."""
    if paused:
        return outlook(on=IdleReason.campaign_paused, at=None)
    holding = {
        rule: n
        for rule, n in blocked.items()
        if rule not in (BlockRule.terminal_status, BlockRule.max_attempts, BlockRule.dnc)
    }
    if not holding:
        return outlook(on=IdleReason.no_leads, at=None)
    rule = max(holding, key=lambda r: (holding[r], r.value))
    return outlook(on=IdleReason(rule), at=None)


def _promises_due(
    session: Session, *, campaign_id: int, now: datetime, agent_id: int | None
) -> int:
    """Promises to keep now: scheduled, due, and their window not yet ended. A
    missed one (its window passed, whether or not the sweep has marked it yet)
    is no longer a promise to keep, though its lead may still be offered."""
    query = select(func.count()).where(
        col(Promise.campaign_id) == campaign_id,
        col(Promise.status) == PromiseStatus.scheduled,
        col(Promise.due_at) <= now,
        col(Promise.window_end) > now,
    )
    if agent_id is not None:
        query = query.where((col(Promise.agent_id) == agent_id) | col(Promise.agent_id).is_(None))
    return int(session.scalar(query) or 0)


def _claim_expiry_by_zone(
    session: Session, *, campaign_id: int, agent_id: int | None
) -> dict[str, datetime]:
    """The first claim to expire in each lead zone. Read from the claims (one per
    agent at most) with each lead's zone looked up by id, so the lead table is
    never scanned whatever the planner thinks of an empty claim table."""
    zone = select(col(Lead.timezone)).where(col(Lead.id) == col(Claim.lead_id)).scalar_subquery()
    query = select(col(Claim.claim_expires_at), zone).where(col(Claim.campaign_id) == campaign_id)
    if agent_id is not None:
        # A dialer's claim (no agent yet) is another's too: NULL != agent_id is not true.
        query = query.where(col(Claim.agent_id).is_(None) | (col(Claim.agent_id) != agent_id))
    found: dict[str, datetime] = {}
    for expires_at, lead_zone in session.execute(query):
        aware = _aware(expires_at)
        if aware is not None and (lead_zone not in found or aware < found[lead_zone]):
            found[lead_zone] = aware
    return found


def _zone_out(
    hours: CallingHours, *, zone: str, leads: int, closure: Closure | None, now: datetime
) -> ZoneOut:
    return ZoneOut(
        timezone=zone,
        leads=leads,
        open=closure is None,
        closed_by=closure.by if closure else None,
        holiday=closure.holiday if closure and closure.by == ClosedBy.holiday else None,
        opens_at=closure.opens_at if closure else None,
        closes_at=hours.open_until(at=now) if closure is None else None,
    )


def queue_diagnosis(session: Session, *, campaign_id: int, now: datetime) -> QueueOut:
    return diagnose(session, campaign_id=campaign_id, now=now).out


def campaigns_outlook(diagnoses: list[Diagnosis], *, contended: bool) -> Outlook:
    """One agent over all its campaigns: callable now if any campaign is (or
    `contended` when the claim found nothing even so), else the soonest
    campaign's outlook, else what holds them with no end: a rule holding leads
    before a paused campaign, before nothing left to call."""
    if not diagnoses:
        return outlook(on=IdleReason.no_campaigns, at=None)
    ready = [d.outlook for d in diagnoses if d.outlook.on is None]
    if ready:
        return outlook(on=IdleReason.contended if contended else None, at=ready[0].at)
    ends = [d.outlook for d in diagnoses]
    rank = {IdleReason.no_leads: 2, IdleReason.campaign_paused: 1}
    fallback = min(ends, key=lambda o: rank.get(o.on, 0) if o.on else 0)
    return soonest(ends, otherwise=fallback)


def agent_diagnoses(session: Session, *, agent_id: int, now: datetime) -> list[Diagnosis]:
    """The queue diagnosis of each campaign the agent takes leads from, as its
    queue sees them."""
    return [
        diagnose(session, campaign_id=campaign_id, now=now, agent_id=agent_id)
        for campaign_id in campaign_ids_of(session, agent_id=agent_id)
    ]


def agent_queue(session: Session, *, agent: Agent, now: datetime) -> AgentQueueOut:
    """Why nothing is callable for this agent now, campaign by campaign."""
    assert agent.id is not None
    diagnoses = agent_diagnoses(session, agent_id=agent.id, now=now)
    result = campaigns_outlook(diagnoses, contended=False)
    claimed = session.scalar(select(col(Claim.lead_id)).where(col(Claim.agent_id) == agent.id))
    return AgentQueueOut(
        agent_id=agent.id,
        state=AgentState(agent.state),
        claimed_lead_id=claimed,
        callable_now=sum(d.out.callable_now for d in diagnoses),
        promises_due=sum(d.out.promises_due for d in diagnoses),
        next_callable_at=result.at,
        waiting_on=result.on,
        detail=result.detail,
        campaigns=[d.out for d in diagnoses],
    )


def nothing_callable(session: Session, *, agent_id: int, now: datetime) -> NothingCallableOut:
    """What `next` says, when asked to explain, after its claim found nothing:
    the agent's outlook, with the wait in whole seconds (at least 1, so a client
    that sleeps `retry_after` never spins)."""
    result = campaigns_outlook(agent_diagnoses(session, agent_id=agent_id, now=now), contended=True)
    assert result.on is not None
    retry_after = None
    if result.at is not None:
        retry_after = max(1, math.ceil((result.at - now).total_seconds()))
    return NothingCallableOut(
        reason=result.on,
        next_callable_at=result.at,
        retry_after=retry_after,
        detail=result.detail,
    )
