"""Savepoints go straight to the driver (dialer.db `_direct_savepoints`): the
SQL is the same, SQLAlchemy builds no clause object for it, and the nesting
still works on both engines: a failing inner block is undone, an outer one
and its sibling stay, the session's rows are expired as for any rollback."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine

from dialer.db import Database, savepoint


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
