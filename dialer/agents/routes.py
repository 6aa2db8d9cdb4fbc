from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from dialer.agents import deactivation, passwords, queue, service, sessions
from dialer.agents.models import Role
from dialer.agents.schemas import (
    AccountEventList,
    AgentCreate,
    AgentCreated,
    AgentDeactivated,
    AgentList,
    AgentOut,
    AgentQueueOut,
    AgentStateIn,
    AgentUpdate,
    DeactivateIn,
    NextLeadOut,
    NothingCallableOut,
    PasswordIn,
    RoleFilter,
    SessionOut,
    SignInIn,
    VoiceTokenOut,
)
from dialer.auth import actor_of, require_self_or_manager
from dialer.campaign.service import get_campaign
from dialer.clock import wall_now
from dialer.errors import Forbidden
from dialer.reports.schemas import AgentDayStats
from dialer.reports.service import agent_day
from dialer.telephony.twilio import voice_token_for
from dialer.views.agents import (
    account_history_page,
    agent_created,
    agent_page,
    agent_view,
    deactivation_view,
    next_lead_view,
)
from dialer.views.floor import FloorOut, floor_stream
from dialer.views.queue import agent_queue as agent_queue_view
from dialer.views.queue import nothing_callable
from dialer.web import (
    Ctx,
    CtxDep,
    Id,
    ManagerCtxDep,
    SessionCtxDep,
    credentials_of,
    foreign_origin,
    get_runtime,
    parse_cursor,
    session_lifetime,
)

router = APIRouter(prefix="/api/agents", tags=["agents"])
session_router = APIRouter(prefix="/api/session", tags=["session"])


@router.post("", status_code=201, response_model=AgentCreated)
def create_agent(body: AgentCreate, ctx: ManagerCtxDep) -> AgentCreated:
    """Creates an agent on the given campaigns, `available`, with its sign-in
    `password` when given (a refused one creates nothing). Its bearer `token` is
    in this answer only (the service keeps a digest)."""
    with ctx.tx() as tx:
        agent, token = passwords.create_account(
            tx.session,
            name=body.name,
            role=body.role,
            campaign_ids=body.campaign_ids,
            endpoint=body.endpoint,
            password=body.password,
            now=tx.now,
            actor=actor_of(tx.principal),
        )
        return agent_created(tx.session, agent=agent, token=token)


