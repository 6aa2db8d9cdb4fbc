"""Promises: booking, cancelling and keeping booked callbacks.

A promise puts its schedule on the lead row, where the queue reads it:
`next_attempt_at` = due time, `next_attempt_reason` = promise, `reserved_agent_id`
= the owner (None for anyone), `reserved_until` = the end of the window. Until
`due_at` nobody gets the lead; from `due_at` to `reserved_until` only the owner;
then the window sweep marks an uncalled promise missed and applies `on_missed`.
Every step is a row change in one transaction, so the scheduler tick and the
simulated clock drive it alike, and a restart loses nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.models import Agent, AgentCampaign, Claim, Role
from dialer.auth import actor_of
from dialer.calls.models import Call
from dialer.campaign.hours import CallingHours, local_text
from dialer.campaign.models import Campaign
from dialer.campaign.schemas import PromisePolicy
from dialer.campaign.service import calling_hours_of, zone_of
from dialer.errors import Conflict, Forbidden, Invalid, NotClaimed, NotFound, OnDoNotCallList
from dialer.leads import history, lifecycle
from dialer.leads.dialrules import Uncallable, why_uncallable
from dialer.leads.models import TERMINAL_STATUSES, Lead, LeadStatus, Phone
from dialer.leads.phonebook import phone_facts
from dialer.promises.models import (
    SLOT_HOLDING_STATUSES,
    MadeBy,
    Promise,
    PromiseOwner,
    PromiseRequest,
    PromiseStatus,
)
from dialer.promises.slots import Refusal, Timing, check_booking, slot_start, timing_of
from dialer.wire import wall_time_in

# Statuses a promise can be booked on: an exhausted lead can still be called back
# when the customer asks (promise calls are outside the caps); a closed one cannot.
_CLOSED_FOR_PROMISES = TERMINAL_STATUSES - {LeadStatus.exhausted}

# How far ahead a promise may be booked.
_BOOKING_HORIZON = timedelta(days=366)
# Suggestions look this far ahead for free slots.
_SUGGESTION_HORIZON = timedelta(days=8)


class SlotRefused(Conflict):
    """409 with `suggestions`: the slot is full, or the time is outside calling hours."""


class PromiseClosed(Conflict):
    code = "promise_closed"


def policy_of(campaign: Campaign) -> PromisePolicy:
    return PromisePolicy.model_validate(campaign.promise_policy or {})


def get_promise(session: Session, *, promise_id: int) -> Promise:
    promise = session.get(Promise, promise_id)
    if promise is None:
        raise NotFound(f"promise {promise_id} does not exist", code="promise_not_found")
    return promise


# Built once: every agent's disposition asks it.
_OPEN_PROMISE = select(Promise).where(
    col(Promise.lead_id) == bindparam("lead_id"), col(Promise.status) == PromiseStatus.scheduled
)


def open_promise(session: Session, *, lead_id: int) -> Promise | None:
    return session.scalar(_OPEN_PROMISE, {"lead_id": lead_id})


def _owner_of(session: Session, *, principal: Agent, request: PromiseRequest) -> int | None:
    if principal.role == Role.manager:
        if request.agent_id is not None:
            agent = session.get(Agent, request.agent_id)
            if agent is None or agent.role != Role.agent:
                raise Invalid(
                    f"agent {request.agent_id} does not exist",
                    code="agent_not_found",
                    field="agent_id",
                )
            if not agent.active:
                raise Invalid(
                    f"agent {request.agent_id} is deactivated",
                    code="account_deactivated",
                    field="agent_id",
                )
            return agent.id
        if request.owner == PromiseOwner.me:
            raise Invalid(
                "a manager books for anyone, or for an agent given as agent_id", field="owner"
            )
        return None
    if request.agent_id is not None and request.agent_id != principal.id:
        raise Invalid("agents book promises for themselves or for anyone", field="agent_id")
    return None if request.owner == PromiseOwner.anyone else principal.id


def _assigned(session: Session, *, agent_id: int, campaign_id: int) -> bool:
    return (
        session.scalar(
            select(col(AgentCampaign.agent_id)).where(
                col(AgentCampaign.agent_id) == agent_id,
                col(AgentCampaign.campaign_id) == campaign_id,
            )
        )
        is not None
    )


def _is_active(session: Session, *, agent_id: int) -> bool:
    agent = session.get(Agent, agent_id)
    return agent is not None and agent.active


def _check_callable_phone(session: Session, *, lead: Lead) -> None:
    assert lead.id is not None
    why = why_uncallable(phone_facts(session, lead_id=lead.id))
    if why == Uncallable.no_phone:
        raise Conflict(f"lead {lead.id} has no active phone", code="no_phone")
    if why == Uncallable.dnc:
        raise OnDoNotCallList(f"every phone of lead {lead.id} is on the do-not-call list")


def _in_zone(request: PromiseRequest, *, zone: ZoneInfo) -> PromiseRequest:
    """The request's times as instants: one given without an offset is a wall
    time of the campaign's zone."""
    at = wall_time_in(request.at, zone, field="at") if request.at is not None else None
    window = None
    if request.window is not None:
        window = (
            wall_time_in(request.window[0], zone, field="window.start"),
            wall_time_in(request.window[1], zone, field="window.end"),
        )
    return dataclasses.replace(request, at=at, window=window)


