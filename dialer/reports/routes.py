from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from dialer.reports import campaign, charts, compliance, service
from dialer.reports.schemas import (
    AgentsReport,
    CampaignReport,
    ComplianceReport,
    ConversionsReport,
    FunnelReport,
    HoursReport,
    PromisesReport,
)
from dialer.web import Id, ManagerCtxDep

router = APIRouter(prefix="/api/reports", tags=["reports"])

Bound = Annotated[
    str | None,
    Query(
        max_length=40,
        description="a date in the campaign's time zone (2026-12-01) or an instant with "
        "offset, within the years 2000–2100",
    ),
]
CampaignFilter = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
_CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}}


def _csv(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _agents(
    ctx: ManagerCtxDep, campaign_id: int | None, since: str | None, until: str | None
) -> dict[str, Any]:
    with ctx.tx() as tx:
        period = service.period_for(tx.session, campaign_id=campaign_id, since=since, until=until)
        return {
            "campaign_id": campaign_id,
            "since": period.since,
            "until": period.until,
            "agents": service.agents_report(tx.session, campaign_id=campaign_id, period=period),
        }


@router.get("/agents", response_model=AgentsReport)
def agents_report(
    ctx: ManagerCtxDep, campaign_id: CampaignFilter = None, since: Bound = None, until: Bound = None
) -> dict[str, Any]:
    """Per agent: calls, contacts (answered by a person), talk time, conversions
    (net of cancellations, from the credit ledger), and promises made / kept /
    missed with the kept rate. `until` includes its day."""
    return _agents(ctx, campaign_id, since, until)


@router.get("/agents.csv", response_class=Response, responses=_CSV)
def agents_report_csv(
    ctx: ManagerCtxDep, campaign_id: CampaignFilter = None, since: Bound = None, until: Bound = None
) -> Response:
    """The same rows for Excel: UTF-8 with BOM, formula-looking cells defused."""
    report = _agents(ctx, campaign_id, since, until)
    return _csv(service.agents_csv(report["agents"]), "agents-report.csv")


def _campaign(
    ctx: ManagerCtxDep, campaign_id: int, since: str | None, until: str | None
) -> dict[str, Any]:
    with ctx.tx() as tx:
        period = service.period_for(tx.session, campaign_id=campaign_id, since=since, until=until)
        return service.campaign_report(
            tx.session, campaign_id=campaign_id, period=period, now=tx.now
        )


@router.get("/campaigns/{campaign_id}.csv", response_class=Response, responses=_CSV)
def campaign_report_csv(
    campaign_id: Id, ctx: ManagerCtxDep, since: Bound = None, until: Bound = None
) -> Response:
    """The campaign report for Excel: UTF-8 with BOM, formula-looking cells defused."""
    report = _campaign(ctx, campaign_id, since, until)
    return _csv(service.campaign_csv(report), f"campaign-{campaign_id}-report.csv")


# After the .csv route: `{campaign_id}` would otherwise take '5.csv' and refuse it.
@router.get("/campaigns/{campaign_id}", response_model=CampaignReport)
def campaign_report(
    campaign_id: Id, ctx: ManagerCtxDep, since: Bound = None, until: Bound = None
) -> dict[str, Any]:
    """Funnel (leads by status, now), calls and promises by status, conversions by
    channel (gross, net of cancellations, duplicates), answer rate by local hour of
    day, and the median days from first call to conversion."""
    return _campaign(ctx, campaign_id, since, until)


# A campaign's reports for the manager console (docs/API.md "Reports (manager)").
_SVG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/svg+xml": {}}}}
Lang = Annotated[Literal["en", "ja"], Query(description="the chart's language: en or ja")]
Build = Callable[..., dict[str, Any]]


def _of_campaign(
    ctx: ManagerCtxDep, build: Build, campaign_id: int, since: str | None, until: str | None
) -> dict[str, Any]:
    with ctx.tx() as tx:
        period = service.period_for(tx.session, campaign_id=campaign_id, since=since, until=until)
        return build(tx.session, campaign_id=campaign_id, period=period)


def _svg(body: bytes) -> Response:
    return Response(body, media_type="image/svg+xml")


@router.get("/campaigns/{campaign_id}/funnel", response_model=FunnelReport)
def funnel_report(
    campaign_id: Id, ctx: ManagerCtxDep, since: Bound = None, until: Bound = None
) -> dict[str, Any]:
    """Leads (the list now), then the distinct leads dialled, contacted and
    converted in the period, each with its share of the list; the median days
    from a lead's first call to its conversion."""
    return _of_campaign(ctx, campaign.funnel, campaign_id, since, until)


@router.get("/campaigns/{campaign_id}/funnel.csv", response_class=Response, responses=_CSV)
def funnel_report_csv(
    campaign_id: Id, ctx: ManagerCtxDep, since: Bound = None, until: Bound = None
) -> Response:
    """The funnel for Excel: UTF-8 with BOM, formula-looking cells defused."""
    report = _of_campaign(ctx, campaign.funnel, campaign_id, since, until)
    return _csv(campaign.funnel_csv(report), f"campaign-{campaign_id}-funnel.csv")


@router.get("/campaigns/{campaign_id}/promises", response_model=PromisesReport)
def promises_report(
    campaign_id: Id, ctx: ManagerCtxDep, since: Bound = None, until: Bound = None
) -> dict[str, Any]:
    """Per agent of the campaign: promises made, kept and missed (by due time),
    the kept rate, and the same per local day of the due time."""
    return _of_campaign(ctx, campaign.promises, campaign_id, since, until)


@router.get("/campaigns/{campaign_id}/promises.csv", response_class=Response, responses=_CSV)
def promises_report_csv(
    campaign_id: Id, ctx: ManagerCtxDep, since: Bound = None, until: Bound = None
) -> Response:
    """The promises report for Excel: a row per agent, then one per agent and day."""
    report = _of_campaign(ctx, campaign.promises, campaign_id, since, until)
    return _csv(campaign.promises_csv(report), f"campaign-{campaign_id}-promises.csv")


@router.get("/campaigns/{campaign_id}/promises.svg", response_class=Response, responses=_SVG)
def promises_chart(
    campaign_id: Id, ctx: ManagerCtxDep, since: Bound = None, until: Bound = None, lang: Lang = "en"
) -> Response:
    """The kept rate per agent and due day as lines (at most 50 agents), SVG."""
    report = _of_campaign(ctx, campaign.promises, campaign_id, since, until)
    # Drawn after the transaction: a chart never holds the database.
    return _svg(charts.promises_svg(report, lang=lang))


@router.get("/campaigns/{campaign_id}/conversions", response_model=ConversionsReport)
def conversions_report(
    campaign_id: Id, ctx: ManagerCtxDep, since: Bound = None, until: Bound = None
) -> dict[str, Any]:
    """Conversions that occurred in the period per channel: gross, cancelled
    (cooling-off) and net, and their total; duplicates are not counted."""
    return _of_campaign(ctx, campaign.conversions, campaign_id, since, until)


@router.get("/campaigns/{campaign_id}/conversions.csv", response_class=Response, responses=_CSV)
def conversions_report_csv(
    campaign_id: Id, ctx: ManagerCtxDep, since: Bound = None, until: Bound = None
) -> Response:
    """Conversions by channel for Excel, the total last."""
    report = _of_campaign(ctx, campaign.conversions, campaign_id, since, until)
    return _csv(campaign.conversions_csv(report), f"campaign-{campaign_id}-conversions.csv")


@router.get("/campaigns/{campaign_id}/hours", response_model=HoursReport)
def hours_report(
    campaign_id: Id, ctx: ManagerCtxDep, since: Bound = None, until: Bound = None
) -> dict[str, Any]:
    """Calls placed and answered by a person per local hour (0–23) of the
    campaign's zone, with the answer rate."""
    return _of_campaign(ctx, campaign.hours, campaign_id, since, until)


@router.get("/campaigns/{campaign_id}/hours.csv", response_class=Response, responses=_CSV)
def hours_report_csv(
    campaign_id: Id, ctx: ManagerCtxDep, since: Bound = None, until: Bound = None
) -> Response:
    """Answers by local hour for Excel."""
    report = _of_campaign(ctx, campaign.hours, campaign_id, since, until)
    return _csv(campaign.hours_csv(report), f"campaign-{campaign_id}-hours.csv")


@router.get("/campaigns/{campaign_id}/hours.svg", response_class=Response, responses=_SVG)
def hours_chart(
    campaign_id: Id, ctx: ManagerCtxDep, since: Bound = None, until: Bound = None, lang: Lang = "en"
) -> Response:
    """The answer rate per local hour as bars, calls as a line, SVG."""
    report = _of_campaign(ctx, campaign.hours, campaign_id, since, until)
    # Drawn after the transaction: a chart never holds the database.
    return _svg(charts.hours_svg(report, lang=lang))


# The compliance report (docs/API.md "A campaign's reports"): `from` and `to`.
From = Annotated[
    str | None,
    Query(
        alias="from",
        max_length=40,
        description="the period's start: a date in the campaign's time zone (2026-12-01) or an "
        "instant; default: 30 days before `to`",
    ),
]
To = Annotated[
    str | None,
    Query(
        alias="to",
        max_length=40,
        description="the period's end: a date (through its day) or an instant; default: today",
    ),
]


def _compliance(
    ctx: ManagerCtxDep, campaign_id: int, since: str | None, until: str | None
) -> ComplianceReport:
    with ctx.tx() as tx:
        period = compliance.period_of(
            tx.session, campaign_id=campaign_id, since=since, until=until, now=tx.now
        )
        return compliance.compliance_report(tx.session, campaign_id=campaign_id, period=period)


@router.get("/campaigns/{campaign_id}/compliance", response_model=ComplianceReport)
def compliance_report(
    campaign_id: Id, ctx: ManagerCtxDep, since: From = None, until: To = None
) -> ComplianceReport:
    """Every dial of the period held to the rules, from the lead histories: dials
    outside calling hours, to do-not-call numbers, after a refusal, unreserved
    re-calls within `no_recall_hours` of an abandon, and the abandon rate of each
    day's rolling window against the cap; the violations with their lead and call."""
    return _compliance(ctx, campaign_id, since, until)


@router.get("/campaigns/{campaign_id}/compliance.csv", response_class=Response, responses=_CSV)
def compliance_report_csv(
    campaign_id: Id, ctx: ManagerCtxDep, since: From = None, until: To = None
) -> Response:
    """The compliance report for Excel: a row per check, per violation listed, per window."""
    report = _compliance(ctx, campaign_id, since, until).model_dump(mode="json", by_alias=True)
    return _csv(compliance.compliance_csv(report), f"campaign-{campaign_id}-compliance.csv")
