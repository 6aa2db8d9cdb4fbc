from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dialer.calls import service
from dialer.calls.schemas import CallCreate, CallOut, DispositionIn
from dialer.db import is_postgres
from dialer.web import CtxDep, Id

router = APIRouter(tags=["calls"])


@router.post("/api/leads/{lead_id}/calls", status_code=201, response_model=CallOut)
def place_call(lead_id: Id, ctx: CtxDep, body: CallCreate | None = None) -> dict[str, Any]:
    """The attempt is committed, then sent to the provider (after the commit, by
    the transaction); the answer is the call as read after that."""
    runtime = ctx.runtime
    with ctx.tx() as tx:
        call = service.place_call(
            tx.session,
            principal=tx.principal,
            lead_id=lead_id,
            phone=body.phone if body else None,
            now=tx.now,
            telephony=runtime.telephony,
            lock_rows=is_postgres(runtime.db),
            dial=runtime.dial_now,
        )
        call_id = call.id
    assert call_id is not None
    with runtime.db.read() as session:
        return service.call_out(service.get_call(session, call_id=call_id))


@router.get("/api/calls/{call_id}", response_model=CallOut)
def get_call(call_id: Id, ctx: CtxDep) -> dict[str, Any]:
    with ctx.tx() as tx:
        call = service.get_call(tx.session, call_id=call_id)
        service.check_call_access(tx.principal, call)
        return service.call_out(call)


@router.post("/api/calls/{call_id}/disposition", response_model=CallOut)
def dispose(call_id: Id, body: DispositionIn, ctx: CtxDep) -> dict[str, Any]:
    """Recording the outcome ends the call; a call still ringing or talking at the
    provider is hung up once the outcome is committed."""
    with ctx.tx() as tx:
        call = service.dispose(
            tx.session,
            principal=tx.principal,
            call_id=call_id,
            data=service.DispositionInput(
                outcome=body.outcome_enum(),
                note=body.note,
                contract_number=body.contract_number,
                promise=body.promise,
            ),
            now=tx.now,
            telephony=tx.runtime.telephony,
            lock_rows=is_postgres(tx.runtime.db),
        )
        return service.call_out(call)