def _timing(
    request: PromiseRequest, *, policy: PromisePolicy, now: datetime, zone: ZoneInfo
) -> Timing:
    if request.at is not None and request.at < now:
        raise Invalid(
            f"at {local_text(request.at, zone)} is in the past (it is {local_text(now, zone)})",
            field="at",
        )
    for name, value in (
        ("at", request.at),
        ("window.start", request.window[0] if request.window else None),
        ("window.end", request.window[1] if request.window else None),
    ):
        if value is not None and value > now + _BOOKING_HORIZON:
            raise Invalid(
                f"{name} is more than {_BOOKING_HORIZON.days} days ahead; "
                "a callback that far out is a new lead list, not a promise",
                field=name,
            )
    window = request.window
    if window is not None:
        start, end = window
        if end <= start:
            raise Invalid("window.end must be after window.start", field="window.end")
        if end <= now:
            raise Invalid(
                f"the window ended at {local_text(end, zone)} (it is {local_text(now, zone)})",
                field="window.end",
            )
        # A window already begun ("call during lunch", asked at 12:20) is due now.
        window = (max(start, now), end)
    return timing_of(
        now=now,
        grace=timedelta(minutes=policy.grace_minutes),
        in_minutes=request.in_minutes,
        at=request.at,
        window=window,
    )


def _slot_counter(
    session: Session,
    *,
    campaign_id: int,
    owner_id: int | None,
    from_slot: datetime,
    replacing: Promise | None,
) -> Callable[[datetime], int]:
    """Booked promises per slot of this owner (or of the campaign's `anyone` pool)
    over the suggestion horizon, in one query."""
    query = (
        select(col(Promise.slot_start), func.count())
        .where(
            col(Promise.status).in_(SLOT_HOLDING_STATUSES),
            col(Promise.slot_start) >= from_slot,
            col(Promise.slot_start) < from_slot + _SUGGESTION_HORIZON,
        )
        .group_by(col(Promise.slot_start))
    )
    if owner_id is not None:
        query = query.where(col(Promise.agent_id) == owner_id)
    else:
        query = query.where(
            col(Promise.campaign_id) == campaign_id, col(Promise.agent_id).is_(None)
        )
    if replacing is not None:
        # Moving one's own promise must not collide with itself.
        query = query.where(col(Promise.id) != replacing.id)
    counts: dict[datetime, int] = {at: n for at, n in session.execute(query)}
    return lambda at: counts.get(at, 0)


def _capacity(
    session: Session, *, policy: PromisePolicy, campaign_id: int, owner_id: int | None
) -> int:
    if owner_id is not None:
        return policy.per_agent_per_slot
    # Promises for anyone are kept by the whole team: its capacity is the team's
    # (its active members: a deactivated agent keeps nothing).
    agents = session.scalar(
        select(func.count())
        .select_from(AgentCampaign)
        .join(Agent, col(Agent.id) == col(AgentCampaign.agent_id))
        .where(col(AgentCampaign.campaign_id) == campaign_id, col(Agent.active).is_(True))
    )
    return policy.per_agent_per_slot * max(1, agents or 0)


