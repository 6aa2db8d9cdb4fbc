"""Wire types shared by every domain's schemas."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, TypeVar, cast, get_args
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    PlainSerializer,
    field_validator,
)
from pydantic_core import core_schema

from dialer.errors import Invalid


def _iso(value: datetime) -> str:
    # The offset the view gave it (see `localized`); a naive value is UTC, as stored.
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).isoformat()


# Instants on the wire: ISO 8601 with an explicit offset. UTC unless the view
# rendered its resource in the campaign's zone with `localized`.
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


_Out = TypeVar("_Out")


def localized(value: _Out, zone: tzinfo) -> _Out:
    """`value` (an output schema, or a list or dict of them) with every instant in
    it, nested ones included, shown in `zone`: the same instants, another offset.
    The one way a view renders a campaign's resource in the campaign's time zone:
    `return localized(CallOut.model_validate(...), zone_of(campaign))`. Strings
    are left alone (a lead's `raw` row is shown as given); JSON payloads holding
    instants as text go through `localized_payload`."""
    return cast(_Out, _localized(value, zone))


_LEAVES = (str, int, float, bool, type(None))


def _localized(value: Any, zone: tzinfo) -> Any:
    if type(value) in _LEAVES:  # most of what a walk meets: cheapest asked first
        return value
    if isinstance(value, datetime):
        return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(zone)
    if isinstance(value, BaseModel):
        changes = {}
        for name in _fields_with_instants(type(value)):
            old = getattr(value, name)
            new = _localized(old, zone)
            if new is not old:
                changes[name] = new
        return value.model_copy(update=changes) if changes else value
    if isinstance(value, list):
        items = [_localized(v, zone) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if isinstance(value, dict):
        entries = {k: _localized(v, zone) for k, v in value.items()}
        return entries if any(entries[k] is not v for k, v in value.items()) else value
    return value


@cache
def _fields_with_instants(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields whose type may hold an instant: the walk skips the others."""
    return tuple(
        name for name, info in model.model_fields.items() if _may_hold_instant(info.annotation)
    )


def _may_hold_instant(annotation: Any) -> bool:
    if annotation is Any or annotation is datetime:
        return True
    if isinstance(annotation, type):
        return issubclass(annotation, BaseModel)
    return any(_may_hold_instant(arg) for arg in get_args(annotation))


# Keys of stored JSON payloads (a lead's history, agent events) whose text is an
# instant: `*_at` by the house rule, and the two older names the API fixed.
_PAYLOAD_INSTANT_KEYS = frozenset({"window_end", "next_opening"})


def is_instant_key(key: str) -> bool:
    return key.endswith("_at") or key in _PAYLOAD_INSTANT_KEYS


def localized_payload(payload: dict[str, Any], zone: tzinfo) -> dict[str, Any]:
    """A stored JSON payload with its instants (ISO 8601 text with an offset,
    under an instant key) rewritten in `zone`; everything else as stored."""
    out = dict(payload)
    for key, text in payload.items():
        if not (isinstance(text, str) and is_instant_key(key)):
            continue
        try:
            instant = datetime.fromisoformat(text)
        except ValueError:
            continue
        if instant.tzinfo is not None:
            out[key] = instant.astimezone(zone).isoformat()
    return out


def wall_time_in(value: datetime, zone: ZoneInfo, *, field: str) -> datetime:
    """An input instant: with an offset, as given; without one, a wall-clock time
    in `zone` (the campaign's). A wall time the zone skips (clocks moved forward)
    is refused naming the field; one it repeats (clocks moved back) is the first."""
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    local = value.replace(tzinfo=zone, fold=0)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != value:
        raise Invalid(
            f"{field}: {value.isoformat()} does not exist in {zone.key} "
            "(the clocks skip it); give an offset or another time",
            field=field,
        )
    return local.astimezone(UTC)


def local_day(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The local day `day` in `zone` as UTC instants [start, end): 23 or 25 hours
    long on the days the clocks change."""
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


_DATE_ALONE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date_alone(value: Any) -> Any:
    # Told apart before the union sees it: a datetime would read "2026-12-01" as midnight.
    if isinstance(value, str) and _DATE_ALONE.fullmatch(value.strip()):
        return date.fromisoformat(value.strip())
    return value


def _wall_or_instant_in_range(value: datetime) -> datetime:
    # A wall time's zone is known only to the service: its year is what is bounded.
    if value.tzinfo is None:
        if not EARLIEST.year <= value.year < LATEST.year:
            raise ValueError("must be within the years 2000–2100")
        return value
    return _instant_in_range(value)


def _day_or_time_in_range(value: datetime | date) -> datetime | date:
    if isinstance(value, datetime):
        return _wall_or_instant_in_range(value)
    if not EARLIEST.year <= value.year < LATEST.year:
        raise ValueError("must be within the years 2000–2100")
    return value


# An input date-time: with an offset, an instant; without one, a wall time that
# its service reads in the campaign's zone (`wall_time_in`). Years 2000–2100.
WallOrInstantIn = Annotated[datetime, AfterValidator(_wall_or_instant_in_range)]

# An input that is a date alone (a local day) or a date-time (with an offset: an
# instant; without: a wall time), resolved in the campaign's zone by its service.
# Years 2000–2100.
DayOrTime = Annotated[
    datetime | date, BeforeValidator(_date_alone), AfterValidator(_day_or_time_in_range)
]


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
