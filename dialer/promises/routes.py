from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from dialer.agents import events
from dialer.agents.models import Role
from dialer.agents.service import campaign_ids_of, get_agent
from dialer.auth import require_self_or_manager
from dialer.errors import BadInput, Forbidden
from dialer.promises import booking
from dialer.promises.models import PromiseStatus
from dialer.promises.schemas import PromiseIn, PromiseList, PromiseOut
from dialer.views.promises import promise_page, promise_view
from dialer.web import Ctx, CtxDep, Id, ManagerCtxDep, get_runtime, parse_cursor
from dialer.wire import MAX_ID

router = APIRouter(tags=["promises"])

StatusFilter = Annotated[
    PromiseStatus | None, Query(description="scheduled, kept, missed, cancelled, rescheduled")
]


@router.post("/api/leads/{lead_id}/promises", status_code=201, response_model=PromiseOut)
def book_promise(lead_id: Id, body: PromiseIn, ctx: CtxDep) -> PromiseOut:
    with ctx.tx() as tx:
        promise = booking.book(
            tx.session,
            principal=tx.principal,
            lead_id=lead_id,
            request=body.request(),
            now=tx.now,
        )
        return promise_view(promise)


@router.get("/api/agents/{agent_id}/promises", response_model=PromiseList)
def agent_promises(
    agent_id: Id,
    ctx: CtxDep,
    status: StatusFilter = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> PromiseList:
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        get_agent(tx.session, agent_id=agent_id)
        return promise_page(
            tx.session, agent_id=agent_id, status=status, limit=limit, after_id=parse_cursor(cursor)
        )


@router.get("/api/promises", response_model=PromiseList)
def all_promises(
    ctx: ManagerCtxDep,
    status: StatusFilter = None,
    campaign_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> PromiseList:
    with ctx.tx() as tx:
        return promise_page(
            tx.session,
            campaign_id=campaign_id,
            status=status,
            limit=limit,
            after_id=parse_cursor(cursor),
        )


@router.get("/api/promises/{promise_id}", response_model=PromiseOut)
def get_promise(promise_id: Id, ctx: CtxDep) -> PromiseOut:
    with ctx.tx() as tx:
        promise = booking.get_promise(tx.session, promise_id=promise_id)
        mine = tx.principal.id in (promise.agent_id, promise.booked_by_agent_id)
        if tx.principal.role != Role.manager and not mine:
            raise Forbidden("this promise belongs to another agent", code="not_your_resource")
        return promise_view(promise)


@router.delete("/api/promises/{promise_id}", response_model=PromiseOut)
def cancel_promise(
    promise_id: Id,
    ctx: CtxDep,
    reason: Annotated[str | None, Query(max_length=2000)] = None,
) -> PromiseOut:
    with ctx.tx() as tx:
        promise = booking.cancel(
            tx.session, principal=tx.principal, promise_id=promise_id, now=tx.now, reason=reason
        )
        return promise_view(promise)


@router.get(
    "/api/agents/{agent_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def agent_events(
    agent_id: Id,
    request: Request,
    token: Annotated[
        str | None,
        Query(description="for EventSource, which cannot send headers: the bearer token"),
    ] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Server-sent events: `promise_due`, `promise_missed`, `call_status`. Reconnect
    with `Last-Event-ID` to receive what was missed."""
    authorization = request.headers.get("authorization")
    if authorization is None and token:
        authorization = f"Bearer {token}"
    runtime = get_runtime(request)
    ctx = Ctx(runtime, authorization, "GET", manager_only=False)
    after: int | None = None
    if last_event_id:
        try:
            after = int(last_event_id)
        except ValueError:
            after = -1
        if not 0 <= after <= MAX_ID:
            raise BadInput(
                "Last-Event-ID is not an event id this server sent", field="Last-Event-ID"
            )
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        get_agent(tx.session, agent_id=agent_id)
        campaign_ids = campaign_ids_of(tx.session, agent_id=agent_id)
    return StreamingResponse(
        events.stream(
            runtime.events, agent_id=agent_id, campaign_ids=campaign_ids, last_event_id=after
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
