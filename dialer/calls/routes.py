from __future__ import annotations

from fastapi import APIRouter

from dialer.calls import disposition, placing
from dialer.calls.schemas import CallCreate, CallOut, DispositionIn
from dialer.views.calls import call_view
from dialer.web import CtxDep, Id

router = APIRouter(tags=["calls"])


@router.post(
    "/api/leads/{lead_id}/calls",
    status_code=201,
    response_model=CallOut,
    responses={
        409: {
            "description": "no claim on the lead (`not_claimed`), a call to it already live "
            "(`call_live`), the phone on the do-not-call list (`dnc`), outside calling hours "
            "(`outside_calling_hours`), the campaign paused or the lead without a phone"
        }
    },
)
def place_call(lead_id: Id, ctx: CtxDep, body: CallCreate | None = None) -> CallOut:
    """Dials the lead the agent holds (optionally one given `phone` of it). The
    attempt is committed, then sent to the provider (after the commit, by the
    transaction); the answer is the call as read after that."""
    runtime = ctx.runtime
    with ctx.tx() as tx:
        call = placing.place_call(
            tx.session,
            principal=tx.principal,
            lead_id=lead_id,
            phone=body.phone if body else None,
            now=tx.now,
            telephony=runtime.telephony,
            dial=runtime.dial_now,
        )
        call_id = call.id
    assert call_id is not None
    with runtime.db.read() as session:
        return call_view(placing.get_call(session, call_id=call_id))


@router.get("/api/calls/{call_id}", response_model=CallOut)
def get_call(call_id: Id, ctx: CtxDep) -> CallOut:
    """One call: its status, who answered, duration. An agent may read its own calls."""
    with ctx.tx() as tx:
        call = placing.get_call(tx.session, call_id=call_id)
        placing.check_call_access(tx.principal, call)
        return call_view(call)


@router.post(
    "/api/calls/{call_id}/disposition",
    response_model=CallOut,
    responses={
        409: {
            "description": "the call is dispositioned already (`already_dispositioned`), or "
            "the promise asked for cannot be booked (`slot_taken`, `outside_calling_hours`, "
            "with `suggestions`): nothing is recorded"
        }
    },
)
def dispose(call_id: Id, body: DispositionIn, ctx: CtxDep) -> CallOut:
    """Recording the outcome ends the call; a call still ringing or talking at the
    provider is hung up once the outcome is committed."""
    with ctx.tx() as tx:
        call = disposition.dispose(
            tx.session,
            principal=tx.principal,
            call_id=call_id,
            data=disposition.DispositionInput(
                outcome=body.outcome_enum(),
                note=body.note,
                contract_number=body.contract_number,
                promise=body.promise,
            ),
            now=tx.now,
            telephony=tx.runtime.telephony,
        )
        return call_view(call)
