"""The one row shape of a lead's history (`event`) for hand-written SQL: every
raw writer of `event` (status callbacks, lead import, the claim) builds its rows
here, so they bind the same columns in the same order, with the instant and the
JSON encoded as the ORM stores them. The ORM writer is `history.record`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from dialer.db import RawSql
from dialer.sql import insert

EVENT_COLUMNS = ("lead_id", "at", "kind", "actor", "detail")
INSERT_EVENT = insert("event.insert", "event", EVENT_COLUMNS, json=("detail",))


def event_row(
    raw: RawSql, *, lead_id: int, at: datetime, kind: str, actor: str, detail: Mapping[str, Any]
) -> tuple[Any, ...]:
    """One event, in EVENT_COLUMNS' order."""
    return (lead_id, raw.instant(at), kind, actor, raw.json(detail))


def event_rows(
    raw: RawSql, *, at: datetime, kind: str, actor: str, details: Iterable[tuple[int, str]]
) -> list[tuple[Any, ...]]:
    """Events of many leads at one instant, in EVENT_COLUMNS' order: `details`
    are (lead id, detail as JSON text), the text encoded already (an import's
    rows come encoded from the worker process) and the instant encoded once."""
    encoded = raw.instant(at)
    return [(lead_id, encoded, kind, actor, detail) for lead_id, detail in details]
