"""Engines, sessions and transactions.

SQLite: WAL so readers never wait for the writer, and every writing transaction
starts with `BEGIN IMMEDIATE`. A deferred transaction that reads and then writes
must upgrade its lock, and SQLite fails that upgrade at once (SQLITE_BUSY) instead
of honouring busy_timeout — exactly the claim pattern. Taking the write lock
up front makes concurrent claims queue on busy_timeout instead of failing.

PostgreSQL: the same code; the claim query adds `FOR UPDATE SKIP LOCKED`.
Which of the two is in use is asked one way: `is_postgres(...)`.

Network side effects (dial, hang up) never run inside a transaction: the flow
that decides one registers it with `after_commit`, and the unit of work runs it
once the commit succeeded and the connection went back to the pool (SQLite's
one write lock must not wait on the provider; a rollback sends nothing).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import DateTime, event
from sqlalchemy.engine import URL, Connection, Dialect, Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.types import TypeDecorator
from sqlmodel import create_engine

from dialer.metrics import AFTER_COMMIT_FAILURES

log = logging.getLogger("dialer.db")

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Parameters per `IN (...)` on SQLite: well under its limit.
_IN_CHUNK = 900


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


def _driver_sql(connection: Connection, statement: str) -> None:
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


def _direct_savepoints(engine: Engine) -> Engine:
    """SAVEPOINT, RELEASE SAVEPOINT and ROLLBACK TO SAVEPOINT go straight to
    the driver: SQLAlchemy builds and compiles a clause object for each, and
    a job's batch and each call a dial round places take one savepoint (two
    statements): ~0.1 ms each, the cost of a small query. `Connection` keeps
    its own account of the nested transactions (and fires its savepoint
    events); the dialect's methods only say the SQL, which is the same."""
    dialect: Any = engine.dialect
    quote = dialect.identifier_preparer.quote

    def do_savepoint(connection: Connection, name: str) -> None:
        _driver_sql(connection, f"SAVEPOINT {quote(name)}")

    def do_release_savepoint(connection: Connection, name: str) -> None:
        _driver_sql(connection, f"RELEASE SAVEPOINT {quote(name)}")

    def do_rollback_to_savepoint(connection: Connection, name: str) -> None:
        _driver_sql(connection, f"ROLLBACK TO SAVEPOINT {quote(name)}")

    dialect.do_savepoint = do_savepoint
    dialect.do_release_savepoint = do_release_savepoint
    dialect.do_rollback_to_savepoint = do_rollback_to_savepoint
    return engine


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=pool_size,
            max_overflow=pool_size * 2,
            # The most recently used connection has the warmest page cache.
            pool_use_lifo=True,
            json_serializer=_json_dumps,
        )
        _configure_sqlite(engine)
        return _direct_savepoints(engine)
    return _direct_savepoints(
        create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size * 2,
            pool_use_lifo=True,
            # No pre-ping: it costs a round trip on every checkout, the claim path's
            # largest fixed cost. A connection the server dropped fails its statement,
            # SQLAlchemy invalidates the pool, and the request answers 503 (retry);
            # recycling keeps idle connections from outliving server-side timeouts.
            pool_recycle=1800,
            json_serializer=_json_dumps,
        )
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
        # Straight to the driver: BEGIN needs no statement bookkeeping, and this runs
        # for every transaction of every request.
        dbapi = conn.connection.driver_connection
        if dbapi.in_transaction:
            return  # a Work began it already, with the write lock
        statement = (
            "BEGIN IMMEDIATE" if conn.get_execution_options().get("sqlite_write") else "BEGIN"
        )
        dbapi.execute(statement)


# What runs once a unit of work has committed: a network side effect.
AfterCommit = Callable[[], None]

# Where a unit of work's ORM session points back at it, so that code holding
# only the session can register after-commit actions.
_WORK_KEY = "dialer.work"


