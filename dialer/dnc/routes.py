from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from dialer.dnc import importer, service
from dialer.dnc.models import DncEntry
from dialer.uploads import upload_chunks
from dialer.web import ManagerCtxDep, next_cursor, parse_cursor
from dialer.wire import Input, Instant

router = APIRouter(prefix="/api/dnc", tags=["do-not-call"])


class DncIn(Input):
    phone: str = Field(min_length=1, max_length=64)
    reason: str = Field(default="", max_length=200)


class DncOut(BaseModel):
    id: int
    phone: str
    reason: str
    source: str
    created_at: Instant


class DncList(BaseModel):
    items: list[DncOut]
    next_cursor: str | None


class DncImportError(BaseModel):
    row: int
    field: str
    reason: str


class DncImportOut(BaseModel):
    rows: int
    added: int
    already_listed: int
    invalid: int
    errors: list[DncImportError]


def _out(entry: DncEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "phone": entry.phone,
        "reason": entry.reason,
        "source": entry.source,
        "created_at": entry.created_at,
    }


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
            return JSONResponse(DncOut.model_validate(_out(entry)).model_dump(mode="json"))
        return _out(entry)


@router.post("/imports", status_code=201, response_model=DncImportOut)
def import_entries(ctx: ManagerCtxDep, file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    limit = ctx.runtime.settings.max_upload_bytes
    data = b"".join(upload_chunks(file.file, limit=limit))
    with ctx.tx() as tx:
        report = importer.import_dnc(
            tx.session,
            data=data,
            region=tx.runtime.settings.default_region,
            actor=f"manager:{tx.principal.id}",
            now=tx.now,
            filename=file.filename,
        )
        return {
            "rows": report.rows,
            "added": report.added,
            "already_listed": report.already_listed,
            "invalid": report.invalid,
            "errors": [{"row": e.row, "field": e.field, "reason": e.reason} for e in report.errors],
        }


@router.get("", response_model=DncList)
def list_entries(
    ctx: ManagerCtxDep,
    phone: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    with ctx.tx() as tx:
        number = (
            service.parse_dnc_phone(phone, region=tx.runtime.settings.default_region)
            if phone
            else None
        )
        entries = service.list_entries(
            tx.session, phone=number, limit=limit, after_id=parse_cursor(cursor)
        )
        return {
            "items": [_out(e) for e in entries],
            "next_cursor": next_cursor(entries, limit=limit),
        }


@router.delete("/{phone}", status_code=204, response_class=Response)
def remove(phone: str, ctx: ManagerCtxDep) -> Response:
    with ctx.tx() as tx:
        number = service.parse_dnc_phone(phone, region=tx.runtime.settings.default_region)
        service.remove(tx.session, phone=number)
    return Response(status_code=204)
