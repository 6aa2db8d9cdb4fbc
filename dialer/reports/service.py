"""Reports for managers: per-agent figures, each traceable to the rows it counts.

Every figure is one SQL aggregate over the period, so a report costs the same for
a day as for a year. Periods are given as local dates of the campaign (a floor in
Tokyo reads "1 December" as Tokyo's day) or as instants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, aliased
from sqlmodel import col

from dialer.agents.models import Agent, AgentCampaign, Role
from dialer.calls.models import AnsweredBy, Call
from dialer.campaign.service import get_campaign
from dialer.conversions.models import Channel, Conversion, ConversionStatus
from dialer.errors import BadInput
from dialer.promises.models import Promise, PromiseStatus


@dataclass(frozen=True, slots=True)
class Period:
    since: datetime | None
    until: datetime | None  # exclusive

    def where(self, column: Any) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.since is not None:
            clauses.append(column >= self.since)
        if self.until is not None:
            clauses.append(column < self.until)
        return clauses


def parse_bound(value: str | None, *, tz: ZoneInfo, field: str, end: bool) -> datetime | None:
    """A local date (`until` includes the whole day) or an instant with an offset."""
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            if end:
                day += timedelta(days=1)
            return datetime.combine(day, time(0), tz).astimezone(UTC)
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(
            f"{field}: {value!r} is neither a date (2026-12-01) nor an instant with an offset",
            field=field,
        ) from None
    if instant.tzinfo is None:
        raise BadInput(f"{field}: an instant needs an offset, e.g. +09:00", field=field)
    return instant.astimezone(UTC)


def period_for(
    session: Session, *, campaign_id: int | None, since: str | None, until: str | None
) -> Period:
    tz = ZoneInfo("UTC")
    if campaign_id is not None:
        tz = ZoneInfo(get_campaign(session, campaign_id=campaign_id).timezone)
    period = Period(
        since=parse_bound(since, tz=tz, field="since", end=False),
        until=parse_bound(until, tz=tz, field="until", end=True),
    )
    if period.since and period.until and period.until <= period.since:
        raise BadInput("until must be after since", field="until")
    return period


def _per_agent(session: Session, query: Any) -> dict[int, int]:
    return {agent_id: int(n or 0) for agent_id, n in session.execute(query) if agent_id is not None}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def agents_report(
    session: Session, *, campaign_id: int | None, period: Period
) -> list[dict[str, Any]]:
    agents_query = select(Agent).where(col(Agent.role) == Role.agent).order_by(col(Agent.id))
    if campaign_id is not None:
        agents_query = agents_query.where(
            col(Agent.id).in_(
                select(col(AgentCampaign.agent_id)).where(
                    col(AgentCampaign.campaign_id) == campaign_id
                )
            )
        )
    agents = list(session.scalars(agents_query))

    def scoped(query: Any, campaign_column: Any) -> Any:
        return query if campaign_id is None else query.where(campaign_column == campaign_id)

    call_rows = scoped(
        select(
            col(Call.agent_id),
            func.count(),
            func.count().filter(col(Call.answered_by) == AnsweredBy.human),
            func.coalesce(
                func.sum(col(Call.duration)).filter(col(Call.answered_by) == AnsweredBy.human), 0
            ),
        )
        .where(*period.where(col(Call.created_at)))
        .group_by(col(Call.agent_id)),
        col(Call.campaign_id),
    )
    calls: dict[int, tuple[int, int, int]] = {
        agent_id: (int(n), int(contacts), int(talk))
        for agent_id, n, contacts, talk in session.execute(call_rows)
        if agent_id is not None
    }

    def conversions(*where: Any) -> dict[int, int]:
        return _per_agent(
            session,
            scoped(
                select(col(Conversion.agent_id), func.count())
                .where(*period.where(col(Conversion.occurred_at)), *where)
                .group_by(col(Conversion.agent_id)),
                col(Conversion.campaign_id),
            ),
        )

    active = col(Conversion.status) == ConversionStatus.active
    phone = conversions(active, col(Conversion.channel) == Channel.phone)
    external = conversions(active, col(Conversion.channel) != Channel.phone)
    cancelled = conversions(col(Conversion.status) == ConversionStatus.cancelled)

    made = _per_agent(
        session,
        scoped(
            select(col(Promise.booked_by_agent_id), func.count())
            # Moving a promise to another time is the same promise to the customer.
            .where(
                col(Promise.status) != PromiseStatus.rescheduled,
                *period.where(col(Promise.created_at)),
            )
            .group_by(col(Promise.booked_by_agent_id)),
            col(Promise.campaign_id),
        ),
    )
    # Kept counts for the owner, or for whoever kept a promise made for anyone;
    # missed counts against the owner. Both by the promise's due time.
    kept_call = aliased(Call)
    keeper = func.coalesce(col(Promise.agent_id), col(kept_call.agent_id))
    kept = _per_agent(
        session,
        scoped(
            select(keeper, func.count())
            .select_from(Promise)
            .outerjoin(kept_call, col(kept_call.id) == col(Promise.kept_call_id))
            .where(col(Promise.status) == PromiseStatus.kept, *period.where(col(Promise.due_at)))
            .group_by(keeper),
            col(Promise.campaign_id),
        ),
    )
    missed = _per_agent(
        session,
        scoped(
            select(col(Promise.agent_id), func.count())
            .where(col(Promise.status) == PromiseStatus.missed, *period.where(col(Promise.due_at)))
            .group_by(col(Promise.agent_id)),
            col(Promise.campaign_id),
        ),
    )

    rows = []
    for agent in agents:
        assert agent.id is not None
        n_calls, contacts, talk = calls.get(agent.id, (0, 0, 0))
        total = phone.get(agent.id, 0) + external.get(agent.id, 0)
        kept_n, missed_n = kept.get(agent.id, 0), missed.get(agent.id, 0)
        rows.append(
            {
                "agent_id": agent.id,
                "name": agent.name,
                "calls": n_calls,
                "contacts": contacts,
                "talk_seconds": talk,
                "conversions": {
                    "total": total,
                    "phone": phone.get(agent.id, 0),
                    "external": external.get(agent.id, 0),
                    "cancelled": cancelled.get(agent.id, 0),
                },
                "conversion_rate": _rate(total, contacts),
                "promises": {
                    "made": made.get(agent.id, 0),
                    "kept": kept_n,
                    "missed": missed_n,
                    "kept_rate": _rate(kept_n, kept_n + missed_n),
                },
            }
        )
    return rows
