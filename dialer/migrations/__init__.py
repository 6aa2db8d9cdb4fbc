"""Alembic migrations, shipped inside the package so `dialer db upgrade` and the
SQLite start-up upgrade work from any directory.

Besides upgrading, this module answers "is the schema the one this code needs?"
for every process that starts: a web worker or scheduler started on an unmigrated
or older database stops with one line that says what was found, what is needed
and what to run, instead of failing later with `relation "agent" does not exist`.

Upgrades are serialized across processes (several web workers of the embedded
default upgrade one SQLite file at start-up; a release step may overlap a
second one): PostgreSQL by a session advisory lock, SQLite by a file lock beside
the database file. The second upgrader then finds the schema current."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine, make_url

HERE = Path(__file__).parent

UPGRADE_COMMAND = "dialer db upgrade"


class SchemaNotCurrent(Exception):
    """The database's schema revision is not the one this code was written for."""

    def __init__(self, *, found: str | None, needed: str, known: bool) -> None:
        self.found = found
        self.needed = needed
        if found is None:
            what = "an empty database (no schema revision)"
            advice = f"run `{UPGRADE_COMMAND}`"
        elif known:
            what = f"schema revision {found}"
            advice = f"run `{UPGRADE_COMMAND}`"
        else:
            # Newer code wrote it (a rollback of the service without its schema):
            # upgrading cannot help, and downgrading is a person's decision.
            what = f"schema revision {found}, which this version does not know (newer code?)"
            advice = "deploy the version that wrote it, or restore a matching backup"
        super().__init__(
            f"database schema not current: found {what}, this version needs {needed}; {advice}"
        )


@dataclass(frozen=True, slots=True)
class Upgraded:
    before: str | None
    after: str

    def describe(self) -> str:
        if self.before == self.after:
            return f"schema already at {self.after}"
        before = "an empty database" if self.before is None else self.before
        return f"schema upgraded from {before} to {self.after}"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revision() -> str:
    head = _script().get_current_head()
    assert head is not None, "the migrations have one head"
    return head


def current_revision(url: str) -> str | None:
    from dialer.db import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def check_schema(engine: Engine) -> None:
    """Raise SchemaNotCurrent unless the database is at this code's head revision."""
    needed = head_revision()
    with engine.connect() as connection:
        found = MigrationContext.configure(connection).get_current_revision()
    if found != needed:
        known = found in {rev.revision for rev in _script().walk_revisions()}
        raise SchemaNotCurrent(found=found, needed=needed, known=known)


# pg_advisory_lock's key for "a schema upgrade is running" (any constant of ours).
_PG_UPGRADE_LOCK = 0x6469616C6572  # "dialer"


@contextmanager
def _upgrade_lock(url: str) -> Iterator[None]:
    database = make_url(url).database
    if not url.startswith("sqlite"):
        from sqlalchemy import text

        from dialer.db import make_engine

        engine = make_engine(url, pool_size=1)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_UPGRADE_LOCK})
                connection.commit()
                try:
                    yield
                finally:
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_UPGRADE_LOCK}
                    )
                    connection.commit()
        finally:
            engine.dispose()
        return
    if database and database != ":memory:":
        lock_path = Path(f"{database}.upgrade-lock")
        with lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    yield


def upgrade(url: str, *, revision: str = "head") -> Upgraded:
    with _upgrade_lock(url):
        before = current_revision(url)
        command.upgrade(alembic_config(url), revision)
        after = current_revision(url)
    assert after is not None
    return Upgraded(before=before, after=after)
