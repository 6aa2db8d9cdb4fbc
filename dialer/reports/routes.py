from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from dialer.reports import service
from dialer.reports.schemas import AgentsReport, CampaignReport
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
        return service.campaign_report(tx.session, campaign_id=campaign_id, period=period)


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