class Work:
    """One write transaction on one pooled connection: hand-written SQL through
    `raw`, and an ORM session on the same connection and transaction, made only
    when asked for. The claim path runs on `raw` alone and pays nothing for the
    ORM or for SQLAlchemy's connection bookkeeping.

    A unit of work: actions registered with `after_commit` run, in order, after
    the commit succeeded, outside any transaction; after a rollback none does.

    `held`: a pooled connection the caller keeps across transactions (Bulk);
    otherwise one is checked out now and handed back at the end."""

    def __init__(self, engine: Engine, *, held: Any = None) -> None:
        self._engine = engine
        self.url = _url_text(engine.url)
        self.postgres = engine.dialect.name == "postgresql"
        self._held = held is not None
        self._pooled = held if held is not None else engine.raw_connection()
        dbapi: Any = self._pooled.driver_connection
        if not self.postgres:
            # Take the write lock now; see the module docstring. psycopg opens its
            # transaction implicitly with the first statement.
            try:
                dbapi.execute("BEGIN IMMEDIATE")
            except BaseException:
                if not self._held:
                    self._pooled.close()
                raise
        self._dbapi = dbapi
        self.raw = RawSql(dbapi, postgres=self.postgres)
        self._connection: Connection | None = None
        self._session: Session | None = None
        # None once the transaction has ended: nothing could run a late action.
        self._after: list[tuple[str, AfterCommit]] | None = []
        # The session's transaction and savepoint `raw_of` last began.
        self._begun: tuple[Any, Any] | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            self._connection = Connection(self._engine, connection=self._pooled)
            self._session = Session(bind=self._connection, expire_on_commit=False)
            self._session.info[_WORK_KEY] = self
        return self._session

    def after_commit(self, action: AfterCommit, *, name: str) -> None:
        """Run `action` once this transaction has committed (never if it rolls
        back). `name` labels its failures in logs and metrics."""
        if self._after is None:
            raise RuntimeError(f"after_commit({name!r}) on a transaction that has ended")
        self._after.append((name, action))

    def flush(self) -> None:
        """Write what the ORM holds, so hand-written SQL after this sees it."""
        if self._session is not None:
            self._session.flush()

    def _commit(self) -> None:
        if self._session is not None:
            # What the ORM holds is written; the transaction is this
            # connection's own, committed below. The session's bookkeeping of
            # it (its commit: events, state changes, the connection's commit
            # through SQLAlchemy) is not needed: `_close` expunges its rows
            # (detached, as a commit leaves them with expire_on_commit off) and
            # ends its account of the transaction, which the driver has
            # committed already (nothing is left to roll back).
            self._session.flush()
        self._dbapi.commit()

    def _rollback(self) -> None:
        self._after = None
        if self._session is not None:
            self._session.rollback()
        self._dbapi.rollback()

    def _run_after_commit(self) -> None:
        actions, self._after = self._after or [], None
        for name, action in actions:
            try:
                action()
            except Exception:
                # The transaction is committed and its response stands; what did
                # not happen at the provider is for reconciliation to settle.
                log.exception("after-commit action %s failed", name)
                AFTER_COMMIT_FAILURES.labels(name).inc()

    def _close(self) -> None:
        if self._session is not None:
            self._session.info.pop(_WORK_KEY, None)  # no cycle left for the GC
            self._session.close()
        if self._held:
            return  # the holder hands the connection back
        if self._connection is not None:
            self._connection.close()  # hands the pooled connection back
        else:
            self._pooled.close()


def after_commit(session: Session, action: AfterCommit, *, name: str) -> None:
    """`Work.after_commit` for code that holds only the unit of work's session.
    A session of no unit of work (a read) has no commit to wait for: an error."""
    work = session.info.get(_WORK_KEY)
    if not isinstance(work, Work):
        raise RuntimeError(f"after_commit({name!r}) outside a write transaction")
    work.after_commit(action, name=name)


def raw_of(session: Session) -> RawSql | None:
    """The hand-written SQL of the unit of work that holds `session` (its very
    connection and transaction), or None for a session of no unit of work (and
    for a test's stand-in that only records what is added)."""
    info = getattr(session, "info", None)
    work = info.get(_WORK_KEY) if info is not None else None
    if not isinstance(work, Work):
        return None
    # The session begins its transaction (and a savepoint, `begin_nested`)
    # lazily, at its first statement: made to begin it now, so that what is
    # written raw from here is inside the savepoint and undone with it. Once
    # per transaction and savepoint: every history event of every call asks,
    # and SQLAlchemy's connection bookkeeping is paid at each `connection()`.
    begun = (session.get_transaction(), session.get_nested_transaction())
    if begun[0] is None or begun != work._begun:
        session.connection()
        work._begun = (session.get_transaction(), session.get_nested_transaction())
    return work.raw


def keep_held_in_step(
    session: Session, entity: type[Any], key: int, written: Iterable[tuple[str, Any]]
) -> None:
    """Hand-written SQL just wrote `written` (column, value) to the row `entity`
    `key`: if the session holds that row, it is told the values as committed
    (`set_committed_value`: not dirty, so no later flush writes them again, and
    nothing it holds is stale). A row the session does not hold is read fresh
    whenever it is loaded."""
    held = session.identity_map.get(session.identity_key(entity, key))
    if held is not None:
        for column, value in written:
            set_committed_value(held, column, value)


