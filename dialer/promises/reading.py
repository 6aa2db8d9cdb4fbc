"""Promises as listed and shown."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.promises.models import Promise, PromiseStatus


def promise_out(promise: Promise) -> dict[str, Any]:
    return {
        "id": promise.id,
        "lead_id": promise.lead_id,
        "campaign_id": promise.campaign_id,
        "agent_id": promise.agent_id,
        "owner": "agent" if promise.agent_id is not None else "anyone",
        "booked_by": promise.booked_by,
        "made_by": promise.made_by,
        "kind": promise.kind,
        "note": promise.note,
        "due_at": promise.due_at,
        "window_end": promise.window_end,
        "slot_start": promise.slot_start,
        "status": promise.status,
        "call_id": promise.call_id,
        "kept_call_id": promise.kept_call_id,
        "followups": promise.followups,
        "replaced_by_id": promise.replaced_by_id,
        "closed_at": promise.closed_at,
        "closed_reason": promise.closed_reason,
        "created_at": promise.created_at,
    }


def list_promises(
    session: Session,
    *,
    agent_id: int | None = None,
    campaign_id: int | None = None,
    lead_id: int | None = None,
    status: PromiseStatus | None = None,
    limit: int = 500,
    after_id: int | None = None,
) -> list[Promise]:
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