def _lock_booking_scope(session: Session, *, campaign_id: int, owner_id: int | None) -> None:
    """Serialize bookings that compete for the same slots (a row lock on
    PostgreSQL; SQLite's write transactions are serialized already): two
    bookings at once can never both see the last free place."""
    if owner_id is not None:
        session.execute(select(col(Agent.id)).where(col(Agent.id) == owner_id).with_for_update())
    else:
        session.execute(
            select(col(Campaign.id)).where(col(Campaign.id) == campaign_id).with_for_update()
        )


def book(
    session: Session,
    *,
    principal: Agent,
    lead_id: int,
    request: PromiseRequest,
    now: datetime,
    during_call: Call | None = None,
) -> Promise:
    lead = session.scalar(select(Lead).where(col(Lead.id) == lead_id).with_for_update())
    if lead is None or lead.status == LeadStatus.importing:
        raise NotFound(f"lead {lead_id} does not exist", code="lead_not_found")
    assert lead.id is not None
    claim = session.scalar(select(Claim).where(col(Claim.lead_id) == lead_id))
    if principal.role != Role.manager and (claim is None or claim.agent_id != principal.id):
        raise NotClaimed(f"agent {principal.id} holds no claim on lead {lead_id}")
    if lead.status in _CLOSED_FOR_PROMISES:
        raise Conflict(f"lead {lead_id} is {lead.status}", code="lead_closed")
    owner_id = _owner_of(session, principal=principal, request=request)
    campaign = session.get(Campaign, lead.campaign_id)
    assert campaign is not None and campaign.id is not None
    if owner_id is not None and not _assigned(session, agent_id=owner_id, campaign_id=campaign.id):
        # It could never take the lead: the promise would be missed by design.
        raise Invalid(
            f"agent {owner_id} is not assigned to campaign {campaign.id}",
            code="agent_not_on_campaign",
            field="agent_id",
        )
    policy = policy_of(campaign)
    zone = zone_of(campaign)
    timing = _timing(_in_zone(request, zone=zone), policy=policy, now=now, zone=zone)
    _check_callable_phone(session, lead=lead)
    hours = calling_hours_of(campaign, timezone=lead.timezone)
    _lock_booking_scope(session, campaign_id=campaign.id, owner_id=owner_id)
    replacing = open_promise(session, lead_id=lead.id)
    asked_slot = slot_start(timing.due_at, slot_minutes=policy.slot_minutes, tz=hours.tz)
    refusal, suggestions = _check_slot(
        session,
        asked_at=timing.due_at,
        slot=asked_slot,
        campaign_id=campaign.id,
        policy=policy,
        hours=hours,
        owner_id=owner_id,
        replacing=replacing,
    )
    if refusal is not None:
        # Calling hours are the lead's local ones; the rest speaks the campaign's zone.
        detail = (
            f"{local_text(timing.due_at, hours.tz)} is outside calling hours"
            if refusal == Refusal.outside_calling_hours
            else f"the {policy.slot_minutes}-minute slot at {local_text(asked_slot, zone)} is full"
        )
        if suggestions:
            detail += "; the earliest bookable: " + ", ".join(
                local_text(s, zone) for s in suggestions
            )
        raise SlotRefused(
            detail,
            code=refusal.value,
            suggestions=[s.astimezone(zone).isoformat() for s in suggestions],
        )
    call_id = during_call.id if during_call is not None else _current_call(session, claim=claim)
    promise = Promise(
        lead_id=lead.id,
        campaign_id=campaign.id,
        agent_id=owner_id,
        booked_by_agent_id=principal.id if principal.role == Role.agent else None,
        booked_by=actor_of(principal),
        made_by=request.made_by,
        kind=timing.kind,
        note=request.note,
        due_at=timing.due_at,
        window_end=timing.window_end,
        slot_start=asked_slot,
        status=PromiseStatus.scheduled,
        call_id=call_id,
        created_at=now,
        updated_at=now,
    )
    return _enter(
        session, promise=promise, lead=lead, replacing=replacing, actor=actor_of(principal), now=now
    )


