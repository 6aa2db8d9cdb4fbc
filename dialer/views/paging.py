"""Keyset pages: the cursor is the last id of a full page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class _HasId(Protocol):
    @property
    def id(self) -> int | None: ...


def next_cursor(items: Sequence[_HasId], *, limit: int) -> str | None:
    # A short page is the last one: no cursor, so clients stop without an empty request.
    if len(items) < limit or not items:
        return None
    return str(items[-1].id)
