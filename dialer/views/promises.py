"""Promises as answers show them, and the lists of them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session
from sqlmodel import col

from dialer.leads.names import names_of
from dialer.promises.models import Promise, PromiseStatus
from dialer.promises.schemas import PromiseHolder, PromiseList, PromiseOut
from dialer.views.overlay import Overlay
from dialer.views.paging import next_cursor
from dialer.views.zones import zone_for
from dialer.wire import localized

Names = dict[int, tuple[str | None, str | None]]


def promise_view(promise: Promise, *, names: Names | None = None) -> PromiseOut:
    """`names`: the leads' names and companies of a page, read at once
    (`leads.names.names_of`); without them the promise's lead is read."""
    # Not stored: a promise with an agent is that agent's; without, anyone's.
    owner = PromiseHolder.agent if promise.agent_id is not None else PromiseHolder.anyone
    if names is None:
        session = object_session(promise)
        assert session is not None, "render a promise inside its session"
        names = names_of(session, lead_ids=[promise.lead_id])
    lead_name, company = names.get(promise.lead_id, (None, None))
    out = PromiseOut.model_validate(
        Overlay(promise, owner=owner, lead_name=lead_name, company=company),
        from_attributes=True,
    )
    return localized(out, zone_for(promise))


def find_promises(
    session: Session,
    *,
    agent_id: int | None = None,
    campaign_id: int | None = None,
    lead_id: int | None = None,
    status: PromiseStatus | None = None,
    limit: int = 500,
    after_id: int | None = None,
) -> list[Promise]:
    """In id order. An agent's are those they own and those they booked for anyone."""
    query = select(Promise).order_by(col(Promise.id)).limit(limit)
    if agent_id is not None:
        query = query.where(
            (col(Promise.agent_id) == agent_id) | (col(Promise.booked_by_agent_id) == agent_id)
        )
    if campaign_id is not None:
        query = query.where(col(Promise.campaign_id) == campaign_id)
    if lead_id is not None:
        query = query.where(col(Promise.lead_id) == lead_id)
    if status is not None:
        query = query.where(col(Promise.status) == status)
    if after_id is not None:
        query = query.where(col(Promise.id) > after_id)
    return list(session.scalars(query))


def promise_page(
    session: Session,
    *,
    agent_id: int | None = None,
    campaign_id: int | None = None,
    status: PromiseStatus | None = None,
    limit: int,
    after_id: int | None,
) -> PromiseList:
    found = find_promises(
        session,
        agent_id=agent_id,
        campaign_id=campaign_id,
        status=status,
        limit=limit,
        after_id=after_id,
    )
    names = names_of(session, lead_ids=[p.lead_id for p in found])
    return PromiseList(
        items=[promise_view(p, names=names) for p in found],
        next_cursor=next_cursor(found, limit=limit),
    )
