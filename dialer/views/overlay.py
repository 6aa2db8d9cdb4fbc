"""Validating an output schema from an ORM row plus what the row does not hold."""

from __future__ import annotations

from typing import Any


class Overlay:
    """The attributes of `row`, with `extra` in front: a lead with its phones, an
    import with its first invalid rows. Read by `model_validate(...,
    from_attributes=True)`, so the schema, not a dict, says what goes out."""

    __slots__ = ("_extra", "_row")

    def __init__(self, row: object, **extra: Any) -> None:
        self._row = row
        self._extra = extra

    def __getattr__(self, name: str) -> Any:
        extra = self._extra
        if name in extra:
            return extra[name]
        return getattr(self._row, name)
