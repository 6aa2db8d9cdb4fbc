from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from dialer.campaign.service import get_campaign
from dialer.errors import BadInput
from dialer.leads import csvfile, importer, preview
from dialer.leads.models import LeadStatus
from dialer.leads.schemas import (
    PUBLIC_LEAD_STATUSES,
    EligibilityOut,
    ImportOut,
    ImportPreviewOut,
    LeadDetail,
    LeadList,
    PublicLeadStatus,
    QueueOut,
    ScriptOut,
)
from dialer.uploads import Upload, upload_dependency, upload_openapi
from dialer.views import imports, leads, scripts
from dialer.views.eligibility import lead_eligibility as eligibility_view
from dialer.views.queue import queue_diagnosis
from dialer.views.search import LeadQuery, search_leads
from dialer.web import (
    CtxDep,
    Id,
    IdFilter,
    ManagerCtxDep,
    PageCursor,
    parse_cursor,
    parse_page_cursor,
)

router = APIRouter(tags=["leads"])


_MAPPING = 'JSON object of header → column, e.g. {"TEL(日中)": "phone"}'


@router.post(
    "/api/campaigns/{campaign_id}/imports",
    status_code=201,
    response_model=ImportOut,
    responses={
        400: {
            "description": "not CSV, no phone column (`no_phone_column`), or `mapping` not "
            "a JSON object: nothing is imported"
        }
    },
    openapi_extra=upload_openapi(mapping=_MAPPING),
)
def import_leads(
    campaign_id: Id,
    ctx: ManagerCtxDep,
    upload: Annotated[Upload, upload_dependency(fields=frozenset({"mapping"}))],
) -> ImportOut:
    """Imports a lead list (CSV in UTF-8, Shift_JIS/CP932 or UTF-16; Japanese headers
    recognised), all or nothing. Small files are imported before the answer
    (`done`); larger ones answer `running` at once: follow them at
    GET /api/imports/{id}."""
    runtime = ctx.runtime
    overrides = csvfile.parse_mapping(upload.fields.get("mapping"))
    with ctx.tx() as tx:
        get_campaign(tx.session, campaign_id=campaign_id)
        actor, now = f"manager:{tx.principal.id}", tx.now
    import_id = importer.start_import(
        runtime.db,
        runner=runtime.imports,
        campaign_id=campaign_id,
        path=upload.release(),
        filename=upload.filename,
        actor=actor,
        now=now,
        mapping=overrides,
        sync_limit_bytes=runtime.settings.import_sync_bytes,
        remove_file=True,
    )
    with ctx.tx() as tx:
        return imports.import_report(tx.session, import_id=import_id)


@router.post(
    "/api/campaigns/{campaign_id}/imports/preview",
    response_model=ImportPreviewOut,
    responses={
        400: {"description": "not CSV, empty, or `mapping` not a JSON object (`bad_mapping`)"},
        404: {"description": "unknown campaign (`campaign_not_found`)"},
        415: {"description": "not text (`not_text`, `undecodable`)"},
    },
    openapi_extra=upload_openapi(mapping=_MAPPING),
)
def preview_import(
    campaign_id: Id,
    ctx: ManagerCtxDep,
    upload: Annotated[Upload, upload_dependency(fields=frozenset({"mapping"}))],
) -> ImportPreviewOut:
    """What importing the file would do, from its first MiB: the detected
    encoding and delimiter, the column each header fills (`mapping` as for the
    import), the first 10 rows and those of them the import would refuse
    (invalid, duplicate, on the do-not-call list). Nothing is written; no phone
    column answers `has_phone: false`."""
    overrides = csvfile.parse_mapping(upload.fields.get("mapping"))
    with ctx.tx() as tx:
        campaign = get_campaign(tx.session, campaign_id=campaign_id)
        region, zone = campaign.default_region, campaign.timezone
    # Parsed outside any transaction: a preview holds no lock while it reads.
    found = preview.preview_file(
        upload.path, region=region, default_timezone=zone, overrides=overrides
    )
    with ctx.tx() as tx:
        found = preview.screen_preview(tx.session, campaign_id=campaign_id, preview=found)
    return imports.preview_view(found, filename=upload.filename)


@router.get("/api/imports/{import_id}", response_model=ImportOut)
def get_import(import_id: Id, ctx: ManagerCtxDep) -> ImportOut:
    """An import's report: `running` with the counts so far, then `done` or `failed`."""
    with ctx.tx() as tx:
        return imports.import_report(tx.session, import_id=import_id)