def _check_slot(
    session: Session,
    *,
    asked_at: datetime,
    slot: datetime,
    campaign_id: int,
    policy: PromisePolicy,
    hours: CallingHours,
    owner_id: int | None,
    replacing: Promise | None,
) -> tuple[Refusal | None, list[datetime]]:
    """The slot rule (`promises.slots.check_booking`) over what is booked: the
    owner's (or anyone's) capacity and the slot's promises, the one replaced not
    counted; with the nearest bookable times when refused."""
    return check_booking(
        asked_at=asked_at,
        until=slot + _SUGGESTION_HORIZON,
        hours=hours,
        slot_minutes=policy.slot_minutes,
        capacity=_capacity(session, policy=policy, campaign_id=campaign_id, owner_id=owner_id),
        booked_in_slot=_slot_counter(
            session,
            campaign_id=campaign_id,
            owner_id=owner_id,
            from_slot=slot,
            replacing=replacing,
        ),
    )


def _enter(
    session: Session,
    *,
    promise: Promise,
    lead: Lead,
    replacing: Promise | None,
    actor: str,
    now: datetime,
) -> Promise:
    """A new promise takes its place: stored, the one it replaces closed as
    `rescheduled`, the booking in the lead's history, the lead held for it."""
    session.add(promise)
    session.flush()
    assert promise.id is not None
    if replacing is not None:
        _close(
            session,
            promise=replacing,
            status=PromiseStatus.rescheduled,
            actor=actor,
            now=now,
            reason=f"replaced by promise {promise.id}",
            replaced_by_id=promise.id,
        )
    history.record(
        session,
        lead_id=promise.lead_id,
        kind="promise_booked",
        actor=actor,
        at=now,
        promise_id=promise.id,
        owner_agent_id=promise.agent_id,
        due_at=promise.due_at.isoformat(),
        window_end=promise.window_end.isoformat(),
        made_by=promise.made_by,
        note=promise.note,
        call_id=promise.call_id,
    )
    _hold_lead(session, lead=lead, promise=promise, actor=actor, now=now)
    return promise


def _current_call(session: Session, *, claim: Claim | None) -> int | None:
    """The call of the claim in progress, if any: the one this booking happens in."""
    if claim is None:
        return None
    return session.scalar(
        select(col(Call.id))
        .where(
            col(Call.lead_id) == claim.lead_id,
            col(Call.agent_id) == claim.agent_id,
            col(Call.created_at) >= claim.claimed_at,
        )
        .order_by(col(Call.id).desc())
        .limit(1)
    )


def _hold_lead(
    session: Session, *, lead: Lead, promise: Promise, actor: str, now: datetime
) -> None:
    assert promise.id is not None
    lifecycle.hold_for_promise(
        session,
        lead=lead,
        promise_id=promise.id,
        due_at=promise.due_at,
        owner_agent_id=promise.agent_id,
        window_end=promise.window_end,
        actor=actor,
        at=now,
    )


def _close(
    session: Session,
    *,
    promise: Promise,
    status: PromiseStatus,
    actor: str,
    now: datetime,
    reason: str,
    replaced_by_id: int | None = None,
) -> None:
    promise.status = status
    promise.closed_at = now
    promise.closed_reason = reason
    promise.updated_at = now
    if replaced_by_id is not None:
        promise.replaced_by_id = replaced_by_id
    history.record(
        session,
        lead_id=promise.lead_id,
        kind=f"promise_{status.value}",
        actor=actor,
        at=now,
        promise_id=promise.id,
        reason=reason,
    )


def cancel(
    session: Session, *, principal: Agent, promise_id: int, now: datetime, reason: str | None
) -> Promise:
    promise = get_promise(session, promise_id=promise_id)
    owned = promise.agent_id == principal.id or promise.booked_by_agent_id == principal.id
    if principal.role != Role.manager and not owned:
        raise Forbidden("this promise belongs to another agent", code="not_your_resource")
    if promise.status != PromiseStatus.scheduled:
        raise PromiseClosed(
            f"promise {promise_id} is {promise.status}; only a scheduled one can be cancelled"
        )
    cancel_open(
        session, promise=promise, actor=actor_of(principal), now=now, reason=reason or "cancelled"
    )
    return promise


