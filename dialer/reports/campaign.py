"""A campaign's reports for the manager console: the funnel, promises kept per
agent with a daily trend, conversions by channel, answers by local hour.

Each figure is one aggregate over an index of the campaign's rows in the period
(calls by `ix_call_campaign_created`, conversions by
`ix_conversion_campaign_occurred`, leads by `ix_lead_queue_new`), grouped in SQL;
only the grouped counts reach Python, where `dialer.reports.rules` names local
hours and days. docs/API.md "Reports (manager)" defines every count."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session, aliased
from sqlmodel import col

from dialer.agents.models import Agent, AgentCampaign, Role
from dialer.calls.models import Call, contact_clause
from dialer.campaign.service import get_campaign
from dialer.conversions.models import Channel, Conversion, ConversionStatus
from dialer.errors import BadInput
from dialer.leads.models import Lead, LeadStatus
from dialer.promises.models import Promise, PromiseStatus
from dialer.reports import rules
from dialer.reports.service import (
    Period,
    bucket_of,
    channel_counts,
    hour_buckets,
    median_days_to_conversion,
    to_csv,
)

STAGES = ("leads", "dialled", "contacted", "converted")


def _head(campaign_id: int, period: Period) -> dict[str, Any]:
    return {"campaign_id": campaign_id, "since": period.since, "until": period.until}


def funnel(session: Session, *, campaign_id: int, period: Period) -> dict[str, Any]:
    """leads (the list now) → dialled → contacted → converted (distinct leads in
    the period); each rate is the share of `leads`."""
    get_campaign(session, campaign_id=campaign_id)
    leads = session.scalar(
        select(func.count())
        .select_from(Lead)
        .where(col(Lead.campaign_id) == campaign_id, col(Lead.status) != LeadStatus.importing)
    )
    dialled, contacted = session.execute(
        select(
            func.count(distinct(col(Call.lead_id))),
            func.count(distinct(col(Call.lead_id))).filter(contact_clause()),
        ).where(col(Call.campaign_id) == campaign_id, *period.where(col(Call.created_at)))
    ).one()
    converted = session.scalar(
        select(func.count(distinct(col(Conversion.lead_id)))).where(
            col(Conversion.campaign_id) == campaign_id,
            col(Conversion.status) == ConversionStatus.active,
            col(Conversion.lead_id).is_not(None),
            *period.where(col(Conversion.occurred_at)),
        )
    )
    counts = dict(
        zip(STAGES, (int(n or 0) for n in (leads, dialled, contacted, converted)), strict=True)
    )
    return {
        **_head(campaign_id, period),
        "stages": [
            {"stage": s, "count": n, "rate": rules.rate(n, counts["leads"])}
            for s, n in counts.items()
        ],
        "median_days_to_conversion": median_days_to_conversion(
            session, campaign_id=campaign_id, period=period
        ),
    }


def _campaign_agents(session: Session, campaign_id: int) -> list[Agent]:
    """The leaderboard's agents: role agent, assigned to the campaign, by id."""
    return list(
        session.scalars(
            select(Agent)
            .where(
                col(Agent.role) == Role.agent,
                col(Agent.id).in_(
                    select(col(AgentCampaign.agent_id)).where(
                        col(AgentCampaign.campaign_id) == campaign_id
                    )
                ),
            )
            .order_by(col(Agent.id))
        )
    )


