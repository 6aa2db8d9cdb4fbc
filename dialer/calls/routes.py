from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from dialer.calls import disposition, placing
from dialer.calls.schemas import CallCreate, CallList, CallOut, DispositionIn, InboundList
from dialer.views.calls import call_page, call_query, call_view, scoped_agent
from dialer.views.inbound import inbound_page
from dialer.web import CtxDep, Id, IdFilter, ManagerCtxDep, PageCursor, parse_page_cursor

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


_Bound = Annotated[
    str | None,
    Query(
        max_length=40,
        description="a date (2026-12-01, in the campaign's time zone, else UTC) or an"
        " instant with offset; years 2000–2100",
    ),
]


@router.get("/api/calls", response_model=CallList)
def list_calls(
    ctx: CtxDep,
    lead_id: IdFilter = None,
    agent_id: IdFilter = None,
    campaign_id: IdFilter = None,
    since: _Bound = None,
    until: _Bound = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: PageCursor = None,
) -> CallList:
    """Calls newest first, by lead, agent, campaign and period (at most 366 days;
    `until` includes its day). A manager lists anyone's; an agent its own only
    (`agent_id` is then itself, by default)."""
    with ctx.tx() as tx:
        query = call_query(
            tx.session,
            lead_id=lead_id,
            agent_id=scoped_agent(tx.principal, agent_id=agent_id),
            campaign_id=campaign_id,
            since=since,
            until=until,
        )
        return call_page(tx.session, query=query, limit=limit, after_id=parse_page_cursor(cursor))


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


@router.post(
    "/api/calls/{call_id}/hangup",
    response_model=CallOut,
    responses={
        409: {
            "description": "the call has ended or is dispositioned (`call_not_live`), or its"
            " create has not been answered by the provider yet (`call_not_placed`)"
        }
    },
)
def hang_up(call_id: Id, ctx: CtxDep) -> CallOut:
    """Ends a live call: the provider is asked once this is committed and reports
    the end as usual (`call_status`). The disposition is still the agent's to
    record. The call's agent or a manager."""
    with ctx.tx() as tx:
        call = disposition.request_hangup(
            tx.session,
            principal=tx.principal,
            call_id=call_id,
            now=tx.now,
            telephony=tx.runtime.telephony,
        )
        return call_view(call)


@router.get("/api/campaigns/{campaign_id}/incoming", response_model=InboundList)
def list_incoming(
    campaign_id: Id,
    ctx: ManagerCtxDep,
    unmatched: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: PageCursor = None,
) -> InboundList:
    """Customers' calls to the campaign's caller id, newest first: who took each
    one, or nobody (`unmatched=true`: callers matching no lead, for a person)."""
    with ctx.tx() as tx:
        return inbound_page(
            tx.session,
            campaign_id=campaign_id,
            unmatched=unmatched,
            limit=limit,
            cursor=parse_page_cursor(cursor),
        )
