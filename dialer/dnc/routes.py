from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response

from dialer.auth import actor_of
from dialer.dnc import importer, service
from dialer.dnc.schemas import DncHistory, DncImportOut, DncIn, DncList, DncOut
from dialer.uploads import Upload, upload_dependency, upload_openapi
from dialer.views.dnc import dnc_history, dnc_import_report, dnc_page, dnc_view
from dialer.web import ManagerCtxDep, PageCursor, parse_cursor, parse_page_cursor

router = APIRouter(prefix="/api/dnc", tags=["do-not-call"])


@router.post(
    "",
    status_code=201,
    response_model=DncOut,
    responses={
        200: {"model": DncOut, "description": "listed already: the entry as it was"},
        400: {"description": "`phone` is not a phone number (`invalid_phone`)"},
    },
)
def add(body: DncIn, ctx: ManagerCtxDep) -> Any:
    """Puts a phone on the do-not-call list (any format; stored in E.164): no
    campaign calls it again, and its leads' open promises are cancelled."""
    with ctx.tx() as tx:
        phone = service.parse_dnc_phone(body.phone, region=tx.runtime.settings.default_region)
        entry, created = service.add(
            tx.session,
            phone=phone,
            reason=body.reason,
            source="api",
            actor=actor_of(tx.principal),
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
    """A do-not-call list as CSV (`phone`, `reason`): each valid row is added as by
    POST /api/dnc; bad rows are reported without refusing the good ones."""
    data = upload.read_bytes()
    with ctx.tx() as tx:
        report = importer.import_dnc(
            tx.session,
            data=data,
            region=tx.runtime.settings.default_region,
            actor=actor_of(tx.principal),
            now=tx.now,
            filename=upload.filename,
        )
        return dnc_import_report(report)


@router.get("", response_model=DncList)
def list_entries(
    ctx: ManagerCtxDep,
    phone: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> DncList:
    """The do-not-call list, a page at a time (`next_cursor`); `phone` (any
    format) looks one number up."""
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


@router.get(
    "/history",
    response_model=DncHistory,
    responses={400: {"description": "`phone` is not a phone number (`invalid_phone`)"}},
)
def history(
    ctx: ManagerCtxDep,
    phone: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: PageCursor = None,
) -> DncHistory:
    """The list's audit, newest first: every phone `added` (by hand),
    `imported` (from a file) and `lifted`, who did it and why; `phone` (any
    format) for one number's."""
    with ctx.tx() as tx:
        number = (
            service.parse_dnc_phone(phone, region=tx.runtime.settings.default_region)
            if phone
            else None
        )
        events = service.history_page(
            tx.session, phone=number, limit=limit, before_id=parse_page_cursor(cursor)
        )
        return dnc_history(tx.session, events, limit=limit)


@router.delete(
    "/{phone}",
    status_code=204,
    response_class=Response,
    responses={400: {"description": "`phone` is not a phone number (`invalid_phone`)"}},
)
def remove(
    phone: Annotated[str, Path(max_length=64)],
    ctx: ManagerCtxDep,
    reason: Annotated[str, Query(max_length=200, description="why it is lifted")] = "",
) -> Response:
    """Takes a phone off the do-not-call list (`dnc_not_found` when it is not on it);
    the lift, who did it and `reason` stay in GET /api/dnc/history."""
    with ctx.tx() as tx:
        number = service.parse_dnc_phone(phone, region=tx.runtime.settings.default_region)
        service.remove(
            tx.session, phone=number, reason=reason, actor=actor_of(tx.principal), now=tx.now
        )
    return Response(status_code=204)
