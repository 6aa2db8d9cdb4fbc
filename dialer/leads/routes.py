from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response

from dialer.campaign.service import get_campaign
from dialer.errors import BadInput
from dialer.leads import csvfile, importer, service
from dialer.leads.schemas import EligibilityOut, ImportOut, LeadDetail, LeadList, QueueOut
from dialer.uploads import save_upload
from dialer.web import CtxDep, Id, ManagerCtxDep, next_cursor, parse_cursor

router = APIRouter(tags=["leads"])


@router.post("/api/campaigns/{campaign_id}/imports", status_code=201, response_model=ImportOut)
def import_leads(
    campaign_id: Id,
    ctx: ManagerCtxDep,
    file: Annotated[UploadFile, File()],
    mapping: Annotated[
        str | None,
        Form(description='JSON object of header → column, e.g. {"TEL(日中)": "phone"}'),
    ] = None,
) -> dict[str, Any]:
    """Small files are imported before the answer (`done`); larger ones answer
    `running` at once: follow them at GET /api/imports/{id}."""
    runtime = ctx.runtime
    overrides = csvfile.parse_mapping(mapping)
    with ctx.tx() as tx:
        get_campaign(tx.session, campaign_id=campaign_id)
        actor, now = f"manager:{tx.principal.id}", tx.now
    path = save_upload(file.file, limit=runtime.settings.max_upload_bytes)
    import_id = importer.start_import(
        runtime.db,
        runner=runtime.imports,
        campaign_id=campaign_id,
        path=path,
        filename=file.filename,
        actor=actor,
        now=now,
        mapping=overrides,
        sync_limit_bytes=runtime.settings.import_sync_bytes,
        remove_file=True,
    )
    with ctx.tx() as tx:
        lead_import = importer.get_import(tx.session, import_id=import_id)
        return importer.import_out(tx.session, lead_import=lead_import)


@router.get("/api/imports/{import_id}", response_model=ImportOut)
def get_import(import_id: Id, ctx: ManagerCtxDep) -> dict[str, Any]:
    with ctx.tx() as tx:
        lead_import = importer.get_import(tx.session, import_id=import_id)
        return importer.import_out(tx.session, lead_import=lead_import)


@router.get("/api/imports/{import_id}/errors.csv", response_class=Response)
def import_errors_csv(import_id: Id, ctx: ManagerCtxDep) -> Response:
    with ctx.tx() as tx:
        importer.get_import(tx.session, import_id=import_id)
        body = importer.errors_csv(tx.session, import_id=import_id)
    return Response(
        content=body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{import_id}-errors.csv"'},
    )


@router.get("/api/campaigns/{campaign_id}/leads", response_model=LeadList)
def list_leads(
    campaign_id: Id,
    ctx: ManagerCtxDep,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    with ctx.tx() as tx:
        if status is not None and status not in _STATUSES:
            raise BadInput(f"unknown status {status!r}", field="status")
        leads = service.list_leads(
            tx.session,
            campaign_id=campaign_id,
            status=status,
            limit=limit,
            after_id=parse_cursor(cursor),
        )
        return {
            "items": [service.lead_summary(tx.session, lead=lead) for lead in leads],
            "next_cursor": next_cursor(leads, limit=limit),
        }


_STATUSES = {
    "new",
    "scheduled",
    "claimed",
    "awaiting_external",
    "converted",
    "refused",
    "dnc",
    "exhausted",
    "invalid",
}


@router.get("/api/leads/{lead_id}", response_model=LeadDetail)
def get_lead(lead_id: Id, ctx: CtxDep) -> dict[str, Any]:
    with ctx.tx() as tx:
        lead = service.get_lead(tx.session, lead_id=lead_id)
        service.check_lead_access(tx.session, principal=tx.principal, lead=lead)
        return service.lead_detail(tx.session, lead=lead)


@router.get("/api/leads/{lead_id}/eligibility", response_model=EligibilityOut)
def lead_eligibility(lead_id: Id, ctx: ManagerCtxDep) -> dict[str, Any]:
    with ctx.tx() as tx:
        return service.eligibility(tx.session, lead_id=lead_id, now=tx.now)


@router.get("/api/campaigns/{campaign_id}/queue", response_model=QueueOut)
def campaign_queue(campaign_id: Id, ctx: ManagerCtxDep) -> dict[str, Any]:
    with ctx.tx() as tx:
        return service.queue_summary(tx.session, campaign_id=campaign_id, now=tx.now)
