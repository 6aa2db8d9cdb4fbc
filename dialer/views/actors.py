"""Who did it, in words: the account names behind history actors (`manager:1`,
`agent:7`), read once for a page."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.models import Agent


def account_id_of(actor: str) -> int | None:
    """The account an actor names (`agent:7` → 7); None for `system`, a provider."""
    role, _, number = actor.partition(":")
    if role not in ("agent", "manager") or not (number.isascii() and number.isdigit()):
        return None
    value = int(number)
    return value if 0 < value < 2**63 else None


def actor_names(session: Session, actors: Iterable[str]) -> dict[str, str]:
    """Actor → account name, for the actors that name an account still on file."""
    ids = {a: i for a in set(actors) if (i := account_id_of(a)) is not None}
    if not ids:
        return {}
    rows = session.execute(
        select(col(Agent.id), col(Agent.name)).where(col(Agent.id).in_(set(ids.values())))
    )
    names = {agent_id: name for agent_id, name in rows}
    return {actor: names[i] for actor, i in ids.items() if i in names}
