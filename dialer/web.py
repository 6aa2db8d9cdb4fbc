"""What every route shares: the request's transaction, its principal and its `now`.

A route opens exactly one transaction through `Ctx.tx()`: authentication, the
service call and the commit all happen inside it, so a rejected request changes
nothing and a committed one is complete before the response is written."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.orm import Session

from dialer.agents.models import Agent
from dialer.auth import authenticate, require_manager
from dialer.errors import BadInput
from dialer.runtime import Runtime

bearer = HTTPBearer(auto_error=False, description="Bearer token of an agent or manager")


@dataclass(frozen=True, slots=True)
class Tx:
    session: Session
    principal: Agent
    now: datetime
    runtime: Runtime


class Ctx:
    def __init__(self, runtime: Runtime, authorization: str | None, method: str) -> None:
        self.runtime = runtime
        self.authorization = authorization
        self.method = method

    @contextmanager
    def tx(self, *, manager: bool = False) -> Iterator[Tx]:
        db = self.runtime.db
        opener = db.read if self.method in ("GET", "HEAD") else db.write
        with opener() as session:
            principal = authenticate(session, authorization=self.authorization)
            if manager:
                require_manager(principal)
            yield Tx(
                session=session,
                principal=principal,
                now=self.runtime.now_in(session),
                runtime=self.runtime,
            )


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def ctx(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Ctx:
    header = f"Bearer {credentials.credentials}" if credentials else None
    return Ctx(get_runtime(request), header, request.method)


CtxDep = Annotated[Ctx, Depends(ctx)]


class Page(BaseModel):
    next_cursor: str | None = None


def parse_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    try:
        value = int(cursor)
    except ValueError:
        raise BadInput(f"cursor {cursor!r} is not one this server gave", field="cursor") from None
    return value


def next_cursor(items: list[Any], *, limit: int) -> str | None:
    if len(items) < limit or not items:
        return None
    return str(items[-1].id)
