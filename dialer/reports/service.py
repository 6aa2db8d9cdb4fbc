"""Reports for managers: per-agent figures, each traceable to the rows it counts.

Every figure is one SQL aggregate over the period, so a report costs the same for
a day as for a year. Periods are given as local dates of the campaign (a floor in
Tokyo reads "1 December" as Tokyo's day) or as instants."""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Integer, func, select
from sqlalchemy.orm import Session, aliased
from sqlmodel import col

from dialer.agents.models import Agent, AgentCampaign, Role
from dialer.agents.service import campaign_ids_of
from dialer.calls.abandon import AbandonStanding, abandon_standing
from dialer.calls.best_hour import learned_rates
from dialer.calls.hour_stats import answer_stats
from dialer.calls.models import Call, contact_clause
from dialer.campaign.service import get_campaign
from dialer.conversions.models import Channel, Conversion, ConversionStatus, CreditEntry, CreditKind
from dialer.db import is_postgres
from dialer.errors import BadInput
from dialer.leads.models import Lead, LeadStatus
from dialer.promises.models import Promise, PromiseStatus
from dialer.reports.rules import BUCKET_SECONDS, local_hours, median_days, rate
from dialer.reports.schemas import AbandonStandingOut
from dialer.wire import EARLIEST, LATEST, in_range, local_day, localized, wall_time_in


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
    """A local date of the campaign (`since` from its first instant, `until`
    through its last), an instant with an offset, or a wall time of the campaign
    without one. Shown back in the campaign's zone."""
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            if not EARLIEST.year <= day.year < LATEST.year:
                raise BadInput(f"{field}: {value!r} is not within the years 2000–2100", field=field)
            start, stop = local_day(day, tz)
            return (stop if end else start).astimezone(tz)
        instant = wall_time_in(datetime.fromisoformat(value), tz, field=field)
    except (ValueError, OverflowError):
        raise BadInput(
            f"{field}: {value!r} is neither a date (2026-12-01) nor an instant (2026-12-01T09:00)",
            field=field,
        ) from None
    return _within_range(instant, value=value, field=field, tz=tz)


def _within_range(instant: datetime, *, value: str, field: str, tz: ZoneInfo) -> datetime:
    """Report ranges lie within the years 2000–2100: a bound past them would only
    overflow on its way (a day's end after 9999-12-31) or match nothing."""
    if not in_range(instant):
        raise BadInput(f"{field}: {value!r} is not within the years 2000–2100", field=field)
    return instant.astimezone(tz)


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


