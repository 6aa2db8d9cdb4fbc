"""Reading leads: the lead with everything about it, lists, and why it is (not)
being called."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.models import Agent, Claim, Role
from dialer.calls.models import Call
from dialer.calls.reading import call_out
from dialer.campaign.models import CampaignStatus
from dialer.campaign.service import calling_hours_of, get_campaign, retry_policy_of
from dialer.conversions.models import Conversion
from dialer.errors import Forbidden, NotFound
from dialer.leads.dialrules import day_attempts_on
from dialer.leads.eligibility import Block, LeadFacts, blocks, next_callable_at
from dialer.leads.models import (
    TERMINAL_STATUSES,
    Contact,
    Event,
    Lead,
    LeadStatus,
    NextAttemptReason,
    Phone,
)
from dialer.leads.phonebook import listed
from dialer.promises.reading import list_promises, promise_out


def get_lead(session: Session, *, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None or lead.status == LeadStatus.importing:
        raise NotFound(f"lead {lead_id} does not exist", code="lead_not_found")
    return lead


def check_lead_access(session: Session, *, principal: Agent, lead: Lead) -> None:
    """Agents see only the lead they hold; managers see everything."""
    if principal.role == Role.manager:
        return
    claim = session.scalar(select(Claim).where(col(Claim.lead_id) == lead.id))
    if claim is None or claim.agent_id != principal.id:
        raise Forbidden("agents may read only the lead they hold", code="not_your_resource")


def lead_summary(session: Session, *, lead: Lead) -> dict[str, Any]:
    phones = session.scalars(
        select(Phone)
        .where(col(Phone.lead_id) == lead.id)
        .order_by(col(Phone.position), col(Phone.id))
    )
    contacts = session.scalars(
        select(Contact).where(col(Contact.lead_id) == lead.id).order_by(col(Contact.id))
    )
    return {
        "id": lead.id,
        "campaign_id": lead.campaign_id,
        "status": lead.status,
        "name": lead.name,
        "company": lead.company,
        "priority": lead.priority,
        "current_provider": lead.current_provider,
        "contract_number": lead.contract_number,
        "postal_code": lead.postal_code,
        "prefecture": lead.prefecture,
        "timezone": lead.timezone,
        "external_id": lead.external_id,
        "notes": lead.notes,
        "phones": [{"number": p.number, "retired": p.retired} for p in phones],
        "contacts": [{"name": c.name, "role": c.role} for c in contacts],
        "attempts": lead.attempts,
        "next_attempt_at": lead.next_attempt_at,
        "last_attempt_at": lead.last_attempt_at,
        "last_outcome": lead.last_outcome,
        "promise_id": lead.promise_id,
        "reserved_agent_id": lead.reserved_agent_id,
        "reserved_until": lead.reserved_until,
        "import_id": lead.import_id,
        "extra": lead.extra,
        "raw": lead.raw,
        "created_at": lead.created_at,
        "updated_at": lead.updated_at,
    }


def lead_detail(session: Session, *, lead: Lead) -> dict[str, Any]:
    out = lead_summary(session, lead=lead)
    calls = session.scalars(select(Call).where(col(Call.lead_id) == lead.id).order_by(col(Call.id)))
    conversions = session.scalars(
        select(Conversion).where(col(Conversion.lead_id) == lead.id).order_by(col(Conversion.id))
    )
    events = session.scalars(
        select(Event).where(col(Event.lead_id) == lead.id).order_by(col(Event.id))
    )
    out["calls"] = [call_out(c) for c in calls]
    out["promises"] = [promise_out(p) for p in list_promises(session, lead_id=lead.id, limit=1000)]
    out["conversions"] = [
        {
            "id": c.id,
            "reference": c.reference,
            "channel": c.channel,
            "agent_id": c.agent_id,
            "attribution": c.attribution,
            "status": c.status,
            "occurred_at": c.occurred_at,
        }
        for c in conversions
    ]
    out["events"] = [
        {"at": e.at, "kind": e.kind, "actor": e.actor, "detail": e.detail} for e in events
    ]
    return out


def list_leads(
    session: Session, *, campaign_id: int, status: str | None, limit: int, after_id: int | None
) -> list[Lead]:
    get_campaign(session, campaign_id=campaign_id)
    query = (
        select(Lead)
        .where(col(Lead.campaign_id) == campaign_id, col(Lead.status) != LeadStatus.importing)
        .order_by(col(Lead.id))
        .limit(limit)
    )
    if status:
        query = query.where(col(Lead.status) == status)
    if after_id is not None:
        query = query.where(col(Lead.id) > after_id)
    return list(session.scalars(query))


def eligibility(session: Session, *, lead_id: int, now: datetime) -> dict[str, Any]:
    lead = get_lead(session, lead_id=lead_id)
    campaign = get_campaign(session, campaign_id=lead.campaign_id)
    hours = calling_hours_of(campaign, timezone=lead.timezone)
    policy = retry_policy_of(campaign)
    active = tuple(
        number
        for number, retired in session.execute(
            select(col(Phone.number), col(Phone.retired)).where(col(Phone.lead_id) == lead.id)
        )
        if not retired
    )
    claim = session.scalar(select(Claim).where(col(Claim.lead_id) == lead.id))
    today = hours.local_date(now).isoformat()
    facts = LeadFacts(
        status=lead.status,
        campaign_active=campaign.status == CampaignStatus.active,
        next_attempt_at=lead.next_attempt_at,
        next_attempt_reason=lead.next_attempt_reason,
        unsolicited_attempts=lead.unsolicited_attempts,
        day_attempts_today=day_attempts_on(
            day_attempts=lead.day_attempts,
            day_attempts_date=lead.day_attempts_date,
            local_date=today,
        ),
        active_phones=active,
        dnc_phones=frozenset(listed(session, phones=active)),
        claimed_until=claim.claim_expires_at if claim else None,
        max_attempts=policy.max_attempts,
        max_attempts_per_day=policy.max_attempts_per_day,
    )
    found = blocks(facts=facts, hours=hours, now=now)
    return {
        "lead_id": lead.id,
        "callable": not found,
        "next_callable_at": None
        if not found
        else next_callable_at(found=found, hours=hours, now=now),
        "blocked_by": [_block_out(b) for b in found],
    }


def _block_out(block: Block) -> dict[str, Any]:
    return {"rule": block.rule, "until": block.until, "detail": block.detail}


def queue_summary(session: Session, *, campaign_id: int, now: datetime) -> dict[str, Any]:
    """Why a floor has nothing to dial, at a glance: counted by SQL aggregates per
    (status, zone, due-or-not, reason), never by walking the leads."""
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
    blocked: dict[str, int] = {}
    callable_now = 0
    zone_state: dict[str, str | None] = {}

    def add(rule: str, n: int) -> None:
        blocked[rule] = blocked.get(rule, 0) + n

    promises_due = 0
    for status, zone, is_due, reason, count in rows:
        if status == LeadStatus.scheduled and is_due and reason == NextAttemptReason.promise:
            promises_due += count
        if status == LeadStatus.importing:
            continue
        if status in TERMINAL_STATUSES or status == LeadStatus.awaiting_external:
            add("terminal_status", count)
            continue
        if status == LeadStatus.claimed:
            add("claimed", count)
            continue
        if paused:
            add("campaign_paused", count)
            continue
        if not is_due:
            add(
                {"daily_limit": "daily_limit", "promise": "promise_pending"}.get(
                    reason or "", "retry_delay"
                ),
                count,
            )
            continue
        if zone not in zone_state:
            zone_state[zone] = calling_hours_of(campaign, timezone=zone).closed_reason(at=now)
        closed = zone_state[zone]
        if closed:
            add(closed, count)
        else:
            callable_now += count
    upcoming = session.scalar(
        select(func.min(col(Lead.next_attempt_at))).where(
            col(Lead.campaign_id) == campaign_id,
            col(Lead.status) == LeadStatus.scheduled,
            col(Lead.next_attempt_at) > now,
        )
    )
    return {
        "campaign_id": campaign_id,
        "callable_now": callable_now,
        "blocked": blocked,
        "promises_due": promises_due,
        "next_due_at": upcoming,
    }
