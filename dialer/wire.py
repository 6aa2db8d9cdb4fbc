"""Wire types shared by every domain's schemas."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    PlainSerializer,
    field_validator,
)
from pydantic_core import core_schema


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


# Instants on the wire: ISO 8601 with an explicit +00:00 offset.
Instant = Annotated[datetime, PlainSerializer(_iso, return_type=str, when_used="json")]

# The ids of rows: what a BIGINT holds (a larger one is refused, not a 500).
MAX_ID = 2**63 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
# Longest list of ids a body may carry.
MAX_IDS = 1000

# Instants and dates a request may give: the years 2000 to 2100 (UTC), so that
# nothing computed from them (a day's end, a time zone's offset, a schedule)
# leaves what a datetime holds.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2101, 1, 1, tzinfo=UTC)  # exclusive


def in_range(value: datetime) -> bool:
    """Whether an aware instant lies in the years 2000–2100 (UTC)."""
    try:
        return EARLIEST <= value.astimezone(UTC) < LATEST
    except OverflowError:  # '0001-01-01T00:00+01:00' is before year 1 in UTC
        return False


def _instant_in_range(value: datetime) -> datetime:
    if not in_range(value):
        raise ValueError("must be within the years 2000–2100")
    return value


# An instant a request gives: with an offset, within the years 2000–2100.
InstantIn = Annotated[AwareDatetime, AfterValidator(_instant_in_range)]


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


class Members:
    """Marks an enum field that admits only some of its enum's members, e.g.
    `Annotated[LeadStatus, Members(PUBLIC_LEAD_STATUSES)]`: validated and documented
    as that subset (with the same error as a `Literal`), and typed as the enum, so
    the subset is written once, from the enum itself. A set is listed in the
    enum's order, a sequence in its own (the order a 422 names the choices in)."""

    def __init__(self, members: Iterable[StrEnum]) -> None:
        self.in_enum_order = isinstance(members, set | frozenset)
        self.members = tuple(members)

    def __get_pydantic_core_schema__(
        self, source: type[StrEnum], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        ordered = [m for m in source if m in self.members] if self.in_enum_order else self.members
        return core_schema.no_info_after_validator_function(
            source, core_schema.literal_schema([m.value for m in ordered])
        )
