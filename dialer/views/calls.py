"""A call as answers show it, and the calls a manager (or an agent, its own) lists:
by lead, agent, campaign and period, newest first.

A page is a range of one index in the order it is shown (by agent, by campaign,
or all calls, each with `created_at` and the id; a lead's few calls by lead), so
it costs the same whatever the period. The cursor is the last call of a full
page; the next page starts after its place in that order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select, tuple_
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.models import Agent, Role
from dialer.agents.service import get_agent
from dialer.calls.models import Call
from dialer.calls.schemas import CallList, CallOut
from dialer.campaign.service import get_campaign
from dialer.errors import Forbidden, Invalid
from dialer.reports.service import parse_bound
from dialer.views.leads import get_lead
from dialer.views.paging import next_cursor
from dialer.views.zones import zone_for
from dialer.wire import EARLIEST, LATEST, localized

# The longest period one list may span.
MAX_PERIOD = timedelta(days=366)


def call_view(call: Call) -> CallOut:
    return localized(CallOut.model_validate(call, from_attributes=True), zone_for(call))


@dataclass(frozen=True, slots=True)
class CallQuery:
    lead_id: int | None = None
    agent_id: int | None = None
    campaign_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive


def scoped_agent(principal: Agent, *, agent_id: int | None) -> int | None:
    """The agent whose calls are listed: any for a manager; an agent lists its own
    (the default for it), and asking for another's is refused."""
    if principal.role == Role.manager:
        return agent_id
    if agent_id is not None and agent_id != principal.id:
        raise Forbidden("agents may list only their own calls", code="not_your_resource")
    return principal.id


def call_query(
    session: Session,
    *,
    lead_id: int | None,
    agent_id: int | None,
    campaign_id: int | None,
    since: str | None,
    until: str | None,
) -> CallQuery:
    """The filters checked: every id names something (404), and the period is
    within years 2000–2100, `since` before `until`, at most MAX_PERIOD long (422).
    A date alone is that day in the campaign's time zone (the lead's campaign,
    else UTC); `until` includes its day."""
    tz = ZoneInfo("UTC")
    if lead_id is not None:
        lead = get_lead(session, lead_id=lead_id)
        tz = ZoneInfo(get_campaign(session, campaign_id=lead.campaign_id).timezone)
    if campaign_id is not None:
        tz = ZoneInfo(get_campaign(session, campaign_id=campaign_id).timezone)
    if agent_id is not None:
        get_agent(session, agent_id=agent_id)
    start = parse_bound(since, tz=tz, field="since", end=False)
    end = parse_bound(until, tz=tz, field="until", end=True)
    for field, bound in (("since", start), ("until", end)):
        if bound is not None and not EARLIEST <= bound <= LATEST:
            raise Invalid(f"{field} must be within the years 2000–2100", field=field)
    if start is not None and end is not None:
        if end <= start:
            raise Invalid("until must be after since", field="until")
        if end - start > MAX_PERIOD:
            raise Invalid(
                f"a period of at most {MAX_PERIOD.days} days may be listed at once",
                code="period_too_long",
                field="until",
            )
    return CallQuery(
        lead_id=lead_id, agent_id=agent_id, campaign_id=campaign_id, since=start, until=end
    )


def calls_statement(
    query: CallQuery, *, limit: int, after: tuple[datetime, int] | None
) -> Select[Any]:
    statement = select(Call)
    for column, value in (
        (Call.lead_id, query.lead_id),
        (Call.agent_id, query.agent_id),
        (Call.campaign_id, query.campaign_id),
    ):
        if value is not None:
            statement = statement.where(col(column) == value)
    if query.since is not None:
        statement = statement.where(col(Call.created_at) >= query.since)
    if query.until is not None:
        statement = statement.where(col(Call.created_at) < query.until)
    if after is not None:
        statement = statement.where(tuple_(col(Call.created_at), col(Call.id)) < after)
    return statement.order_by(col(Call.created_at).desc(), col(Call.id).desc()).limit(limit)


def call_page(session: Session, *, query: CallQuery, limit: int, after_id: int | None) -> CallList:
    after = None
    if after_id is not None:
        last = session.get(Call, after_id)
        if last is None:
            raise Invalid(
                f"cursor {str(after_id)!r} is not one this server gave",
                code="bad_cursor",
                field="cursor",
            )
        assert last.id is not None
        after = (last.created_at, last.id)
    calls = list(session.scalars(calls_statement(query, limit=limit, after=after)))
    return CallList(
        items=[call_view(call) for call in calls], next_cursor=next_cursor(calls, limit=limit)
    )
