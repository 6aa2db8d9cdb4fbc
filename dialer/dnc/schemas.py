from __future__ import annotations

from pydantic import BaseModel, Field

from dialer.wire import Input, Instant


class DncIn(Input):
    phone: str = Field(min_length=1, max_length=64)
    reason: str = Field(default="", max_length=200)


class DncOut(BaseModel):
    id: int
    phone: str
    reason: str
    source: str
    created_at: Instant
    # Who listed it (`manager:1`); null for entries listed before it was kept.
    created_by: str | None = None


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


class DncEventOut(BaseModel):
    id: int
    phone: str
    at: Instant
    actor: str
    # The account's name when the actor is one (`manager:1`), else null.
    actor_name: str | None
    kind: str
    reason: str


class DncHistory(BaseModel):
    items: list[DncEventOut]
    next_cursor: str | None
