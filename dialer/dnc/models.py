from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from dialer.db import instant_column


class DncEntry(SQLModel, table=True):
    __tablename__ = "dnc_entry"

    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(sa_type=String(20), unique=True, index=True)
    reason: str = Field(default="", sa_type=String(200))
    source: str = Field(default="api", sa_type=String(64))
    created_at: datetime = Field(sa_column=instant_column(nullable=False))
    # Who listed it (`manager:1`); null for entries listed before it was kept.
    created_by: str | None = Field(default=None, sa_type=String(64))


class DncEventKind(StrEnum):
    added = "added"
    lifted = "lifted"
    imported = "imported"


class DncEvent(SQLModel, table=True):
    """The do-not-call list's audit: every phone listed (by hand or by a file)
    and every lift, who did it and why. Append-only: a lifted entry is gone from
    `dnc_entry`, its story stays here."""

    __tablename__ = "dnc_event"
    __table_args__ = (Index("ix_dnc_event_phone", "phone", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(sa_type=String(20))
    at: datetime = Field(sa_column=instant_column(nullable=False))
    actor: str = Field(sa_type=String(64))
    kind: str = Field(sa_type=String(16))
    reason: str = Field(default="", sa_type=String(200))