def agents_report(
    session: Session, *, campaign_id: int | None, period: Period, agent_id: int | None = None
) -> list[dict[str, Any]]:
    """One row per agent (of the campaign, when given; only `agent_id`'s, when given)."""
    agents_query = select(Agent).where(col(Agent.role) == Role.agent).order_by(col(Agent.id))
    if agent_id is not None:
        agents_query = agents_query.where(col(Agent.id) == agent_id)
    if campaign_id is not None:
        agents_query = agents_query.where(
            col(Agent.id).in_(
                select(col(AgentCampaign.agent_id)).where(
                    col(AgentCampaign.campaign_id) == campaign_id
                )
            )
        )
    agents = list(session.scalars(agents_query))

    def scoped(query: Any, campaign_column: Any, agent_column: Any) -> Any:
        if campaign_id is not None:
            query = query.where(campaign_column == campaign_id)
        if agent_id is not None:
            query = query.where(agent_column == agent_id)
        return query

    call_rows = scoped(
        select(
            col(Call.agent_id),
            func.count(),
            func.count().filter(contact_clause()),
            func.coalesce(func.sum(col(Call.duration)).filter(contact_clause()), 0),
        )
        .where(*period.where(col(Call.created_at)))
        .group_by(col(Call.agent_id)),
        col(Call.campaign_id),
        col(Call.agent_id),
    )
    calls: dict[int, tuple[int, int, int]] = {
        agent_id: (int(n), int(contacts), int(talk))
        for agent_id, n, contacts, talk in session.execute(call_rows)
        if agent_id is not None
    }

    # Conversions from the credit ledger: net of reversals, by the sign-up's time.
    def ledger(*where: Any, total: Any = None) -> dict[int, int]:
        return _per_agent(
            session,
            scoped(
                select(
                    col(CreditEntry.agent_id),
                    total if total is not None else func.sum(col(CreditEntry.amount)),
                )
                .where(*period.where(col(CreditEntry.occurred_at)), *where)
                .group_by(col(CreditEntry.agent_id)),
                col(CreditEntry.campaign_id),
                col(CreditEntry.agent_id),
            ),
        )

    phone = ledger(col(CreditEntry.channel) == Channel.phone)
    external = ledger(col(CreditEntry.channel) != Channel.phone)
    cancelled = ledger(col(CreditEntry.kind) == CreditKind.reversal, total=func.count())

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
            col(Promise.booked_by_agent_id),
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
            keeper,
        ),
    )
    missed = _per_agent(
        session,
        scoped(
            select(col(Promise.agent_id), func.count())
            .where(col(Promise.status) == PromiseStatus.missed, *period.where(col(Promise.due_at)))
            .group_by(col(Promise.agent_id)),
            col(Promise.campaign_id),
            col(Promise.agent_id),
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
                "conversion_rate": rate(total, contacts),
                "promises": {
                    "made": made.get(agent.id, 0),
                    "kept": kept_n,
                    "missed": missed_n,
                    "kept_rate": rate(kept_n, kept_n + missed_n),
                },
            }
        )
    return rows


_FIGURES = ("calls", "contacts", "talk_seconds")


def agent_day(
    session: Session, *, agent_id: int, name: str, now: datetime, day: date | None
) -> dict[str, Any]:
    """An agent's own figures for one day (today unless `day`) in each of its
    campaigns, the day being that campaign's local day, and their sum: the same
    counting as `agents_report`, scoped to the agent."""
    campaigns: list[dict[str, Any]] = []
    for campaign_id in campaign_ids_of(session, agent_id=agent_id):
        campaign = get_campaign(session, campaign_id=campaign_id)
        tz = ZoneInfo(campaign.timezone)
        local = day if day is not None else now.astimezone(tz).date()
        since, until = local_day(local, tz)
        period = Period(since=since, until=until)
        rows = agents_report(session, campaign_id=campaign_id, period=period, agent_id=agent_id)
        figures = {k: v for k, v in rows[0].items() if k not in ("agent_id", "name")}
        campaigns.append(
            {
                "campaign_id": campaign_id,
                "campaign_name": campaign.name,
                "timezone": campaign.timezone,
                "date": local,
                # The agent's day as the campaign's floor lives it (docs/ARCHITECTURE.md).
                "since": since.astimezone(tz),
                "until": until.astimezone(tz),
                **figures,
            }
        )
    return {"agent_id": agent_id, "name": name, "campaigns": campaigns, "total": _sum(campaigns)}


