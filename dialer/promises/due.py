"""Promises' due work, for the scheduler tick and the simulated clock:
announcing promises as they fall due, and closing windows that ended with no
call. Each run is a bounded, idempotent batch."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.events import publish
from dialer.campaign.models import Campaign
from dialer.campaign.schemas import OnMissed
from dialer.failing import FailingRows, each_row
from dialer.leads import history, lifecycle
from dialer.leads.models import Lead
from dialer.leads.names import names_of
from dialer.promises.booking import policy_of
from dialer.promises.models import Promise, PromiseStatus


def next_due_notice_at(session: Session, *, skip: Collection[int] = ()) -> datetime | None:
    """`skip`: promises benched after failing (dialer.failing)."""
    query = select(func.min(col(Promise.due_at))).where(
        col(Promise.status) == PromiseStatus.scheduled, col(Promise.due_notified_at).is_(None)
    )
    if skip:
        query = query.where(col(Promise.id).not_in(skip))
    return session.scalar(query)


def announce_due(
    session: Session, *, now: datetime, failing: FailingRows, limit: int = 2000
) -> int:
    """`promise_due` to the owner (or the campaign's agents) once per promise. One
    conditional UPDATE … RETURNING claims the batch, so a second runner, or a
    re-run after a crash, announces nothing twice; a burst of a thousand promises
    due in the same second costs two statements, not two thousand. A promise
    whose announcement fails is handed back (not notified) and benched."""
    due_ids = select(col(Promise.id)).where(
        col(Promise.status) == PromiseStatus.scheduled,
        col(Promise.due_notified_at).is_(None),
        col(Promise.due_at) <= now,
    )
    skip = failing.skip(now=now)
    if skip:
        due_ids = due_ids.where(col(Promise.id).not_in(skip))
    due_ids = due_ids.order_by(col(Promise.due_at), col(Promise.id)).limit(limit)
    claimed = session.execute(
        update(Promise)
        .where(col(Promise.id).in_(due_ids), col(Promise.due_notified_at).is_(None))
        .values(due_notified_at=now)
        .returning(
            col(Promise.id),
            col(Promise.lead_id),
            col(Promise.campaign_id),
            col(Promise.agent_id),
            col(Promise.due_at),
            col(Promise.window_end),
        )
        .execution_options(synchronize_session=False)
    ).all()
    rows: list[tuple[Any, ...]] = sorted(
        (tuple(row) for row in claimed), key=lambda row: (row[4], row[0])
    )
    # Alerts name the customer: one query for the batch's leads.
    names = names_of(session, lead_ids=[row[1] for row in rows])
    done = each_row(
        session,
        rows,
        lambda row: _announce(session, row, names=names, now=now),
        key=lambda row: int(row[0]),
        failing=failing,
        now=now,
    )
    if len(done) < len(rows):
        handled = {row[0] for row in done}
        session.execute(
            update(Promise)
            .where(col(Promise.id).in_([row[0] for row in rows if row[0] not in handled]))
            .values(due_notified_at=None)
            .execution_options(synchronize_session=False)
        )
    session.flush()
    return len(done)


def _announce(
    session: Session,
    row: tuple[Any, ...],
    *,
    names: dict[int, tuple[str | None, str | None]],
    now: datetime,
) -> None:
    promise_id, lead_id, campaign_id, agent_id, due_at, window_end = row
    lead_name, company = names.get(lead_id, (None, None))
    publish(
        session,
        kind="promise_due",
        at=now,
        agent_id=agent_id,
        campaign_id=campaign_id,
        promise_id=promise_id,
        lead_id=lead_id,
        lead_name=lead_name,
        company=company,
        due_at=due_at.isoformat(),
        window_end=window_end.isoformat(),
    )


def next_window_end(session: Session, *, skip: Collection[int] = ()) -> datetime | None:
    """`skip`: leads benched after failing (dialer.failing)."""
    # The condition lets the partial index on `reserved_until` answer.
    query = select(func.min(col(Lead.reserved_until))).where(col(Lead.reserved_until).is_not(None))
    if skip:
        query = query.where(col(Lead.id).not_in(skip))
    return session.scalar(query)


def close_windows(
    session: Session, *, now: datetime, failing: FailingRows, limit: int = 200
) -> int:
    """Windows that ended: an uncalled promise is `missed` (final, counted against
    its owner) and the lead follows `on_missed` — to anyone at the top of their
    queues, or kept by the owner. A follow-up nobody took lapses the same way.

    A bounded batch per run: a thousand windows ending in the same second must not
    hold up the next tick's `promise_due` announcements; the rest follow a tick later.
    A lead whose window fails to close (its campaign's policy unreadable, say) is
    benched; the others close."""
    query = select(Lead).where(col(Lead.reserved_until) <= now)
    skip = failing.skip(now=now)
    if skip:
        query = query.where(col(Lead.id).not_in(skip))
    query = (
        query.order_by(col(Lead.reserved_until), col(Lead.id))
        .limit(limit)
        # A second runner skips the leads this one is closing (PostgreSQL).
        .with_for_update(skip_locked=True)
    )
    leads = list(session.scalars(query))
    promise_ids = [lead.promise_id for lead in leads if lead.promise_id is not None]
    promises_by_id = {
        p.id: p for p in session.scalars(select(Promise).where(col(Promise.id).in_(promise_ids)))
    }
    on_missed_of: dict[int, str] = {}

    def close(lead: Lead) -> None:
        if lead.campaign_id not in on_missed_of:
            campaign = session.get(Campaign, lead.campaign_id)
            assert campaign is not None
            on_missed_of[lead.campaign_id] = policy_of(campaign).on_missed
        on_missed = on_missed_of[lead.campaign_id]
        promise = promises_by_id.get(lead.promise_id)
        _lapse(session, lead=lead, promise=promise, on_missed=on_missed, now=now)

    done = each_row(session, leads, close, key=_lead_id, failing=failing, now=now)
    session.flush()
    return len(done)


def _lead_id(lead: Lead) -> int:
    assert lead.id is not None
    return lead.id


def _lapse(
    session: Session, *, lead: Lead, promise: Promise | None, on_missed: str, now: datetime
) -> None:
    assert lead.id is not None
    lifecycle.lapse_reservation(lead=lead, reassign=on_missed == OnMissed.reassign, at=now)
    if promise is None or promise.status != PromiseStatus.scheduled:
        history.record(
            session,
            lead_id=lead.id,
            kind="promise_reservation_lapsed",
            actor="system",
            at=now,
            promise_id=lead.promise_id,
            on_missed=on_missed,
        )
        return
    promise.status = PromiseStatus.missed
    promise.closed_at = now
    promise.closed_reason = "window ended with no call"
    promise.updated_at = now
    history.record(
        session,
        lead_id=lead.id,
        kind="promise_missed",
        actor="system",
        at=now,
        promise_id=promise.id,
        owner_agent_id=promise.agent_id,
        window_end=promise.window_end.isoformat(),
        on_missed=on_missed,
    )
    payload: dict[str, Any] = {
        "promise_id": promise.id,
        "lead_id": lead.id,
        "lead_name": lead.name,
        "company": lead.company,
        "due_at": promise.due_at.isoformat(),
        "window_end": promise.window_end.isoformat(),
        "on_missed": on_missed,
    }
    publish(
        session,
        kind="promise_missed",
        at=now,
        agent_id=promise.agent_id,
        campaign_id=promise.campaign_id,
        **payload,
    )
    if promise.agent_id is not None and on_missed == "reassign":
        # Everyone on the campaign may now take it: tell them, not only the owner.
        publish(
            session,
            kind="promise_due",
            at=now,
            agent_id=None,
            campaign_id=promise.campaign_id,
            reassigned=True,
            **payload,
        )
