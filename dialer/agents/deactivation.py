"""Deactivating an account, a flow across domains: the account stops working
and its claim is released (`agents.service`), then its promises are handed
over by each campaign's `on_missed` rule (`promises.handover`). One
transaction: a refusal at any step (the last manager, a call in progress, an
heir not on a campaign) changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from dialer.agents import service
from dialer.agents.models import Agent, Role
from dialer.errors import Invalid
from dialer.promises.handover import HandedOver, hand_over


@dataclass(frozen=True, slots=True)
class Deactivation:
    agent: Agent
    released_lead_id: int | None
    handed_over: list[HandedOver]


def _check_heir(session: Session, *, agent_id: int, heir_id: int) -> None:
    if heir_id == agent_id:
        raise Invalid(
            "promises_to: the agent being deactivated cannot take its own promises",
            field="promises_to",
        )
    heir = session.get(Agent, heir_id)
    if heir is None or heir.role != Role.agent:
        raise Invalid(
            f"promises_to: agent {heir_id} does not exist",
            code="agent_not_found",
            field="promises_to",
        )
    if not heir.active:
        raise Invalid(
            f"promises_to: agent {heir_id} is deactivated",
            code="account_deactivated",
            field="promises_to",
        )


def deactivate(
    session: Session,
    *,
    agent_id: int,
    promises_to: int | None,
    actor: str,
    now: datetime,
    bootstrap_token: str | None,
) -> Deactivation:
    account = service.get_account(session, agent_id=agent_id, lock=True)
    if promises_to is not None:
        _check_heir(session, agent_id=agent_id, heir_id=promises_to)
    if not account.active:
        # Done already (a retried request): its promises went at the time.
        return Deactivation(agent=account, released_lead_id=None, handed_over=[])
    released = service.deactivate(
        session, agent_id=agent_id, actor=actor, now=now, bootstrap_token=bootstrap_token
    )
    handed = hand_over(
        session,
        from_agent_id=agent_id,
        to_agent_id=promises_to,
        to_field="promises_to",
        actor=actor,
        now=now,
        why="agent_deactivated",
    )
    return Deactivation(agent=account, released_lead_id=released, handed_over=handed)
