"""Wire types shared by every domain's schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer, field_validator


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


# Instants on the wire: ISO 8601 with an explicit +00:00 offset.
Instant = Annotated[datetime, PlainSerializer(_iso, return_type=str, when_used="json")]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Input(BaseModel):
    """Base of every request body: unknown fields are errors (a typo must not be
    silently ignored), and no string may hold NUL, which PostgreSQL cannot store
    and no human meant to type."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError("must not contain the NUL character (\\u0000)")
        return value
