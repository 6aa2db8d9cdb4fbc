"""Engines, sessions and transactions.

SQLite: WAL so readers never wait for the writer, and every writing transaction
starts with `BEGIN IMMEDIATE`. A deferred transaction that reads and then writes
must upgrade its lock, and SQLite fails that upgrade at once (SQLITE_BUSY) instead
of honouring busy_timeout — exactly the claim pattern. Taking the write lock
up front makes concurrent claims queue on busy_timeout instead of failing.

PostgreSQL: the same code; the claim query adds `FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator
from sqlmodel import create_engine

SQLITE_BUSY_TIMEOUT_MS = 30_000


class UTCDateTime(TypeDecorator[datetime]):
    """Instants are stored as UTC and always come back timezone-aware.

    SQLite has no time zone type; without this a naive datetime would leak out and
    be compared with aware ones (TypeError) or, worse, be read as local time."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an instant is required")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def normalize_url(url: str) -> str:
    """Accept the URLs hosting providers hand out (`postgres://`, `postgresql://`)
    and point them at psycopg 3, the driver we ship."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            json_serializer=_json_dumps,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_pre_ping=True,
        json_serializer=_json_dumps,
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own implicit BEGIN is deferred and cannot be made IMMEDIATE;
        # switch it off and emit BEGIN ourselves in the "begin" hook below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("sqlite_write", False):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


class Database:
    """Owns the engine and hands out one transaction at a time.

    `write()` is for anything that may write (every non-GET request, every
    scheduler job); `read()` for pure reads, which on SQLite must not take the
    write lock or they would queue behind the claim traffic."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, pool_size=pool_size)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        write_engine = self.engine.execution_options(sqlite_write=True)
        self._write = sessionmaker(bind=write_engine, expire_on_commit=False)
        self._read = sessionmaker(bind=self.engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._write() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def affected(result: Any) -> int:
    """Rows an UPDATE/DELETE touched: what a conditional update uses to know it won."""
    return int(getattr(result, "rowcount", 0) or 0)


def json_column(*, nullable: bool = False) -> Any:
    """A JSON column: JSONB on PostgreSQL, JSON text on SQLite. A fresh Column each
    call, because a Column object can belong to one table only."""
    from sqlalchemy import JSON, Column
    from sqlalchemy.dialects.postgresql import JSONB

    return Column(JSON().with_variant(JSONB(), "postgresql"), nullable=nullable)


def instant_column(*, nullable: bool = True, index: bool = False) -> Any:
    from sqlalchemy import Column

    return Column(UTCDateTime(), nullable=nullable, index=index)
