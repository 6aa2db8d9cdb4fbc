"""What every route shares: the request's transaction, its principal and its `now`.

Authentication runs as a dependency, before the body is validated, so an
anonymous caller learns nothing about the API's rules and a 401/403 comes first.
The route then opens exactly one transaction through `Ctx.tx()`: the service
call and the commit happen inside it, so a rejected request changes nothing and
a committed one is complete before the response is written. The network effects
the flow registered (`dialer.db.after_commit`: dial, hang up) run as the
transaction ends, after its commit, also before the response is written."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Path, Query, Request
from fastapi.security import APIKeyCookie, HTTPBearer
from sqlalchemy.orm import Session
from starlette.types import Scope

from dialer.agents import sessions
from dialer.agents.models import Agent, WebSession
from dialer.auth import authenticate, require_manager
from dialer.db import Work
from dialer.errors import BadInput, DialerError, Forbidden, Invalid

if TYPE_CHECKING:
    # Handed to routes by the app; the wiring builds it.
    from dialer.runtime import Runtime

# Documents the scheme in OpenAPI; the header itself is read raw so a malformed
# one ("Token abc") gets its own clear message instead of looking missing.
_bearer_doc = HTTPBearer(auto_error=False, description="Bearer token of an agent or manager")
# Browsers: the session cookie POST /api/session sets (with X-CSRF-Token on
# requests that change something). Documented; read raw like the header.
_session_doc = APIKeyCookie(
    name=sessions.COOKIE,
    auto_error=False,
    description="the browser session (POST /api/session); requests other than GET/HEAD/"
    "OPTIONS also send X-CSRF-Token",
)

# Ids are 64-bit; anything larger is not an id of ours, and must not reach the
# database driver (which would overflow: a 500 instead of a 4xx).
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
# The same bound for an id given as a filter (`?campaign_id=`).
IdFilter = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
# A keyset cursor as the lists give it: the last id of a full page.
PageCursor = Annotated[
    str | None, Query(max_length=32, description="`next_cursor` of the page before")
]


@dataclass(frozen=True, slots=True)
class Tx:
    session: Session
    principal: Agent
    now: datetime
    runtime: Runtime
    work: Work | None  # writing requests: the transaction, for hand-written SQL
    # The browser session the request came with (cookie), None with a bearer token.
    web_session: WebSession | None = None

    @property
    def writing(self) -> Work:
        assert self.work is not None, "a read-only request has no write transaction"
        return self.work


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request shows to say who it is: a bearer token (programs) or the
    session cookie (browsers), with what a cookie request must bring along."""

    authorization: str | None = None
    cookie: str | None = None
    csrf_token: str | None = None  # the X-CSRF-Token header
    # The Origin header names another site than the one asked (None: it does not).
    foreign_origin: str | None = None
    # The browser session's routes (/api/session): only the cookie counts.
    cookie_only: bool = False


class Ctx:
    def __init__(
        self,
        runtime: Runtime,
        authorization: str | None,
        method: str,
        *,
        manager_only: bool,
        credentials: Credentials | None = None,
    ) -> None:
        self.runtime = runtime
        self.credentials = credentials or Credentials(authorization=authorization)
        self.method = method
        self.manager_only = manager_only

    @property
    def authorization(self) -> str | None:
        return self.credentials.authorization

    def check(self) -> None:
        with self.runtime.db.read() as session:
            _, row = self._principal(session)
        now = self.runtime.session_clock()
        if row is not None and sessions.needs_touch(row, now=now):
            # Its own short write, at most once a minute per session: a read
            # request stays a read transaction.
            assert row.id is not None
            with self.runtime.db.work() as work:
                sessions.touch(work.session, session_id=row.id, now=now)

    def still_allowed(self) -> bool:
        """Whether the request's credentials would still be let in now (a long
        response, an event stream, asks again while it runs)."""
        try:
            with self.runtime.db.read() as session:
                self._principal(session)
        except DialerError:
            return False
        return True

    def _principal(self, session: Session) -> tuple[Agent, WebSession | None]:
        creds = self.credentials
        row: WebSession | None = None
        if creds.authorization and not creds.cookie_only:
            # A bearer header wins: programs send it, and need no CSRF token.
            principal = authenticate(session, authorization=creds.authorization)
        elif creds.cookie or creds.cookie_only:
            if creds.foreign_origin is not None:
                raise Forbidden(
                    f"Origin {creds.foreign_origin!r} is another site: the session cookie "
                    "is accepted only from this service's own pages",
                    code="cross_origin",
                )
            row, principal = sessions.find(
                session,
                token=creds.cookie,
                now=self.runtime.session_clock(),
                lifetime=session_lifetime(self.runtime),
            )
            sessions.check_csrf(row, method=self.method, header=creds.csrf_token)
        else:
            principal = authenticate(session, authorization=None)
        if self.manager_only:
            require_manager(principal)
        return principal, row

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        db = self.runtime.db
        if self.method in ("GET", "HEAD"):
            with db.read() as session:
                yield self._tx(session, work=None)
        else:
            with db.work() as work:
                yield self._tx(work.session, work=work)

    def _tx(self, session: Session, *, work: Work | None) -> Tx:
        now = self.runtime.now_in(session)
        # Again inside the transaction: a token revoked meanwhile does not act.
        principal, row = self._principal(session)
        return Tx(
            session=session,
            principal=principal,
            now=now,
            runtime=self.runtime,
            work=work,
            web_session=row,
        )