@router.get("", response_model=AgentList)
def list_agents(
    ctx: ManagerCtxDep,
    role: Annotated[RoleFilter, Query(description="agent (the default), manager, or any")] = (
        RoleFilter.agent
    ),
    active: Annotated[
        bool | None, Query(description="true: active only; false: deactivated")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    cursor: str | None = None,
) -> AgentList:
    """Agents and managers, without tokens, filtered by role and active, paginated."""
    with ctx.tx() as tx:
        agents = service.list_agents(
            tx.session,
            role=None if role == RoleFilter.any else Role(role),
            active=active,
            limit=limit,
            after_id=parse_cursor(cursor),
        )
        return agent_page(tx.session, agents=agents, limit=limit)


@router.get("/{agent_id}", response_model=AgentOut)
def get_agent(agent_id: Id, ctx: CtxDep) -> AgentOut:
    """One agent: its campaigns, endpoint and state. An agent may read itself."""
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        return agent_view(tx.session, agent=service.get_account(tx.session, agent_id=agent_id))


@router.patch("/{agent_id}", response_model=AgentOut)
def update_agent(agent_id: Id, body: AgentUpdate, ctx: ManagerCtxDep) -> AgentOut:
    """Rename, reassign to campaigns, move the endpoint: only the fields given change."""
    with ctx.tx() as tx:
        agent = service.update(
            tx.session,
            agent_id=agent_id,
            changes=body.changes(),
            actor=actor_of(tx.principal),
            now=tx.now,
        )
        return agent_view(tx.session, agent=agent)


@router.put("/{agent_id}/state", response_model=AgentOut)
def set_state(agent_id: Id, body: AgentStateIn, ctx: CtxDep) -> AgentOut:
    """`available` (takes leads; ends a wrap-up at once), `paused` (optionally with a
    `pause_code` of its campaigns) or `offline`: the agent itself or a manager."""
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        agent = service.set_state(
            tx.session,
            agent_id=agent_id,
            state=body.state,
            pause_code=body.pause_code,
            now=tx.now,
        )
        return agent_view(tx.session, agent=agent)


@router.post("/{agent_id}/deactivate", response_model=AgentDeactivated)
def deactivate_agent(
    agent_id: Id, ctx: ManagerCtxDep, body: Annotated[DeactivateIn | None, Body()] = None
) -> AgentDeactivated:
    """The token stops working at once; the claim is released and the promises are
    handed over by each campaign's `on_missed` rule."""
    with ctx.tx() as tx:
        done = deactivation.deactivate(
            tx.session,
            agent_id=agent_id,
            promises_to=body.promises_to if body is not None else None,
            actor=actor_of(tx.principal),
            now=tx.now,
            bootstrap_token=tx.runtime.settings.bootstrap_token,
        )
        return deactivation_view(tx.session, done=done)


@router.post("/{agent_id}/reactivate", response_model=AgentCreated)
def reactivate_agent(agent_id: Id, ctx: ManagerCtxDep) -> AgentCreated:
    """Active again, offline, with a new token shown once (the old one stays dead)."""
    with ctx.tx() as tx:
        agent, token = service.reactivate(
            tx.session, agent_id=agent_id, actor=actor_of(tx.principal), now=tx.now
        )
        return agent_created(tx.session, agent=agent, token=token)


@router.post("/{agent_id}/token", response_model=AgentCreated)
def new_token(agent_id: Id, ctx: CtxDep) -> AgentCreated:
    """A new token, shown once; the old one is refused from this answer on. A
    manager for any account, an agent for itself."""
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        agent = service.get_account(tx.session, agent_id=agent_id, lock=True)
        token = service.rotate_token(
            tx.session,
            agent=agent,
            now=tx.now,
            actor=actor_of(tx.principal),
            bootstrap_token=tx.runtime.settings.bootstrap_token,
        )
        return agent_created(tx.session, agent=agent, token=token)


@router.put(
    "/{agent_id}/password",
    status_code=204,
    responses={
        403: {
            "description": "an agent for another account (`not_your_resource`), or without"
            " its right `current_password` (`wrong_password`)"
        },
        409: {"description": "another account with a password has this name (`name_taken`)"},
    },
)
def set_password(agent_id: Id, body: PasswordIn, ctx: CtxDep) -> Response:
    """Sets the account's sign-in password: a manager for any account, an agent
    for itself with its `current_password`. Unlocks the name and ends the
    account's other browser sessions."""
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        passwords.set_password(
            tx.session,
            agent_id=agent_id,
            password=body.password,
            current_password=body.current_password,
            principal=tx.principal,
            actor=actor_of(tx.principal),
            keep_session_id=tx.web_session.id if tx.web_session is not None else None,
            now=tx.now,
        )
    return Response(status_code=204)


@router.get("/{agent_id}/history", response_model=AccountEventList)
def account_history(
    agent_id: Id,
    ctx: ManagerCtxDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    cursor: str | None = None,
) -> AccountEventList:
    """An account's own history (created, renamed, token rotated, deactivated,
    reactivated), oldest first; never a token."""
    with ctx.tx() as tx:
        service.get_account(tx.session, agent_id=agent_id)
        events = service.account_history(
            tx.session, agent_id=agent_id, limit=limit, after_id=parse_cursor(cursor)
        )
        return account_history_page(events, limit=limit)


@router.post(
    "/{agent_id}/next",
    response_model=NextLeadOut | NothingCallableOut,
    responses={
        200: {
            "description": "the lead claimed; or, with `explain=true` and nothing callable,"
            " why not and when something next becomes callable (`lead` is null)",
            "headers": {
                "Retry-After": {
                    "description": "with explain=true and nothing callable: seconds (clock"
                    " time) until next_callable_at",
                    "schema": {"type": "integer"},
                }
            },
        },
        204: {"description": "nothing callable now"},
        409: {
            "description": "the agent is not `available` (`agent_not_available`), is"
            " deactivated (`account_deactivated`), or is wrapping up after a disposition"
            " (`in_wrapup`, with `wrapup_until`)"
        },
    },
)
def next_lead(
    agent_id: Id,
    ctx: CtxDep,
    explain: Annotated[
        bool,
        Query(
            description="answer 200 with the reason and the next callable instant instead"
            " of a bare 204 when nothing is callable now"
        ),
    ] = False,
) -> Any:
    """Claims the next lead for this agent and returns it with why it comes now
    (`promise`, `retry`, `new`): its own due promises first, then promises due for
    anyone, then due retries, then new leads by priority. Asking again while
    holding a claim returns the same lead; an unused claim expires. Nothing
    callable: a bare 204, or with `explain=true` why and until when."""
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        agent = service.get_active_agent(tx.session, agent_id=agent_id)
        service.check_not_wrapping_up(tx.session, agent=agent, now=tx.now)
        got = queue.claim_next(
            tx.writing,
            agent_id=agent_id,
            now=tx.now,
            ttl=tx.runtime.claim_ttl,
        )
        if got is None:
            if not explain:
                # The default stays a bare 204 (the contract), and as cheap as the claim.
                return Response(status_code=204)
            why = nothing_callable(tx.session, agent_id=agent_id, now=tx.now)
            headers = {} if why.retry_after is None else {"Retry-After": str(why.retry_after)}
            return JSONResponse(why.model_dump(mode="json"), headers=headers)
        return next_lead_view(
            tx.session,
            lead_id=got.lead_id,
            reason=got.reason,
            claim_expires_at=got.claim_expires_at,
        )


@router.delete(
    "/{agent_id}/claim",
    status_code=204,
    responses={409: {"description": "a call to the claimed lead is live (`call_live`)"}},
)
def release_claim(agent_id: Id, ctx: CtxDep) -> Response:
    """Lets go of the lead the agent holds: it goes back where it was, no attempt
    counted (`claim_released` in its history, with who did it). No claim: nothing
    changes. The agent itself or a manager."""
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        service.release_claim(
            tx.session, agent_id=agent_id, actor=actor_of(tx.principal), now=tx.now
        )
    return Response(status_code=204)


@router.get("/{agent_id}/queue", response_model=AgentQueueOut)
def agent_queue(agent_id: Id, ctx: CtxDep) -> AgentQueueOut:
    """The queue diagnosis of each of the agent's campaigns as its queue sees them
    (another agent's promise leads count as `promise_pending`), and when something
    next becomes callable for it. The agent itself or a manager."""
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        agent = service.get_agent(tx.session, agent_id=agent_id)
        return agent_queue_view(tx.session, agent=agent, now=tx.now)


@router.get("/{agent_id}/stats", response_model=AgentDayStats)
def agent_stats(
    agent_id: Id,
    ctx: CtxDep,
    date: Annotated[
        dt.date | None,
        Query(
            ge=dt.date(2000, 1, 1),
            le=dt.date(2100, 12, 31),
            description="a local day (2026-12-01), in each campaign's time zone; default today",
        ),
    ] = None,
) -> dict[str, Any]:
    """The agent's own figures for a day in each of its campaigns (calls, contacts,
    talk time, conversions, promises made / kept / missed), counted as
    `/api/reports/agents` counts them, and their total. The agent itself or a manager."""
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        agent = service.get_agent(tx.session, agent_id=agent_id)
        return agent_day(tx.session, agent_id=agent_id, name=agent.name, now=tx.now, day=date)


@router.post(
    "/{agent_id}/voice-token",
    response_model=VoiceTokenOut,
    responses={
        409: {
            "description": "outside twilio mode (`not_twilio_mode`), without"
            " TWILIO_API_KEY_SID / TWILIO_API_KEY_SECRET (`voice_keys_missing`), the"
            " agent's endpoint is not `client:<identity>` (`no_client_endpoint`), or it"
            " is deactivated (`account_deactivated`)"
        }
    },
)
def voice_token(agent_id: Id, ctx: CtxDep) -> VoiceTokenOut:
    """A Twilio Access Token for the agent's browser softphone: with it Twilio's
    Voice SDK registers as the agent's `client:<identity>` endpoint, so answered
    calls ring there. The agent itself or a manager."""
    with ctx.tx() as tx:
        require_self_or_manager(tx.principal, agent_id=agent_id)
        agent = service.get_active_agent(tx.session, agent_id=agent_id)
        # Real time, also under the simulated clock: Twilio checks the token's
        # validity against its own clock (like the event stream's tickets).
        got = voice_token_for(settings=tx.runtime.settings, endpoint=agent.endpoint, now=wall_now())
        return VoiceTokenOut(token=got.token, identity=got.identity, expires_at=got.expires_at)


def _secure(request: Request) -> bool:
    """Whether the cookie is for https only: the service is published over
    https, or this request came over it."""
    public = get_runtime(request).settings.public_url
    return public.lower().startswith("https://") or request.url.scheme == "https"


@session_router.post(
    "",
    response_model=SessionOut,
    responses={
        200: {
            "headers": {
                "Set-Cookie": {
                    "description": f"{sessions.COOKIE}=…; HttpOnly; SameSite=Lax; Path=/"
                    " (Secure over https)",
                    "schema": {"type": "string"},
                }
            }
        },
        401: {
            "description": "wrong name or password (`bad_credentials`), a deactivated"
            " account (`account_deactivated`)"
        },
        403: {"description": "sent from another site's page (`cross_origin`)"},
        423: {"description": "the name is locked after 10 failures (`account_locked`)"},
        429: {"description": "too soon after repeated failures (`sign_in_backoff`)"},
    },
)
def sign_in(body: SignInIn, request: Request) -> JSONResponse:
    """Signs in with name and password: sets the session cookie and answers the
    account and the session's CSRF token. Repeated failures are slowed down,
    then the name is locked."""
    origin = foreign_origin(request)
    if origin is not None:
        raise Forbidden(
            f"Origin {origin!r} is another site: sign in from this service's own pages",
            code="cross_origin",
        )
    runtime = get_runtime(request)
    lifetime = session_lifetime(runtime)
    got = passwords.sign_in(
        runtime.db,
        name=body.name,
        password=body.password,
        now_in=runtime.now_in,
        session_clock=runtime.session_clock,
        lifetime=lifetime,
        lockout=dt.timedelta(minutes=runtime.settings.sign_in_lockout_minutes),
        replaces=request.cookies.get(sessions.COOKIE),
    )
    with runtime.db.read() as session:
        agent = service.get_account(session, agent_id=got.agent.id or 0)
        out = SessionOut(
            agent=agent_view(session, agent=agent),
            csrf_token=got.csrf_token,
            expires_at=got.expires_at,
        )
    response = JSONResponse(out.model_dump(mode="json"))
    response.set_cookie(
        sessions.COOKIE,
        got.token,
        max_age=int(lifetime.absolute.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    return response


@session_router.get(
    "",
    response_model=SessionOut,
    responses={401: {"description": "no session cookie, or an ended one (`no_session`)"}},
)
def current_session(ctx: SessionCtxDep) -> SessionOut:
    """The signed-in account and its CSRF token, from the session cookie (a page
    loaded anew learns both here)."""
    with ctx.tx() as tx:
        assert tx.web_session is not None
        return SessionOut(
            agent=agent_view(tx.session, agent=tx.principal),
            csrf_token=tx.web_session.csrf_token,
            expires_at=sessions.expires_at(tx.web_session, lifetime=session_lifetime(tx.runtime)),
        )


@session_router.delete(
    "",
    status_code=204,
    responses={
        401: {"description": "no session cookie, or an ended one (`no_session`)"},
        403: {"description": "no or a wrong X-CSRF-Token (`csrf_missing`, `csrf_mismatch`)"},
    },
)
def sign_out(request: Request, ctx: SessionCtxDep) -> Response:
    """Signs out: the session ends and the cookie is cleared."""
    with ctx.tx() as tx:
        assert tx.web_session is not None and tx.web_session.id is not None
        passwords.sign_out(tx.session, row_id=tx.web_session.id, agent=tx.principal, now=tx.now)
    response = Response(status_code=204)
    response.delete_cookie(
        sessions.COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request)
    )
    return response


# The live floor (manager): a campaign's snapshot, and the stream of its changes.
floor_router = APIRouter(prefix="/api/floor", tags=["floor"])

FloorCampaign = Annotated[
    int, Query(ge=1, le=2**63 - 1, description="the campaign whose floor is shown")
]


@floor_router.get(
    "",
    response_model=FloorOut,
    responses={404: {"description": "no such campaign (`campaign_not_found`)"}},
)
def floor(campaign_id: FloorCampaign, ctx: ManagerCtxDep) -> FloorOut:
    """A campaign's live floor: its agents and what each is doing, calls live,
    promises due soon and missed today, the queue diagnosis (null until this
    worker's first is computed), a dialing block, and progressive pacing."""
    with ctx.tx() as tx:
        return tx.runtime.floor.snapshot(tx.session, campaign_id=campaign_id, now=tx.now)


@floor_router.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        401: {"description": "no bearer token or session cookie, or an unknown or ended one"},
        403: {"description": "not a manager"},
        404: {"description": "no such campaign (`campaign_not_found`)"},
    },
)
def floor_events(campaign_id: FloorCampaign, request: Request) -> StreamingResponse:
    """Server-sent events: `floor`, the whole snapshot of `GET /api/floor`, at once
    and again within a second of any change. Authorization: the bearer header, or
    the browser's session cookie (the stream then ends with its session)."""
    runtime = get_runtime(request)
    credentials = credentials_of(request)
    ctx = Ctx(runtime, credentials.authorization, "GET", manager_only=True, credentials=credentials)
    ctx.check()
    with ctx.tx() as tx:
        get_campaign(tx.session, campaign_id=campaign_id)
    # Asked again at each keep-alive, as at the start: a cookie signed out or
    # past its end, a token replaced, a manager deactivated — the floor (names,
    # numbers) stops reaching them.
    frames = sessions.ending_unless(
        floor_stream(runtime.floor, campaign_id=campaign_id), still_allowed=ctx.still_allowed
    )
    return StreamingResponse(
        frames,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