def _sum(rows: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {k: sum(r[k] for r in rows) for k in _FIGURES}
    total["conversions"] = {
        k: sum(r["conversions"][k] for r in rows)
        for k in ("total", "phone", "external", "cancelled")
    }
    promises = {k: sum(r["promises"][k] for r in rows) for k in ("made", "kept", "missed")}
    promises["kept_rate"] = rate(promises["kept"], promises["kept"] + promises["missed"])
    total["promises"] = promises
    total["conversion_rate"] = rate(total["conversions"]["total"], total["contacts"])
    return total


def bucket_of(session: Session, column: Any) -> Any:
    """The 15-minute bucket number of an instant column (`rules.BUCKET_SECONDS`)."""
    if is_postgres(session):
        return func.floor(func.extract("epoch", column) / BUCKET_SECONDS)
    # `//`: SQLAlchemy renders `/` as true division, which would group by the second.
    return func.cast(func.strftime("%s", column), Integer) // BUCKET_SECONDS


def hour_buckets(
    session: Session, *, campaign_id: int, period: Period
) -> list[tuple[int, int, int]]:
    """`(slot, calls, answered by a person)` per 15-minute bucket of created_at."""
    bucket = bucket_of(session, col(Call.created_at))
    return [
        (int(slot), int(n), int(answered))
        for slot, n, answered in session.execute(
            select(bucket, func.count(), func.count().filter(contact_clause()))
            .where(col(Call.campaign_id) == campaign_id, *period.where(col(Call.created_at)))
            .group_by(bucket)
        )
    ]


def channel_counts(
    session: Session, *, campaign_id: int, period: Period
) -> dict[str, dict[str, int]]:
    """Per channel, conversions that occurred in the period: gross (every
    sign-up but duplicates), cancelled (cooling-off), net (gross − cancelled), and
    the duplicates apart."""
    out: dict[str, dict[str, int]] = {}
    for channel, status, n in session.execute(
        select(col(Conversion.channel), col(Conversion.status), func.count())
        .where(
            col(Conversion.campaign_id) == campaign_id, *period.where(col(Conversion.occurred_at))
        )
        .group_by(col(Conversion.channel), col(Conversion.status))
    ):
        row = out.setdefault(channel, {"gross": 0, "net": 0, "cancelled": 0, "duplicate": 0})
        if status == ConversionStatus.duplicate:
            row["duplicate"] += int(n)
            continue
        row["gross"] += int(n)
        row["cancelled" if status == ConversionStatus.cancelled else "net"] += int(n)
    return out


def campaign_report(
    session: Session, *, campaign_id: int, period: Period, now: datetime
) -> dict[str, Any]:
    """The period's figures, and two of now: the abandon standing over the
    campaign's abandon window, and the answer rates by local hour the best-hour
    retry timing has learned (its last 30 days)."""
    campaign = get_campaign(session, campaign_id=campaign_id)
    tz = ZoneInfo(campaign.timezone)
    funnel = {
        status: int(n)
        for status, n in session.execute(
            select(col(Lead.status), func.count())
            .where(col(Lead.campaign_id) == campaign_id, col(Lead.status) != LeadStatus.importing)
            .group_by(col(Lead.status))
        )
    }
    in_campaign = col(Call.campaign_id) == campaign_id
    call_period = period.where(col(Call.created_at))
    calls_by_status = {
        status: int(n)
        for status, n in session.execute(
            select(col(Call.status), func.count())
            .where(in_campaign, *call_period)
            .group_by(col(Call.status))
        )
    }
    promises_by_status = {
        status: int(n)
        for status, n in session.execute(
            select(col(Promise.status), func.count())
            .where(col(Promise.campaign_id) == campaign_id, *period.where(col(Promise.due_at)))
            .group_by(col(Promise.status))
        )
    }
    conversions = channel_counts(session, campaign_id=campaign_id, period=period)
    # The hours with calls, of the same local hours the hours report counts.
    hours = local_hours(hour_buckets(session, campaign_id=campaign_id, period=period), tz=tz)
    return {
        "campaign_id": campaign_id,
        "timezone": campaign.timezone,
        "since": period.since,
        "until": period.until,
        "leads_by_status": funnel,
        "calls_by_status": calls_by_status,
        "promises_by_status": promises_by_status,
        "conversions_by_channel": conversions,
        "answer_rate_by_hour": [hour for hour in hours if hour["calls"]],
        "median_days_to_conversion": median_days_to_conversion(
            session, campaign_id=campaign_id, period=period
        ),
        "abandon": localized(
            standing_out(abandon_standing(session, campaign=campaign, now=now)), tz
        ),
        "hour_rates": [
            {
                "hour": r.hour,
                "attempts": r.attempts,
                "answered": r.answered,
                "rate": r.rate,
                "estimate": r.estimate,
            }
            for r in learned_rates(answer_stats(session, campaign_id=campaign_id, now=now))
        ],
    }


def standing_out(standing: AbandonStanding) -> AbandonStandingOut:
    """The wire shape of an abandon standing (the campaign report's `abandon`,
    the floor's `abandon_window`)."""
    return AbandonStandingOut(
        abandoned=standing.abandoned,
        answered=standing.answered,
        rate=standing.rate,
        max_rate=standing.max_rate,
        window_days=standing.window_days,
        since_at=standing.since_at,
        over=standing.over,
    )


def median_days_to_conversion(
    session: Session, *, campaign_id: int, period: Period
) -> float | None:
    """From a lead's first call to its counted (active) conversion, for conversions
    in the period: how long persuasion takes, postcards included. The first call
    is looked up per conversion (`ix_call_lead`), so the cost follows the
    conversions of the period, not the campaign's calls."""
    first_at = (
        select(func.min(col(Call.created_at)))
        .where(col(Call.lead_id) == col(Conversion.lead_id))
        .correlate(Conversion)
        .scalar_subquery()
    )
    rows = session.execute(
        select(first_at, col(Conversion.occurred_at)).where(
            col(Conversion.campaign_id) == campaign_id,
            col(Conversion.status) == ConversionStatus.active,
            col(Conversion.lead_id).is_not(None),
            *period.where(col(Conversion.occurred_at)),
        )
    ).all()
    return median_days((first, occurred) for first, occurred in rows if first is not None)


def _safe_cell(value: Any) -> str:
    """Excel runs a cell starting with = + - @ as a formula: prefix it with '."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(rows: list[list[Any]]) -> bytes:
    """UTF-8 with BOM, so Excel opens Japanese names right; formulas defused."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_safe_cell(v) for v in row])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


AGENT_CSV_HEADER = [
    "agent_id", "name", "calls", "contacts", "talk_seconds", "conversions_total",
    "conversions_phone", "conversions_external", "conversions_cancelled", "conversion_rate",
    "promises_made", "promises_kept", "promises_missed", "kept_rate",
]  # fmt: skip


def agents_csv(rows: list[dict[str, Any]]) -> bytes:
    return to_csv(
        [AGENT_CSV_HEADER]
        + [
            [
                r["agent_id"],
                r["name"],
                r["calls"],
                r["contacts"],
                r["talk_seconds"],
                r["conversions"]["total"],
                r["conversions"]["phone"],
                r["conversions"]["external"],
                r["conversions"]["cancelled"],
                r["conversion_rate"],
                r["promises"]["made"],
                r["promises"]["kept"],
                r["promises"]["missed"],
                r["promises"]["kept_rate"],
            ]
            for r in rows
        ]
    )


def campaign_csv(report: dict[str, Any]) -> bytes:
    """The campaign report as `section, key, value` rows: one sheet, every figure."""
    rows: list[list[Any]] = [["section", "key", "value"]]
    for section in ("leads_by_status", "calls_by_status", "promises_by_status"):
        rows += [[section, k, v] for k, v in sorted(report[section].items())]
    for channel, counts in sorted(report["conversions_by_channel"].items()):
        rows += [["conversions_by_channel", f"{channel}.{k}", v] for k, v in counts.items()]
    for hour in report["answer_rate_by_hour"]:
        for key in ("calls", "answered", "answer_rate"):
            rows.append(["answer_rate_by_hour", f"{hour['hour']:02d}.{key}", hour[key]])
    rows.append(["median_days_to_conversion", "", report["median_days_to_conversion"]])
    abandon = report["abandon"]
    abandon = abandon.model_dump(mode="json") if isinstance(abandon, BaseModel) else abandon
    rows += [["abandon", key, value] for key, value in abandon.items()]
    for r in report["hour_rates"]:
        for key in ("attempts", "answered", "rate", "estimate"):
            rows.append(["hour_rates", f"{r['hour']:02d}.{key}", r[key]])
    return to_csv(rows)
