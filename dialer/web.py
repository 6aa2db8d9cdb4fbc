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
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPBearer
from sqlalchemy.orm import Session
from starlette.types import Scope

from dialer.agents.models import Agent
from dialer.auth import authenticate, require_manager
from dialer.db import Work
from dialer.errors import BadInput, Invalid

if TYPE_CHECKING:
    # Handed to routes by the app; the wiring builds it.
    from dialer.runtime import Runtime

# Documents the scheme in OpenAPI; the header itself is read raw so a malformed
# one ("Token abc") gets its own clear message instead of looking missing.
_bearer_doc = HTTPBearer(auto_error=False, description="Bearer token of an agent or manager")

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

    @property
    def writing(self) -> Work:
        assert self.work is not None, "a read-only request has no write transaction"
        return self.work


class Ctx:
    def __init__(
        self, runtime: Runtime, authorization: str | None, method: str, *, manager_only: bool
    ) -> None:
        self.runtime = runtime
        self.authorization = authorization
        self.method = method
        self.manager_only = manager_only

    def check(self) -> None:
        with self.runtime.db.read() as session:
            self._principal(session)

    def _principal(self, session: Session) -> Agent:
        principal = authenticate(session, authorization=self.authorization)
        if self.manager_only:
            require_manager(principal)
        return principal

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
        # Again inside the transaction: a token revoked meanwhile does not act.
        principal = self._principal(session)
        return Tx(
            session=session,
            principal=principal,
            now=self.runtime.now_in(session),
            runtime=self.runtime,
            work=work,
        )


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _ctx(request: Request, *, manager_only: bool) -> Ctx:
    ctx = Ctx(
        get_runtime(request),
        request.headers.get("authorization"),
        request.method,
        manager_only=manager_only,
    )
    ctx.check()
    return ctx


def ctx(request: Request, _doc: Any = Depends(_bearer_doc)) -> Ctx:
    return _ctx(request, manager_only=False)


def manager_ctx(request: Request, _doc: Any = Depends(_bearer_doc)) -> Ctx:
    return _ctx(request, manager_only=True)


CtxDep = Annotated[Ctx, Depends(ctx)]
ManagerCtxDep = Annotated[Ctx, Depends(manager_ctx)]


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
