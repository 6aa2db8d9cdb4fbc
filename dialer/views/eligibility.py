"""Why one lead is (not) callable now: its facts read from the database, judged
by the same pure rules that gate the queue (dialer.leads.eligibility)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.models import Claim
from dialer.campaign.models import CampaignStatus
from dialer.campaign.service import calling_hours_of, get_campaign, retry_policy_of, zone_of
from dialer.leads.dialrules import active_numbers, day_attempts_on
from dialer.leads.eligibility import LeadFacts, blocks, next_callable_at
from dialer.leads.phonebook import phone_facts
from dialer.leads.schemas import BlockOut, EligibilityOut
from dialer.views.leads import get_lead
from dialer.wire import localized


def lead_eligibility(session: Session, *, lead_id: int, now: datetime) -> EligibilityOut:
    lead = get_lead(session, lead_id=lead_id)
    campaign = get_campaign(session, campaign_id=lead.campaign_id)
    hours = calling_hours_of(campaign, timezone=lead.timezone)
    policy = retry_policy_of(campaign)
    assert lead.id is not None
    # The phones with their DNC standing, read as dialing reads them.
    phones = phone_facts(session, lead_id=lead.id)
    claim = session.scalar(select(Claim).where(col(Claim.lead_id) == lead.id))
    today = hours.local_date(now).isoformat()
    facts = LeadFacts(
        status=lead.status,
        campaign_active=campaign.status == CampaignStatus.active,
        next_attempt_at=lead.next_attempt_at,
        next_attempt_reason=lead.next_attempt_reason,
        unsolicited_attempts=lead.unsolicited_attempts,
        # The day's count is stale once the lead's local day has turned.
        day_attempts_today=day_attempts_on(
            day_attempts=lead.day_attempts,
            day_attempts_date=lead.day_attempts_date,
            local_date=today,
        ),
        active_phones=tuple(active_numbers(phones)),
        dnc_phones=frozenset(p.number for p in phones if p.listed and not p.retired),
        claimed_until=claim.claim_expires_at if claim else None,
        max_attempts=policy.max_attempts,
        max_attempts_per_day=policy.max_attempts_per_day,
    )
    found = blocks(facts=facts, hours=hours, now=now)
    out = EligibilityOut(
        lead_id=lead.id,
        callable=not found,
        next_callable_at=None if not found else next_callable_at(found=found, hours=hours, now=now),
        blocked_by=[BlockOut.model_validate(b, from_attributes=True) for b in found],
    )
    return localized(out, zone_of(campaign))
