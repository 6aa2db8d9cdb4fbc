from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from dialer.reports import service
from dialer.reports.schemas import AgentsReport
from dialer.web import ManagerCtxDep

router = APIRouter(prefix="/api/reports", tags=["reports"])

Bound = Annotated[
    str | None,
    Query(description="a date in the campaign's time zone (2026-12-01) or an instant with offset"),
]


@router.get("/agents", response_model=AgentsReport)
def agents_report(
    ctx: ManagerCtxDep,
    campaign_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    since: Bound = None,
    until: Bound = None,
) -> dict[str, Any]:
    """Per agent: calls, contacts (answered by a person), talk time, conversions,
    and promises made / kept / missed with the kept rate. `until` includes its day."""
    with ctx.tx() as tx:
        period = service.period_for(tx.session, campaign_id=campaign_id, since=since, until=until)
        return {
            "campaign_id": campaign_id,
            "since": period.since,
            "until": period.until,
            "agents": service.agents_report(tx.session, campaign_id=campaign_id, period=period),
        }
