from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from dialer.agents import events, presence, sessions, tickets
from dialer.agents.models import Role
from dialer.agents.schemas import StreamTicketOut
from dialer.agents.service import campaign_ids_of, get_agent
from dialer.auth import require_self_or_manager
from dialer.clock import wall_now
from dialer.errors import BadInput, Forbidden
from dialer.promises import booking
from dialer.promises.models import PromiseStatus
from dialer.promises.schemas import PromiseIn, PromiseList, PromiseOut
from dialer.views.promises import promise_page, promise_view
from dialer.web import (
    Ctx,
    CtxDep,
    Id,
    ManagerCtxDep,
    credentials_of,
    get_runtime,
    parse_cursor,
    session_lifetime,
)
from dialer.wire import MAX_ID

router = APIRouter(tags=["promises"])

StatusFilter = Annotated[
    PromiseStatus | None, Query(description="scheduled, kept, missed, cancelled, rescheduled")
]


@router.post(
    "/api/leads/{lead_id}/promises",
    status_code=201,
    response_model=PromiseOut,
    responses={
        409: {
            "description": "the slot is full (`slot_taken`) or the time is outside calling "
            "hours (`outside_calling_hours`), both with the nearest bookable `suggestions`; "
            "or no claim on the lead (`not_claimed`), the lead closed, its phones on the "
            "do-not-call list"
        }
    },
)
def book_promise(lead_id: Id, body: PromiseIn, ctx: CtxDep) -> PromiseOut:
    """Books a callback (`in_minutes`, `at` or a `window`) in its owner's calendar:
    the agent holding the claim, or a manager for anyone. A lead's open promise
    is replaced (`rescheduled`)."""
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
    """An agent's promises, optionally of one `status`: the agent itself or a manager."""
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
    """Every promise, by `status` and campaign, a page at a time (`next_cursor`)."""
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
    """One promise: its owner, the agent who booked it, or a manager."""
    with ctx.tx() as tx:
        promise = booking.get_promise(tx.session, promise_id=promise_id)
        mine = tx.principal.id in (promise.agent_id, promise.booked_by_agent_id)
        if tx.principal.role != Role.manager and not mine:
            raise Forbidden("this promise belongs to another agent", code="not_your_resource")
        return promise_view(promise)


@router.delete(
    "/api/promises/{promise_id}",
    response_model=PromiseOut,
    responses={409: {"description": "the promise is not scheduled any more (`promise_closed`)"}},
)
def cancel_promise(
    promise_id: Id,
    ctx: CtxDep,
    reason: Annotated[str | None, Query(max_length=2000)] = None,
) -> PromiseOut:
    """Cancels a scheduled promise (`cancelled`, with the `reason`); the lead goes
    back to the pool as its history allows."""
    with ctx.tx() as tx:
        promise = booking.cancel(
            tx.session, principal=tx.principal, promise_id=promise_id, now=tx.now, reason=reason
        )
        return promise_view(promise)


@router.post(
    "/api/agents/{agent_id}/events/ticket", status_code=201, response_model=StreamTicketOut
)
def agent_events_ticket(agent_id: Id, ctx: CtxDep) -> StreamTicketOut:
    """A short-lived ticket for this agent's event stream (`?ticket=`), for
    clients that cannot send an Authorization header (a browser's EventSource)."""
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        get_agent(tx.session, agent_id=agent_id)
        ticket, expires_at = tickets.issue(
            principal=tx.principal, agent_id=agent_id, now=wall_now()
        )
        return StreamTicketOut(ticket=ticket, expires_at=expires_at)


@router.get(
    "/api/agents/{agent_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        400: {"description": "`Last-Event-ID` is not an event id this server sent"},
        # The token is read here, not by a dependency: EventSource sends `?ticket=`.
        401: {
            "description": "no bearer token, ticket or session cookie, or an unknown or ended one"
        },
        403: {"description": "another agent's stream (`not_your_resource`)"},
        404: {"description": "no such agent (`not_found`)"},
    },
)
def agent_events(
    agent_id: Id,
    request: Request,
    ticket: Annotated[
        str | None,
        Query(
            max_length=200,
            description="for EventSource, which cannot send headers: a ticket from "
            "POST /api/agents/{id}/events/ticket",
        ),
    ] = None,
    token: Annotated[
        str | None,
        Query(include_in_schema=False, description="refused: tokens do not go in URLs"),
    ] = None,
    last_event_id: Annotated[str | None, Header()] = None,
    last_event_id_query: Annotated[
        str | None,
        Query(
            alias="last_event_id",
            max_length=20,
            description="the `Last-Event-ID` for a new `EventSource`, which cannot send "
            "the header (the header wins when both are given)",
        ),
    ] = None,
) -> StreamingResponse:
    """Server-sent events: `promise_due`, `promise_missed`, `call_status`. Reconnect
    with `Last-Event-ID` to receive what was missed. Authorization: the bearer
    header, `?ticket=`, or the browser's session cookie."""
    if token is not None:
        # A token in a URL is written to every access log on its way; it is
        # refused, never used, so no client keeps sending one.
        raise BadInput(
            "token: bearer tokens are not accepted in the URL; send the Authorization "
            "header, or get a ticket from POST /api/agents/{id}/events/ticket and pass ?ticket=",
            field="token",
            code="token_in_url",
        )
    authorization = request.headers.get("authorization")
    runtime = get_runtime(request)
    after: int | None = None
    if not last_event_id and last_event_id_query:
        last_event_id = last_event_id_query
    if last_event_id:
        try:
            after = int(last_event_id)
        except ValueError:
            after = -1
        if not 0 <= after <= MAX_ID:
            raise BadInput(
                "Last-Event-ID is not an event id this server sent", field="Last-Event-ID"
            )
    web_session_id: int | None = None
    if authorization is None and ticket is not None:
        with runtime.db.read() as session:
            principal = tickets.redeem(session, ticket=ticket, agent_id=agent_id, now=wall_now())
            principal_id = principal.id
            get_agent(session, agent_id=agent_id)
            campaign_ids = campaign_ids_of(session, agent_id=agent_id)
    else:
        # The bearer header, or else a browser's session cookie.
        credentials = credentials_of(request)
        ctx = Ctx(runtime, authorization, "GET", manager_only=False, credentials=credentials)
        ctx.check()
        with ctx.tx() as tx:
            require_self_or_manager(tx.principal, agent_id=agent_id)
            principal_id = tx.principal.id
            get_agent(tx.session, agent_id=agent_id)
            campaign_ids = campaign_ids_of(tx.session, agent_id=agent_id)
            web_session_id = tx.web_session.id if tx.web_session is not None else None
    frames = events.stream(
        runtime.events, agent_id=agent_id, campaign_ids=campaign_ids, last_event_id=after
    )
    if web_session_id is not None:
        frames = sessions.ending_with_session(
            frames,
            db=runtime.db,
            session_id=web_session_id,
            clock=runtime.session_clock,
            lifetime=session_lifetime(runtime),
        )
    if principal_id == agent_id:
        # The agent's own console (not a manager watching): its presence counts.
        connection = presence.connected(runtime.db, agent_id=agent_id)
        frames = presence.tracked(
            frames, db=runtime.db, agent_id=agent_id, connection=connection, now_in=runtime.now_in
        )
    return StreamingResponse(
        frames,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