def raw_in(session: Session) -> RawSql:
    """Hand-written SQL on `session`'s own connection and transaction, with
    what the session holds flushed first (raw SQL does not autoflush): the unit
    of work's own (`raw_of`), else one made on the session's connection."""
    session.flush()
    raw = raw_of(session)
    if raw is not None:
        return raw
    dbapi: Any = session.connection().connection.driver_connection
    return RawSql(dbapi, postgres=is_postgres(session))


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """A savepoint inside the unit of work that holds `session`: if the block
    raises, what it wrote (through the ORM or `raw`, the same connection) and
    the after-commit actions it registered are undone, the transaction goes on
    unpoisoned (PostgreSQL refuses every statement after an error until the
    rollback to a savepoint), and the exception propagates. A scheduler job
    runs each row in one, so one failing row leaves the others' work standing."""
    work = session.info.get(_WORK_KEY)
    if not isinstance(work, Work) or work._after is None:
        raise RuntimeError("savepoint outside a write transaction")
    registered = len(work._after)
    nested = session.begin_nested()
    try:
        yield
        session.flush()
    except BaseException:
        nested.rollback()
        if work._after is not None:
            del work._after[registered:]
        raise
    nested.commit()


def is_postgres(of: Session | Database | Work | Bulk | RawSql) -> bool:
    """The one way to ask which engine is in use (PostgreSQL, else SQLite)."""
    if isinstance(of, Session):
        return of.get_bind().dialect.name == "postgresql"
    return of.postgres


@contextmanager
def _transaction(work: Work) -> Iterator[Work]:
    try:
        yield work
        work._commit()
    except BaseException:
        work._rollback()
        raise
    finally:
        work._close()
    # Committed, and the connection is back in the pool: now the network.
    work._run_after_commit()


# A bulk job (a lead import: a million rows in short transactions) on SQLite gets
# a page cache that holds a large campaign's phone indexes, where the default 2 MB
# makes every insert into them read and write pages, and checkpoints the WAL
# every 64 MB instead of every 4 MB (nearly every batch), then once at the end.
BULK_SQLITE_CACHE_KIB = 64 * 1024
BULK_SQLITE_AUTOCHECKPOINT_PAGES = 16_384


class Bulk:
    """One pooled connection held for a bulk job's many short transactions, set
    up for writing much (see above) and set back when handed back."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self._pooled = engine.raw_connection()
        self._restore: list[str] = []
        if not self.postgres:
            dbapi: Any = self._pooled.driver_connection
            try:
                (cache,) = dbapi.execute("PRAGMA cache_size").fetchone()
                (pages,) = dbapi.execute("PRAGMA wal_autocheckpoint").fetchone()
                self._restore = [
                    f"PRAGMA cache_size={int(cache)}",
                    f"PRAGMA wal_autocheckpoint={int(pages)}",
                ]
                dbapi.execute(f"PRAGMA cache_size=-{BULK_SQLITE_CACHE_KIB}")
                dbapi.execute(f"PRAGMA wal_autocheckpoint={BULK_SQLITE_AUTOCHECKPOINT_PAGES}")
            except BaseException:
                self._pooled.close()
                raise

    @contextmanager
    def work(self) -> Iterator[Work]:
        with _transaction(Work(self._engine, held=self._pooled)) as work:
            yield work

    def close(self) -> None:
        try:
            if self._restore:
                dbapi: Any = self._pooled.driver_connection
                # What the job left in the WAL goes to the database now, not in
                # the middle of the next request's commit.
                dbapi.execute("PRAGMA wal_checkpoint(PASSIVE)")
                for statement in self._restore:
                    dbapi.execute(statement)
        finally:
            self._pooled.close()


class Database:
    """Owns the engine and hands out one transaction at a time.

    `write()`/`work()` are for anything that may write (every non-GET request,
    every scheduler job); `read()` for pure reads, which on SQLite must not take
    the write lock or they would queue behind the claim traffic. `bulk()` holds
    one connection for a bulk job's many transactions."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, pool_size=pool_size)
        self.postgres = self.engine.dialect.name == "postgresql"
        self._write_engine = self.engine.execution_options(sqlite_write=True)
        self._read = sessionmaker(bind=self.engine, expire_on_commit=False)

    @contextmanager
    def work(self) -> Iterator[Work]:
        with _transaction(Work(self._write_engine)) as work:
            yield work

    @contextmanager
    def bulk(self) -> Iterator[Bulk]:
        bulk = Bulk(self._write_engine)
        try:
            yield bulk
        finally:
            bulk.close()

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self.work() as work:
            yield work.session

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


