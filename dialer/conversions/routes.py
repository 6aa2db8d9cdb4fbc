from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from dialer.conversions import importer, service
from dialer.conversions.models import ConversionStatus
from dialer.conversions.schemas import (
    CancelIn,
    ConversionImportOut,
    ConversionIn,
    ConversionList,
    ConversionOut,
    MatchIn,
)
from dialer.uploads import Upload, upload_dependency, upload_openapi
from dialer.views.conversions import conversion_page, conversion_view
from dialer.web import Id, ManagerCtxDep, parse_cursor

router = APIRouter(tags=["conversions"])


def _actor(principal_id: int | None) -> str:
    return f"manager:{principal_id}"


@router.post(
    "/api/conversions",
    status_code=201,
    response_model=ConversionOut,
    responses={
        200: {"model": ConversionOut, "description": "reference seen before"},
        409: {
            "description": "the reference was reported for another campaign "
            "(`reference_in_other_campaign`)"
        },
    },
)
def report_conversion(body: ConversionIn, ctx: ManagerCtxDep) -> Any:
    """An external sign-up. 201 when new; 200 with the first result when this
    `reference` was reported before (retries and re-sent files are safe)."""
    with ctx.tx() as tx:
        conversion, created = service.record_external(
            tx.session,
            report=body.report(),
            actor=_actor(tx.principal.id),
            source="api",
            now=tx.now,
        )
        out = conversion_view(tx.session, conversion=conversion)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)


@router.get("/api/conversions", response_model=ConversionList)
def list_conversions(
    ctx: ManagerCtxDep,
    campaign_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    status: ConversionStatus | None = None,
    unmatched: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> ConversionList:
    """Conversions in id order, a page at a time (`next_cursor`), by campaign,
    status, or `unmatched=true` for those a person must match to a lead."""
    with ctx.tx() as tx:
        return conversion_page(
            tx.session,
            campaign_id=campaign_id,
            status=status,
            unmatched=unmatched,
            limit=limit,
            after_id=parse_cursor(cursor),
        )


@router.get("/api/conversions/{conversion_id}", response_model=ConversionOut)
def get_conversion(conversion_id: Id, ctx: ManagerCtxDep) -> ConversionOut:
    """One conversion: its lead, credited agent, attribution and credit entries."""
    with ctx.tx() as tx:
        conversion = service.get_conversion(tx.session, conversion_id=conversion_id)
        return conversion_view(tx.session, conversion=conversion)


@router.post(
    "/api/conversions/{conversion_id}/cancel",
    response_model=ConversionOut,
    responses={409: {"description": "the conversion is not active (`conversion_closed`)"}},
)
def cancel_conversion(conversion_id: Id, body: CancelIn, ctx: ManagerCtxDep) -> ConversionOut:
    """Cooling-off cancellation: kept as `cancelled`, its credit reversed."""
    with ctx.tx() as tx:
        conversion = service.cancel(
            tx.session,
            conversion_id=conversion_id,
            reason=body.reason,
            actor=_actor(tx.principal.id),
            now=tx.now,
        )
        return conversion_view(tx.session, conversion=conversion)


@router.post(
    "/api/conversions/{conversion_id}/match",
    response_model=ConversionOut,
    responses={
        409: {
            "description": "the conversion is matched already or not active (`conversion_closed`)"
        }
    },
)
def match_conversion(conversion_id: Id, body: MatchIn, ctx: ManagerCtxDep) -> ConversionOut:
    """A manager matches a stored unmatched conversion to its lead; credit is then
    decided as for any matched conversion."""
    with ctx.tx() as tx:
        conversion = service.match(
            tx.session,
            conversion_id=conversion_id,
            lead_id=body.lead_id,
            actor=_actor(tx.principal.id),
            now=tx.now,
        )
        return conversion_view(tx.session, conversion=conversion)


@router.post(
    "/api/campaigns/{campaign_id}/conversions/imports",
    status_code=201,
    response_model=ConversionImportOut,
    openapi_extra=upload_openapi(),
)
def import_conversions(
    campaign_id: Id, ctx: ManagerCtxDep, upload: Annotated[Upload, upload_dependency()]
) -> ConversionImportOut:
    """A month's external sign-ups as CSV (the lead lists' encodings, Japanese
    headers): each row is reported as by POST /api/conversions; bad rows are
    listed without refusing the good ones."""
    data = upload.read_bytes()
    with ctx.tx() as tx:
        report = importer.import_conversions(
            tx.session,
            campaign_id=campaign_id,
            data=data,
            actor=_actor(tx.principal.id),
            now=tx.now,
            filename=upload.filename,
        )
        return ConversionImportOut.model_validate(report, from_attributes=True)
