from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from dialer.dnc import importer, service
from dialer.dnc.schemas import DncImportOut, DncIn, DncList, DncOut
from dialer.uploads import Upload, upload_dependency, upload_openapi
from dialer.views.dnc import dnc_import_report, dnc_page, dnc_view
from dialer.web import ManagerCtxDep, parse_cursor

router = APIRouter(prefix="/api/dnc", tags=["do-not-call"])


@router.post("", status_code=201, response_model=DncOut, responses={200: {"model": DncOut}})
def add(body: DncIn, ctx: ManagerCtxDep) -> Any:
    with ctx.tx() as tx:
        phone = service.parse_dnc_phone(body.phone, region=tx.runtime.settings.default_region)
        entry, created = service.add(
            tx.session,
            phone=phone,
            reason=body.reason,
            source="api",
            actor=f"manager:{tx.principal.id}",
            now=tx.now,
        )
        if not created:
            # Listed already: 200 with the entry as it was, not 201.
            return JSONResponse(dnc_view(entry).model_dump(mode="json"))
        return dnc_view(entry)


@router.post(
    "/imports", status_code=201, response_model=DncImportOut, openapi_extra=upload_openapi()
)
def import_entries(
    ctx: ManagerCtxDep, upload: Annotated[Upload, upload_dependency()]
) -> DncImportOut:
    data = upload.read_bytes()
    with ctx.tx() as tx:
        report = importer.import_dnc(
            tx.session,
            data=data,
            region=tx.runtime.settings.default_region,
            actor=f"manager:{tx.principal.id}",
            now=tx.now,
            filename=upload.filename,
        )
        return dnc_import_report(report)


@router.get("", response_model=DncList)
def list_entries(
    ctx: ManagerCtxDep,
    phone: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> DncList:
    with ctx.tx() as tx:
        number = (
            service.parse_dnc_phone(phone, region=tx.runtime.settings.default_region)
            if phone
            else None
        )
        entries = service.list_entries(
            tx.session, phone=number, limit=limit, after_id=parse_cursor(cursor)
        )
        return dnc_page(entries, limit=limit)


@router.delete("/{phone}", status_code=204, response_class=Response)
def remove(phone: str, ctx: ManagerCtxDep) -> Response:
    with ctx.tx() as tx:
        number = service.parse_dnc_phone(phone, region=tx.runtime.settings.default_region)
        service.remove(tx.session, phone=number)
    return Response(status_code=204)
