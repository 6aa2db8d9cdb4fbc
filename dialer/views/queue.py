"""Why a campaign's floor has nothing (or this much) to dial, at a glance."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.campaign.models import CampaignStatus
from dialer.campaign.service import calling_hours_of, get_campaign, zone_of
from dialer.leads.eligibility import BlockRule, rule_of_reason
from dialer.leads.models import TERMINAL_STATUSES, Lead, LeadStatus, NextAttemptReason
from dialer.leads.schemas import QueueOut
from dialer.wire import localized

# A lead held back by `next_attempt_at` is blocked by the rule that set it.


def queue_rule(
    *,
    status: str,
    due: bool,
    reason: str | None,
    paused: bool,
    closed_reason: Callable[[], str | None],
) -> BlockRule | None:
    """The one rule a group of leads is counted under, or None when they are
    callable now. Unlike eligibility, which lists every rule, each lead counts
    once, under the first that holds: status, claim, campaign, schedule, hours.
    `closed_reason` is asked last, so a zone's hours are computed only when needed."""
    if status in TERMINAL_STATUSES or status == LeadStatus.awaiting_external:
        return BlockRule.terminal_status
    if status == LeadStatus.claimed:
        return BlockRule.claimed
    if paused:
        return BlockRule.campaign_paused
    if not due:
        return rule_of_reason(reason)
    closed = closed_reason()
    return BlockRule(closed) if closed else None


def queue_diagnosis(session: Session, *, campaign_id: int, now: datetime) -> QueueOut:
    """Counted by SQL aggregates per (status, zone, due-or-not, reason), never by
    walking the leads: a million-lead campaign answers as fast as a small one."""
    campaign = get_campaign(session, campaign_id=campaign_id)
    due = col(Lead.next_attempt_at).is_(None) | (col(Lead.next_attempt_at) <= now)
    rows = session.execute(
        select(
            col(Lead.status),
            col(Lead.timezone),
            due.label("due"),
            col(Lead.next_attempt_reason),
            func.count(),
        )
        .where(col(Lead.campaign_id) == campaign_id)
        .group_by(col(Lead.status), col(Lead.timezone), due, col(Lead.next_attempt_reason))
    ).all()
    paused = campaign.status != CampaignStatus.active
    blocked: dict[BlockRule, int] = {}
    callable_now = 0
    promises_due = 0
    zone_state: dict[str, str | None] = {}

    def closed_in(zone: str) -> Callable[[], str | None]:
        def closed() -> str | None:
            if zone not in zone_state:
                zone_state[zone] = calling_hours_of(campaign, timezone=zone).closed_reason(at=now)
            return zone_state[zone]

        return closed

    for status, zone, is_due, reason, count in rows:
        if status == LeadStatus.scheduled and is_due and reason == NextAttemptReason.promise:
            promises_due += count
        if status == LeadStatus.importing:
            continue
        rule = queue_rule(
            status=status,
            due=bool(is_due),
            reason=reason,
            paused=paused,
            closed_reason=closed_in(zone),
        )
        if rule is None:
            callable_now += count
        else:
            blocked[rule] = blocked.get(rule, 0) + count
    upcoming = session.scalar(
        select(func.min(col(Lead.next_attempt_at))).where(
            col(Lead.campaign_id) == campaign_id,
            col(Lead.status) == LeadStatus.scheduled,
            col(Lead.next_attempt_at) > now,
        )
    )
    out = QueueOut(
        campaign_id=campaign_id,
        callable_now=callable_now,
        blocked=blocked,
        promises_due=promises_due,
        next_due_at=upcoming,
    )
    return localized(out, zone_of(campaign))
