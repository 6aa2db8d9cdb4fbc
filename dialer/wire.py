"""Wire types shared by every domain's schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import PlainSerializer


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


# Instants on the wire: ISO 8601 with an explicit +00:00 offset.
Instant = Annotated[datetime, PlainSerializer(_iso, return_type=str, when_used="json")]