def cancel_open(
    session: Session, *, promise: Promise, actor: str, now: datetime, reason: str
) -> None:
    """Cancel a scheduled promise and give its lead back to the pool: callable at
    once by the retry rules (the customer's request is gone, not the lead)."""
    _close(
        session,
        promise=promise,
        status=PromiseStatus.cancelled,
        actor=actor,
        now=now,
        reason=reason,
    )
    lead = session.get(Lead, promise.lead_id)
    assert lead is not None
    if lead.promise_id != promise.id:
        return
    lifecycle.reopen(session, lead=lead, actor=actor, at=now, reason="promise cancelled")


def cancel_for_dnc(session: Session, *, phone: str, actor: str, now: datetime) -> None:
    """A phone joining the do-not-call list cancels the open promises of its leads."""
    lead_ids = select(col(Phone.lead_id)).where(col(Phone.number) == phone)
    for promise in session.scalars(
        select(Promise).where(
            col(Promise.lead_id).in_(lead_ids), col(Promise.status) == PromiseStatus.scheduled
        )
    ):
        cancel_open(
            session,
            promise=promise,
            actor=actor,
            now=now,
            reason=f"{phone} added to the do-not-call list",
        )


def confirm_for_call(session: Session, *, lead: Lead, call: Call) -> Promise:
    """A `callback` disposition without a promise body confirms the one booked
    during this very call."""
    assert lead.id is not None
    promise = open_promise(session, lead_id=lead.id)
    if promise is None or promise.call_id != call.id:
        raise Invalid(
            "callback needs a promise: send `promise`, or book one during this call first",
            code="promise_required",
            field="promise",
        )
    return promise


def keep_on_call(session: Session, *, lead: Lead, call: Call, now: datetime) -> None:
    """A call placed to the lead between `due_at` and `window_end` keeps its promise."""
    if lead.promise_id is None:
        return
    if call.for_promise:
        # The owner took it (a promise or its follow-up): no window left to lapse.
        lifecycle.keep_promise(lead=lead)
    promise = session.get(Promise, lead.promise_id)
    if promise is None or promise.status != PromiseStatus.scheduled:
        return
    if not promise.due_at <= now <= promise.window_end:
        return
    promise.status = PromiseStatus.kept
    promise.kept_call_id = call.id
    promise.closed_at = now
    promise.updated_at = now
    lifecycle.keep_promise(lead=lead)
    history.record(
        session,
        lead_id=promise.lead_id,
        kind="promise_kept",
        actor=f"agent:{call.agent_id}",
        at=now,
        promise_id=promise.id,
        call_id=call.id,
    )


def follow_up(session: Session, *, lead: Lead, call: Call, at: datetime, actor: str) -> bool:
    """The customer did not answer a kept promise's call: try again with the same
    agent at the `no_answer_retry` delays. False when the follow-ups are used up
    (or this was not a promise call): the retry policy decides from here."""
    if not call.for_promise or lead.promise_id is None:
        return False
    promise = session.get(Promise, lead.promise_id)
    if promise is None or promise.status != PromiseStatus.kept:
        lifecycle.release_promise(lead=lead)
        return False
    campaign = session.get(Campaign, lead.campaign_id)
    assert campaign is not None
    policy = policy_of(campaign)
    if promise.followups >= len(policy.no_answer_retry):
        lifecycle.release_promise(lead=lead)
        return False
    delay = policy.no_answer_retry[promise.followups]
    hours = calling_hours_of(campaign, timezone=lead.timezone)
    due = hours.next_opening(at=at + timedelta(seconds=delay))
    if due is None:
        lifecycle.release_promise(lead=lead)
        return False
    promise.followups += 1
    promise.updated_at = at
    # The owner follows up; for a promise for anyone, or one whose owner has
    # left (deactivated: `promises.handover`), the agent who placed the call.
    owner = promise.agent_id
    if owner is None or not _is_active(session, agent_id=owner):
        owner = call.agent_id
    assert lead.id is not None
    history.record(
        session,
        lead_id=lead.id,
        kind="promise_follow_up_scheduled",
        actor=actor,
        at=at,
        promise_id=promise.id,
        follow_up=promise.followups,
        next_attempt_at=due.isoformat(),
        agent_id=owner,
    )
    lifecycle.follow_up_promise(
        session,
        lead=lead,
        due_at=due,
        owner_agent_id=owner,
        grace=timedelta(minutes=policy.grace_minutes),
        actor=actor,
        at=at,
    )
    return True


