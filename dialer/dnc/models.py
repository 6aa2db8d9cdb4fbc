from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from dialer.db import instant_column


class DncEntry(SQLModel, table=True):
    __tablename__ = "dnc_entry"

    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(sa_type=String(20), unique=True, index=True)
    reason: str = Field(default="", sa_type=String(200))
    source: str = Field(default="api", sa_type=String(64))
    created_at: datetime = Field(sa_column=instant_column(nullable=False))
