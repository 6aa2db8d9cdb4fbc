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