def keep_on_callback(
    session: Session, *, lead: Lead, agent_id: int, now: datetime, inbound_id: int
) -> Promise | None:
    """The customer rang back and `agent_id` took the call: the open promise is
    kept, early or in its window alike (the customer reached us). As with a
    kept call, no window is left to lapse, and the lead keeps the promise until
    what comes of the conversation settles it. Returns the promise kept."""
    promise = open_promise(session, lead_id=lead.id) if lead.id is not None else None
    if promise is None:
        return None
    promise.status = PromiseStatus.kept
    promise.closed_at = now
    promise.updated_at = now
    promise.closed_reason = f"the customer rang back (inbound call {inbound_id})"
    if lead.promise_id == promise.id:
        lifecycle.keep_promise(lead=lead)
    history.record(
        session,
        lead_id=promise.lead_id,
        kind="promise_kept",
        actor=f"agent:{agent_id}",
        at=now,
        promise_id=promise.id,
        inbound_call_id=inbound_id,
    )
    return promise


def book_asap(
    session: Session, *, lead: Lead, owner_id: int | None, now: datetime, actor: str, note: str
) -> Promise | None:
    """A customer rang back and nobody could take the call: a promise made by the
    customer, due at the first bookable time from now (the owner's slots, or the
    campaign's for anyone), so the callback is not lost. It replaces the lead's
    open promise. None when the lead cannot be promised anything (closed, no
    callable phone, no free slot within the suggestion horizon)."""
    assert lead.id is not None
    if lead.status in _CLOSED_FOR_PROMISES or lead.status == LeadStatus.importing:
        return None
    if why_uncallable(phone_facts(session, lead_id=lead.id)) is not None:
        return None
    campaign = session.get(Campaign, lead.campaign_id)
    assert campaign is not None and campaign.id is not None
    if owner_id is not None and not (
        _is_active(session, agent_id=owner_id)
        and _assigned(session, agent_id=owner_id, campaign_id=campaign.id)
    ):
        owner_id = None
    policy = policy_of(campaign)
    grace = timedelta(minutes=policy.grace_minutes)
    hours = calling_hours_of(campaign, timezone=lead.timezone)
    _lock_booking_scope(session, campaign_id=campaign.id, owner_id=owner_id)
    replacing = open_promise(session, lead_id=lead.id)
    refusal, suggestions = _check_slot(
        session,
        asked_at=now,
        slot=slot_start(now, slot_minutes=policy.slot_minutes, tz=hours.tz),
        campaign_id=campaign.id,
        policy=policy,
        hours=hours,
        owner_id=owner_id,
        replacing=replacing,
    )
    if refusal is not None and not suggestions:
        return None
    timing = (
        timing_of(now=now, grace=grace, in_minutes=0)
        if refusal is None
        else timing_of(now=now, grace=grace, at=suggestions[0])
    )
    promise = Promise(
        lead_id=lead.id,
        campaign_id=campaign.id,
        agent_id=owner_id,
        booked_by_agent_id=None,
        booked_by=actor,
        made_by=MadeBy.customer,
        kind=timing.kind,
        note=note,
        due_at=timing.due_at,
        window_end=timing.window_end,
        slot_start=slot_start(timing.due_at, slot_minutes=policy.slot_minutes, tz=hours.tz),
        status=PromiseStatus.scheduled,
        created_at=now,
        updated_at=now,
    )
    return _enter(session, promise=promise, lead=lead, replacing=replacing, actor=actor, now=now)