@router.get(
    "/api/imports/{import_id}/errors.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def import_errors_csv(import_id: Id, ctx: ManagerCtxDep) -> Response:
    """Every rejected row of an import, for Excel (UTF-8 with BOM, formula-looking
    cells defused): `row`, `kind` (invalid, duplicate, suppressed), `field`,
    `reason`, `raw`."""
    with ctx.tx() as tx:
        body = imports.errors_csv(tx.session, import_id=import_id)
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
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> LeadList:
    """A campaign's leads in id order, a page at a time (`next_cursor`), optionally
    of one `status`; each without its calls, promises, conversions and events."""
    with ctx.tx() as tx:
        if status is not None and status not in PUBLIC_LEAD_STATUSES:
            raise BadInput(f"unknown status {status!r}", field="status")
        return leads.lead_page(
            tx.session,
            campaign_id=campaign_id,
            status=LeadStatus(status) if status is not None else None,
            limit=limit,
            after_id=parse_cursor(cursor),
        )


@router.get("/api/leads", response_model=LeadList)
def search(
    ctx: ManagerCtxDep,
    phone: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            description="any format ('090-1234-5678', '+81 90…', full-width); matched"
            " against every phone of a lead, retired ones too",
        ),
    ] = None,
    name: Annotated[
        str | None,
        Query(min_length=1, max_length=300, description="prefix, case- and width-insensitive"),
    ] = None,
    company: Annotated[
        str | None,
        Query(min_length=1, max_length=300, description="prefix, case- and width-insensitive"),
    ] = None,
    contract_number: Annotated[
        str | None,
        Query(
            min_length=1, max_length=64, description="whole, ignoring width, case, spaces, dashes"
        ),
    ] = None,
    external_id: Annotated[
        str | None,
        Query(
            min_length=1, max_length=128, description="whole, ignoring width, case, spaces, dashes"
        ),
    ] = None,
    campaign_id: IdFilter = None,
    status: Annotated[PublicLeadStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: PageCursor = None,
) -> LeadList:
    """Find leads: a customer rings back. Criteria given together must all hold."""
    with ctx.tx() as tx:
        return search_leads(
            tx.session,
            query=LeadQuery(
                phone=phone,
                name=name,
                company=company,
                contract_number=contract_number,
                external_id=external_id,
                campaign_id=campaign_id,
                status=status,
            ),
            limit=limit,
            after_id=parse_page_cursor(cursor),
            default_region=ctx.runtime.settings.default_region,
        )


@router.get("/api/leads/{lead_id}", response_model=LeadDetail)
def get_lead(lead_id: Id, ctx: CtxDep) -> LeadDetail:
    """The lead with everything about it: phones, contacts, calls, promises,
    conversions and its history. An agent may read only the lead it holds."""
    with ctx.tx() as tx:
        lead = leads.get_lead(tx.session, lead_id=lead_id)
        leads.check_lead_access(tx.session, principal=tx.principal, lead=lead)
        return leads.lead_detail(tx.session, lead=lead)


@router.get("/api/leads/{lead_id}/script", response_model=ScriptOut)
def lead_script(lead_id: Id, ctx: CtxDep) -> ScriptOut:
    """The campaign's script with the lead's fields filled in, the opening the call
    must start with (seller, agent's name, purpose: 特定商取引法 §16) and the
    placeholders left unfilled. A manager, or the agent holding the claim."""
    with ctx.tx() as tx:
        return scripts.lead_script(tx.session, principal=tx.principal, lead_id=lead_id)


@router.get("/api/leads/{lead_id}/eligibility", response_model=EligibilityOut)
def lead_eligibility(lead_id: Id, ctx: ManagerCtxDep) -> EligibilityOut:
    """Why the lead is not callable now: every rule that blocks it (not only the
    first), each with until when, and when it next becomes callable."""
    with ctx.tx() as tx:
        return eligibility_view(tx.session, lead_id=lead_id, now=tx.now)


@router.get("/api/campaigns/{campaign_id}/queue", response_model=QueueOut)
def campaign_queue(campaign_id: Id, ctx: ManagerCtxDep) -> QueueOut:
    """Why a floor has nothing to dial, at a glance: leads callable now, blocked
    leads counted by rule, promises due, and the next due time."""
    with ctx.tx() as tx:
        return queue_diagnosis(tx.session, campaign_id=campaign_id, now=tx.now)
