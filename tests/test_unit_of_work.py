"""The unit of work's after-commit actions, without HTTP: they run in order once
the commit succeeded, outside the transaction; a rollback runs none; a failing
one is logged and counted, and neither stops the next nor reaches the caller."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime

import pytest
from helpers import MANAGER_TOKEN, make_settings
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.db import Database, after_commit, is_postgres
from dialer.metrics import AFTER_COMMIT_FAILURES
from dialer.runtime import Runtime
from dialer.system import SchedulerLease
from dialer.web import Ctx

AT = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)

# Each way of opening a write transaction, as (session, register) for the test.
Register = Callable[[Callable[[], None]], None]
Opener = Callable[[Database], AbstractContextManager[tuple[Session, Register]]]


@contextmanager
def _work(db: Database) -> Iterator[tuple[Session, Register]]:
    with db.work() as work:
        yield work.session, lambda action: work.after_commit(action, name="test")


@contextmanager
def _write(db: Database) -> Iterator[tuple[Session, Register]]:
    with db.write() as session:
        yield session, lambda action: after_commit(session, action, name="test")


@contextmanager
def _bulk(db: Database) -> Iterator[tuple[Session, Register]]:
    with db.bulk() as bulk, bulk.work() as work:
        yield work.session, lambda action: after_commit(work.session, action, name="test")


OPENERS: dict[str, Opener] = {"work": _work, "write": _write, "bulk": _bulk}


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


def _lease(session: Session, name: str) -> None:
    session.add(SchedulerLease(name=name, holder="test", expires_at=AT))


def _leases(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.scalars(select(col(SchedulerLease.name)).order_by("name")))


@pytest.mark.parametrize("opener", OPENERS)
def test_commit_runs_the_actions_in_order_after_the_commit(db: Database, opener: str) -> None:
    seen: list[tuple[str, list[str]]] = []
    with OPENERS[opener](db) as (session, register):
        _lease(session, "a")
        register(lambda: seen.append(("first", _leases(db))))
        register(lambda: seen.append(("second", _leases(db))))
        assert seen == []  # nothing before the commit
    # Each saw the committed row: they ran after the commit.
    assert seen == [("first", ["a"]), ("second", ["a"])]


@pytest.mark.parametrize("opener", OPENERS)
def test_rollback_runs_none(db: Database, opener: str) -> None:
    ran: list[str] = []
    with pytest.raises(ValueError), OPENERS[opener](db) as (session, register):
        _lease(session, "a")
        register(lambda: ran.append("action"))
        raise ValueError("the request is refused")
    assert ran == [] and _leases(db) == []


@pytest.mark.parametrize("opener", OPENERS)
def test_a_failed_commit_runs_none(db: Database, opener: str) -> None:
    with db.write() as session:
        _lease(session, "a")
    ran: list[str] = []
    with pytest.raises(Exception), OPENERS[opener](db) as (session, register):  # noqa: B017
        register(lambda: ran.append("action"))
        _lease(session, "a")  # a duplicate key: the flush at commit fails
    assert ran == []


@pytest.mark.parametrize("opener", OPENERS)
def test_a_failing_action_neither_stops_the_next_nor_raises(
    db: Database, opener: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = AFTER_COMMIT_FAILURES.labels("test")._value.get()
    ran: list[str] = []

    def fails() -> None:
        ran.append("fails")
        raise ConnectionError("the provider is down")

    with OPENERS[opener](db) as (session, register):
        _lease(session, "a")
        register(fails)
        register(lambda: ran.append("next"))
    assert ran == ["fails", "next"]
    assert _leases(db) == ["a"]  # committed, and stays so
    assert AFTER_COMMIT_FAILURES.labels("test")._value.get() == before + 1
    assert "after-commit action test failed" in caplog.text


def test_actions_run_outside_the_transaction(db: Database) -> None:
    """An action may write at once: on SQLite the write lock is free again."""

    def writes() -> None:
        with db.write() as session:
            _lease(session, "b")

    with db.write() as session:
        _lease(session, "a")
        after_commit(session, writes, name="test")
    assert _leases(db) == ["a", "b"]


def test_an_action_may_register_in_its_own_transaction(db: Database) -> None:
    ran: list[str] = []

    def nested() -> None:
        with db.write() as session:
            after_commit(session, lambda: ran.append("inner"), name="test")
        ran.append("outer")

    with db.write() as session:
        after_commit(session, nested, name="test")
    assert ran == ["inner", "outer"]


def test_registering_without_a_write_transaction_is_an_error(db: Database) -> None:
    with db.read() as session, pytest.raises(RuntimeError, match="outside a write transaction"):
        after_commit(session, lambda: None, name="test")
    with db.work() as work:
        pass
    with pytest.raises(RuntimeError, match="has ended"):
        work.after_commit(lambda: None, name="test")


def test_the_request_transaction_runs_them_after_its_commit(db_url: str) -> None:
    runtime = Runtime(make_settings(db_url))
    try:
        runtime.start()
        seen: list[list[str]] = []
        ctx = Ctx(runtime, f"Bearer {MANAGER_TOKEN}", "POST", manager_only=True)
        with ctx.tx() as tx:
            _lease(tx.session, "a")
            after_commit(tx.session, lambda: seen.append(_leases(runtime.db)), name="test")
            assert seen == []
        assert seen == [["a"]]
    finally:
        runtime.close()


def test_is_postgres_answers_alike_for_everything_that_has_an_engine(db: Database) -> None:
    expected = db.url.startswith("postgresql")
    assert is_postgres(db) is expected
    with db.read() as session:
        assert is_postgres(session) is expected
    with db.work() as work:
        assert is_postgres(work) is expected
        assert is_postgres(work.session) is expected
        assert is_postgres(work.raw) is expected
    with db.bulk() as bulk:
        assert is_postgres(bulk) is expected


@pytest.mark.parametrize("opener", OPENERS)
def test_committed_rows_come_out_detached_with_their_values(db: Database, opener: str) -> None:
    """The commit writes what the session holds (added, changed, flushed or
    not) and leaves its rows detached with their values, readable after the
    transaction as a session's commit leaves them (expire_on_commit off); the
    next transaction on the connection starts clean."""
    with db.write() as session:
        _lease(session, "changed")
    with OPENERS[opener](db) as (session, _register):
        changed = session.get(SchedulerLease, "changed")
        assert changed is not None
        changed.holder = "someone else"  # pending at the commit
        flushed = SchedulerLease(name="flushed", holder="test", expires_at=AT)
        session.add(flushed)
        session.flush()
        pending = SchedulerLease(name="pending", holder="test", expires_at=AT)
        session.add(pending)
        rows = [changed, flushed, pending]
    assert all(inspect(row).detached for row in rows)
    assert sorted((row.name, row.holder) for row in rows) == [
        ("changed", "someone else"), ("flushed", "test"), ("pending", "test"),
    ]  # fmt: skip
    with OPENERS[opener](db) as (session, _register):
        _lease(session, "next")
    with db.read() as session:
        stored = dict(
            session.execute(select(col(SchedulerLease.name), col(SchedulerLease.holder))).all()
        )
    assert stored == {
        "changed": "someone else",
        "flushed": "test",
        "pending": "test",
        "next": "test",
    }