class RawSql:
    """Hand-written SQL on a connection's own DBAPI connection, inside its open
    transaction. For the one path where SQLAlchemy's per-statement work would be
    most of the cost: the next-lead claim, run by every agent all day long.

    Statements are written with `?` placeholders; on PostgreSQL they become `%s`
    (a statement made in dialer.sql brings its PostgreSQL text along).
    Instants are bound the way the ORM stores them (naive UTC text on SQLite,
    'YYYY-MM-DD HH:MM:SS.ffffff'), so
    rows written here and through the ORM compare and read back the same."""

    def __init__(self, dbapi_connection: Any, *, postgres: bool) -> None:
        self.postgres = postgres
        self._dbapi = dbapi_connection

    def _text(self, sql: str) -> str:
        if not self.postgres:
            return sql
        # A statement of dialer.sql carries its PostgreSQL text, made at import.
        return getattr(sql, "postgres_text", None) or _pg_placeholders(sql)

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cursor = self._dbapi.cursor()
        try:
            cursor.execute(self._text(sql), params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        cursor = self._dbapi.cursor()
        try:
            cursor.execute(self._text(sql), params)
            return int(cursor.rowcount or 0)
        finally:
            cursor.close()

    def many(self, sql: str, rows: list[tuple[Any, ...]]) -> int:
        cursor = self._dbapi.cursor()
        try:
            cursor.executemany(self._text(sql), rows)
            return int(cursor.rowcount or 0)
        finally:
            cursor.close()

    def copy(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> None:
        """PostgreSQL COPY … FROM STDIN: bulk rows at the server's own speed."""
        assert self.postgres, "COPY is PostgreSQL's"
        cursor = self._dbapi.cursor()
        try:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()

    def copy_unless_duplicate(
        self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
    ) -> bool:
        """COPY the rows, or none of them if one would break a unique constraint
        (False; the transaction goes on as before the attempt). For rows that
        are unique but for a rare race: the COPY is the fast path, a per-row
        ON CONFLICT the caller's fallback."""
        from psycopg.errors import UniqueViolation

        self.run("SAVEPOINT copy_unless_duplicate")
        try:
            self.copy(table, columns, rows)
        except UniqueViolation:
            self.run("ROLLBACK TO SAVEPOINT copy_unless_duplicate")
            return False
        self.run("RELEASE SAVEPOINT copy_unless_duplicate")
        return True

    def column_in(
        self, sql: str, values: Collection[Any], params: tuple[Any, ...] = ()
    ) -> list[Any]:
        """The first column of `sql`'s rows, where `sql` ends in a condition on
        the `values`, written `{in_}`: `... WHERE number {in_}`. PostgreSQL gets
        one array parameter; SQLite a list of parameters in chunks under its limit."""
        if not values:
            return []
        if self.postgres:
            query = sql.format(in_="= ANY(?)")
            return [row[0] for row in self.rows(query, (*params, list(values)))]
        ordered = list(values)
        found: list[Any] = []
        for start in range(0, len(ordered), _IN_CHUNK):
            chunk = tuple(ordered[start : start + _IN_CHUNK])
            query = sql.format(in_=f"IN ({', '.join('?' * len(chunk))})")
            found.extend(row[0] for row in self.rows(query, (*params, *chunk)))
        return found

    def json(self, value: Any) -> str:
        return _json_dumps(value)

    def instant(self, value: datetime) -> Any:
        if self.postgres:
            return value
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def read_instant(self, value: Any) -> datetime:
        if isinstance(value, datetime):
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)

    @property
    def json_placeholder(self) -> str:
        return "CAST(? AS jsonb)" if self.postgres else "?"

    @property
    def skip_locked(self) -> str:
        return " FOR UPDATE SKIP LOCKED" if self.postgres else ""


@lru_cache(maxsize=64)
def _url_text(url: URL) -> str:
    """A unit of work's `url` (its password masked), the key of the caches kept
    per database: rendered once per URL, not at each transaction."""
    return str(url)


@lru_cache(maxsize=256)
def _pg_placeholders(sql: str) -> str:
    return sql.replace("?", "%s")
