"""Savepoints go straight to the driver (dialer.db `_direct_savepoints`): the
SQL is the same, SQLAlchemy builds no clause object for it, and the nesting
still works on both engines: a failing inner block is undone, an outer one
and its sibling stay, the session's rows are expired as for any rollback."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine

from dialer.db import Database, raw_of, savepoint


def test_nested_savepoints_undo_only_the_failing_block(db_url: str) -> None:
    db = Database(db_url)
    seen: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        seen.append(statement)

    engine: Engine = db.engine
    try:
        with db.write() as session:
            session.execute(text("CREATE TABLE sp_probe (n INTEGER)"))
        event.listen(engine, "before_cursor_execute", capture)
        with db.write() as session:
            session.execute(text("INSERT INTO sp_probe VALUES (1)"))
            with savepoint(session):
                session.execute(text("INSERT INTO sp_probe VALUES (2)"))
                with pytest.raises(RuntimeError), savepoint(session):
                    session.execute(text("INSERT INTO sp_probe VALUES (3)"))
                    raise RuntimeError("the row fails")
                session.execute(text("INSERT INTO sp_probe VALUES (4)"))
        with db.read() as session:
            found = list(session.scalars(select(text("n")).select_from(text("sp_probe"))))
        assert sorted(found) == [1, 2, 4]
        # Straight to the driver: none of them passed SQLAlchemy's execution.
        assert not [s for s in seen if "SAVEPOINT" in s.upper()]
    finally:
        event.remove(engine, "before_cursor_execute", capture)
        db.dispose()


def test_raw_writes_open_each_savepoint_they_are_the_first_statement_of(db_url: str) -> None:
    """`raw_of` begins the session's transaction and savepoint only when they
    are new (it is asked at every event): a raw write that opens a block is
    still inside that block's savepoint, in sibling and nested blocks alike."""
    db = Database(db_url)
    try:
        with db.write() as session:
            session.execute(text("CREATE TABLE sp_raw (n INTEGER)"))

        def put(session: Any, n: int) -> None:
            raw = raw_of(session)
            assert raw is not None
            raw.run("INSERT INTO sp_raw VALUES (?)", (n,))

        with db.write() as session:
            put(session, 1)
            with pytest.raises(RuntimeError), savepoint(session):
                put(session, 2)
                raise RuntimeError("the first row fails")
            with savepoint(session):
                put(session, 3)
                with pytest.raises(RuntimeError), savepoint(session):
                    put(session, 4)
                    raise RuntimeError("the inner row fails")
                put(session, 5)
            with pytest.raises(RuntimeError), savepoint(session):
                put(session, 6)
                raise RuntimeError("a sibling fails")
            put(session, 7)
        with db.read() as session:
            found = list(session.scalars(select(text("n")).select_from(text("sp_raw"))))
        assert sorted(found) == [1, 3, 5, 7]
    finally:
        db.dispose()