@dataclass(frozen=True, slots=True)
class PageSession:
    """Who a console page is for: the signed-in account, as a page renders it."""

    agent_id: int
    name: str
    role: str
    csrf_token: str


def page_session(request: Request) -> PageSession | None:
    """The browser session of a page request (`GET /`), or None when the cookie
    is missing, ended or revoked (the page redirects to sign-in then). A page is
    a read: no CSRF token is asked, and the idle timer is not pushed back (the
    page's API calls do that)."""
    runtime = get_runtime(request)
    token = request.cookies.get(sessions.COOKIE)
    if not token:
        return None
    with runtime.db.read() as session:
        try:
            row, agent = sessions.find(
                session,
                token=token,
                now=runtime.session_clock(),
                lifetime=session_lifetime(runtime),
            )
        except DialerError:
            return None
        assert agent.id is not None
        return PageSession(
            agent_id=agent.id, name=agent.name, role=agent.role, csrf_token=row.csrf_token
        )


def session_lifetime(runtime: Runtime) -> sessions.Lifetime:
    settings = runtime.settings
    return sessions.Lifetime(
        absolute=timedelta(hours=settings.session_hours),
        idle=timedelta(minutes=settings.session_idle_minutes),
    )


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _origin_netloc(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if not host or parts.scheme not in _DEFAULT_PORTS:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or str(port) == _DEFAULT_PORTS[parts.scheme]:
        return host
    return f"{host}:{port}"


def _host_netloc(host: str) -> str:
    host = host.strip().lower()
    for default in _DEFAULT_PORTS.values():
        host = host.removesuffix(f":{default}")
    return host


def foreign_origin(request: Request) -> str | None:
    """The request's `Origin` when it names another site than the one asked (its
    `Host`, or DIALER_PUBLIC_URL's): what a browser sends with a request another
    site's page makes. None without an Origin header, or with this site's."""
    origin = request.headers.get("origin")
    if origin is None:
        return None
    netloc = _origin_netloc(origin)
    if netloc is not None:
        ours = {_host_netloc(request.headers.get("host", ""))}
        public = _origin_netloc(get_runtime(request).settings.public_url)
        if public is not None:
            ours.add(public)
        if netloc in ours:
            return None
    return origin[:200]


def credentials_of(request: Request, *, cookie_only: bool = False) -> Credentials:
    return Credentials(
        authorization=request.headers.get("authorization"),
        cookie=request.cookies.get(sessions.COOKIE),
        csrf_token=request.headers.get(sessions.CSRF_HEADER),
        foreign_origin=foreign_origin(request),
        cookie_only=cookie_only,
    )


def _ctx(request: Request, *, manager_only: bool, cookie_only: bool = False) -> Ctx:
    credentials = credentials_of(request, cookie_only=cookie_only)
    ctx = Ctx(
        get_runtime(request),
        credentials.authorization,
        request.method,
        manager_only=manager_only,
        credentials=credentials,
    )
    ctx.check()
    return ctx


def ctx(
    request: Request,
    _doc: Any = Depends(_bearer_doc),
    _cookie_doc: Any = Depends(_session_doc),
) -> Ctx:
    return _ctx(request, manager_only=False)


def manager_ctx(
    request: Request,
    _doc: Any = Depends(_bearer_doc),
    _cookie_doc: Any = Depends(_session_doc),
) -> Ctx:
    return _ctx(request, manager_only=True)


def session_ctx(request: Request, _doc: Any = Depends(_session_doc)) -> Ctx:
    return _ctx(request, manager_only=False, cookie_only=True)


CtxDep = Annotated[Ctx, Depends(ctx)]
ManagerCtxDep = Annotated[Ctx, Depends(manager_ctx)]
# The browser session's own routes: the session cookie, never a bearer token.
SessionCtxDep = Annotated[Ctx, Depends(session_ctx)]


def parse_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    try:
        value = int(cursor)
    except ValueError:
        raise BadInput(f"cursor {cursor!r} is not one this server gave", field="cursor") from None
    if not 0 <= value < 2**63:
        raise BadInput(f"cursor {cursor!r} is not one this server gave", field="cursor")
    return value


def parse_page_cursor(cursor: str | None) -> int | None:
    """A list's cursor, refused with 422 `bad_cursor` when no page gave it."""
    if cursor is None or cursor == "":
        return None
    if cursor.isascii() and cursor.isdigit() and 0 < int(cursor) < 2**63:
        return int(cursor)
    raise Invalid(
        f"cursor {cursor!r} is not one this server gave", code="bad_cursor", field="cursor"
    )


def app_path(scope: Scope) -> str:
    """The request's path below the app's root (`/webhooks/twilio/status`), as the
    routes see it. Served with a root path (`uvicorn --root-path /dialer`, behind
    a proxy that strips that prefix) the ASGI `path` carries the prefix
    (`/dialer/webhooks/twilio/status`); what is decided by path (body limits,
    the URL a webhook was signed for) must look below it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "").rstrip("/")
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root) :] or "/"
    return path