def promises(session: Session, *, campaign_id: int, period: Period) -> dict[str, Any]:
    """Per agent: promises made (booked in the period), kept and missed (due in
    the period), and the same kept/missed per local day of the due time."""
    campaign = get_campaign(session, campaign_id=campaign_id)
    tz = ZoneInfo(campaign.timezone)
    agents = _campaign_agents(session, campaign_id)
    in_campaign = col(Promise.campaign_id) == campaign_id
    made = {
        agent_id: int(n)
        for agent_id, n in session.execute(
            select(col(Promise.booked_by_agent_id), func.count())
            # Moving a promise to another time is the same promise to the customer.
            .where(
                in_campaign,
                col(Promise.status) != PromiseStatus.rescheduled,
                *period.where(col(Promise.created_at)),
            )
            .group_by(col(Promise.booked_by_agent_id))
        )
        if agent_id is not None
    }
    # As /api/reports/agents counts them: kept for the owner, or for whoever kept
    # a promise made for anyone; missed against the owner; both by due time.
    kept_call = aliased(Call)
    keeper = func.coalesce(col(Promise.agent_id), col(kept_call.agent_id))
    due = bucket_of(session, col(Promise.due_at))
    per_day: dict[tuple[int, Any], list[int]] = defaultdict(lambda: [0, 0])
    for which, query in (
        (
            0,
            select(keeper, due, func.count())
            .select_from(Promise)
            .outerjoin(kept_call, col(kept_call.id) == col(Promise.kept_call_id))
            .where(in_campaign, col(Promise.status) == PromiseStatus.kept)
            .group_by(keeper, due),
        ),
        (
            1,
            select(col(Promise.agent_id), due, func.count())
            .where(in_campaign, col(Promise.status) == PromiseStatus.missed)
            .group_by(col(Promise.agent_id), due),
        ),
    ):
        for agent_id, slot, n in session.execute(query.where(*period.where(col(Promise.due_at)))):
            if agent_id is not None:
                per_day[(int(agent_id), rules.day_of(int(slot), tz=tz))][which] += int(n)
    try:
        days = rules.trend_days(
            since=period.since, until=period.until, seen=(d for _, d in per_day), tz=tz
        )
    except ValueError as e:
        field = str(e)
        raise BadInput(
            f"{field}: a daily trend covers at most {rules.MAX_TREND_DAYS} days; "
            "give since and until closer together",
            field=field,
        ) from None
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for (agent_id, _), (k, m) in per_day.items():
        totals[agent_id][0] += k
        totals[agent_id][1] += m
    rows = []
    for agent in agents:
        me = agent.id
        assert me is not None
        trend = []
        for day in days:
            k, m = per_day.get((me, day), (0, 0))
            trend.append({"date": day, "kept": k, "missed": m, "kept_rate": rules.rate(k, k + m)})
        kept_n, missed_n = totals.get(me, (0, 0))
        rows.append(
            {
                "agent_id": me,
                "name": agent.name,
                "made": made.get(me, 0),
                "kept": kept_n,
                "missed": missed_n,
                "kept_rate": rules.rate(kept_n, kept_n + missed_n),
                "trend": trend,
            }
        )
    return {**_head(campaign_id, period), "days": days, "agents": rows}


def conversions(session: Session, *, campaign_id: int, period: Period) -> dict[str, Any]:
    """Every channel (the four known ones always, in their order), and the total."""
    get_campaign(session, campaign_id=campaign_id)
    found = channel_counts(session, campaign_id=campaign_id, period=period)
    names = [c.value for c in Channel] + sorted(set(found) - {c.value for c in Channel})
    figures = ("gross", "cancelled", "net")
    counts = {name: {k: found.get(name, {}).get(k, 0) for k in figures} for name in names}
    total = {k: sum(c[k] for c in counts.values()) for k in figures}
    channels = [{"channel": name, **c} for name, c in counts.items()]
    return {**_head(campaign_id, period), "channels": channels, "total": total}


def hours(session: Session, *, campaign_id: int, period: Period) -> dict[str, Any]:
    """Calls placed and answered by a person per local hour of the campaign's zone."""
    campaign = get_campaign(session, campaign_id=campaign_id)
    tz = ZoneInfo(campaign.timezone)
    buckets = hour_buckets(session, campaign_id=campaign_id, period=period)
    return {
        **_head(campaign_id, period),
        "timezone": campaign.timezone,
        "hours": rules.local_hours(buckets, tz=tz),
    }


def funnel_csv(report: dict[str, Any]) -> bytes:
    rows: list[list[Any]] = [["stage", "count", "rate"]]
    rows += [[s["stage"], s["count"], s["rate"]] for s in report["stages"]]
    rows.append(["median_days_to_conversion", report["median_days_to_conversion"], ""])
    return to_csv(rows)


def promises_csv(report: dict[str, Any]) -> bytes:
    """Per agent a row for the period (date empty), then one per day of its trend
    (`made` empty: promises are made on one day and due on another)."""
    rows: list[list[Any]] = [["agent_id", "name", "date", "made", "kept", "missed", "kept_rate"]]
    for a in report["agents"]:
        rows.append(
            [a["agent_id"], a["name"], "", a["made"], a["kept"], a["missed"], a["kept_rate"]]
        )
        rows += [
            [a["agent_id"], a["name"], d["date"], "", d["kept"], d["missed"], d["kept_rate"]]
            for d in a["trend"]
        ]
    return to_csv(rows)


def conversions_csv(report: dict[str, Any]) -> bytes:
    rows: list[list[Any]] = [["channel", "gross", "cancelled", "net"]]
    rows += [[c["channel"], c["gross"], c["cancelled"], c["net"]] for c in report["channels"]]
    total = report["total"]
    rows.append(["total", total["gross"], total["cancelled"], total["net"]])
    return to_csv(rows)


def hours_csv(report: dict[str, Any]) -> bytes:
    rows: list[list[Any]] = [["hour", "calls", "answered", "answer_rate"]]
    rows += [[h["hour"], h["calls"], h["answered"], h["answer_rate"]] for h in report["hours"]]
    return to_csv(rows)
