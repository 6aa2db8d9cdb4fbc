"""Handing an agent's promises over when it leaves (its account is deactivated).

What the agent held: its scheduled promises, and every lead reserved for it —
a promise not yet kept, the follow-up of a kept promise the customer did not
answer, a missed promise its campaign keeps for the owner (`on_missed: keep`).
Each goes by its campaign's `on_missed` rule, which already says what the
campaign wants when an owner cannot make it:

- `reassign`: to anyone on the campaign (the promise becomes one for anyone);
- `keep`: the campaign wants one person to carry the customer's callback, so
  it goes to the agent the manager names (`to_agent_id`, who must be on that
  campaign), or, with nobody named, to anyone rather than to nobody.

The schedule does not move: the customer was promised a time. A promise handed
to a named agent is not re-booked against that agent's slots (the commitment
was made already; refusing it would leave it with nobody). Every lead gets a
`promise_handed_over` event in its history, and the new owner (or the
campaign's agents) a `promise_handed_over` event on its stream, plus
`promise_due` for a promise already due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.events import publish
from dialer.agents.models import AgentCampaign
from dialer.campaign.models import Campaign
from dialer.campaign.schemas import OnMissed
from dialer.errors import Invalid
from dialer.leads import history, lifecycle
from dialer.leads.models import Lead
from dialer.promises.booking import policy_of
from dialer.promises.models import Promise, PromiseStatus


@dataclass(frozen=True, slots=True)
class HandedOver:
    lead_id: int
    promise_id: int | None  # None: a reservation with no open promise (a follow-up)
    to_agent_id: int | None  # None: anyone on the campaign
    on_missed: str


def hand_over(
    session: Session,
    *,
    from_agent_id: int,
    to_agent_id: int | None,
    to_field: str,
    actor: str,
    now: datetime,
    why: str,
) -> list[HandedOver]:
    """Move every promise and reservation of `from_agent_id` by its campaign's
    `on_missed` rule (see the module). `to_field` names the request field that
    gave `to_agent_id`, for the 422 when that agent is not on a campaign."""
    promises = {
        p.lead_id: p
        for p in session.scalars(
            select(Promise)
            .where(
                col(Promise.agent_id) == from_agent_id,
                col(Promise.status) == PromiseStatus.scheduled,
            )
            .with_for_update()
        )
    }
    reserved_ids = {
        lead_id
        for lead_id in session.scalars(
            select(col(Lead.id)).where(col(Lead.reserved_agent_id) == from_agent_id)
        )
        if lead_id is not None
    }
    lead_ids = sorted(reserved_ids | set(promises))
    if not lead_ids:
        return []
    leads = list(
        session.scalars(
            select(Lead).where(col(Lead.id).in_(lead_ids)).order_by(col(Lead.id)).with_for_update()
        )
    )
    on_missed_of: dict[int, str] = {}
    for campaign_id in sorted({lead.campaign_id for lead in leads}):
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        on_missed_of[campaign_id] = policy_of(campaign).on_missed
    if to_agent_id is not None:
        _check_on_campaigns(
            session,
            agent_id=to_agent_id,
            campaign_ids=[c for c, rule in on_missed_of.items() if rule == OnMissed.keep],
            field=to_field,
        )
    handed: list[HandedOver] = []
    for lead in leads:
        assert lead.id is not None
        on_missed = on_missed_of[lead.campaign_id]
        target = to_agent_id if on_missed == OnMissed.keep else None
        promise = promises.get(lead.id)
        if promise is not None:
            promise.agent_id = target
            promise.updated_at = now
        if lead.reserved_agent_id == from_agent_id:
            lifecycle.hand_over_promise(lead=lead, agent_id=target, at=now)
        history.record(
            session,
            lead_id=lead.id,
            kind="promise_handed_over",
            actor=actor,
            at=now,
            promise_id=promise.id if promise is not None else lead.promise_id,
            from_agent_id=from_agent_id,
            to_agent_id=target,
            on_missed=on_missed,
            why=why,
        )
        _announce(session, lead=lead, promise=promise, target=target, now=now, why=why)
        handed.append(
            HandedOver(
                lead_id=lead.id,
                promise_id=promise.id if promise is not None else None,
                to_agent_id=target,
                on_missed=on_missed,
            )
        )
    session.flush()
    return handed


def _check_on_campaigns(
    session: Session, *, agent_id: int, campaign_ids: list[int], field: str
) -> None:
    """A promise handed to an agent who cannot take its lead would be missed by design."""
    assigned = set(
        session.scalars(
            select(col(AgentCampaign.campaign_id)).where(col(AgentCampaign.agent_id) == agent_id)
        )
    )
    for campaign_id in campaign_ids:
        if campaign_id not in assigned:
            raise Invalid(
                f"{field}: agent {agent_id} is not assigned to campaign {campaign_id}, "
                "whose promises it would take",
                code="agent_not_on_campaign",
                field=field,
            )


def _announce(
    session: Session,
    *,
    lead: Lead,
    promise: Promise | None,
    target: int | None,
    now: datetime,
    why: str,
) -> None:
    assert lead.id is not None
    payload = {
        "lead_id": lead.id,
        "lead_name": lead.name,
        "company": lead.company,
        "promise_id": promise.id if promise is not None else lead.promise_id,
        "due_at": lead.next_attempt_at.isoformat() if lead.next_attempt_at else None,
        "window_end": promise.window_end.isoformat() if promise is not None else None,
        "why": why,
    }
    publish(
        session,
        kind="promise_handed_over",
        at=now,
        agent_id=target,
        campaign_id=lead.campaign_id,
        **payload,
    )
    if promise is not None and promise.due_notified_at is not None:
        # Announced to the old owner already: the new one hears it is due now.
        publish(
            session,
            kind="promise_due",
            at=now,
            agent_id=target,
            campaign_id=lead.campaign_id,
            handed_over=True,
            **payload,
        )
