"""Hand-written SQL statements, each defined once for both engines.

Where speed needs hand-written SQL (the claim, status callbacks, lead import,
pacing), its statements live in a `*_sql.py` module beside their caller, made
here: written with `?` placeholders, their PostgreSQL text (`%s`, and a jsonb
cast where a JSON column needs one) derived once at import time, so the two
engines' versions cannot drift apart and nothing is rebuilt per call.

A statement is a `str` (its SQLite text) that also carries its PostgreSQL text:
`RawSql` (dialer.db) runs it as it runs any text, and picks the PostgreSQL text
on PostgreSQL. Every named statement is kept in `STATEMENTS`, where
tests/test_raw_sql.py checks each INSERT and UPDATE against the tables.

The PostgreSQL one-round-trip form of "update a row, then insert rows about it"
(`one_trip`) is built from the very `Update` and `Insert` the SQLite path runs
one by one: a status callback or a claim pays one round trip on PostgreSQL,
whose CPU the web workers share.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

from dialer.db import RawSql, is_postgres

# Every statement defined through this module, by name.
STATEMENTS: dict[str, Sql] = {}


class Sql(str):
    """A named statement: the `?` text (SQLite's) with its PostgreSQL text.

    `postgres_only`: a PostgreSQL mechanism (COPY's fallback, `= ANY(?)`), whose
    text SQLite is never given."""

    name: str
    # PostgreSQL's text with `?` (what a longer statement is built from), and as run.
    postgres_marked: str
    postgres_text: str
    postgres_only: bool

    def __new__(
        cls,
        text: str,
        *,
        name: str,
        postgres_text: str | None = None,
        postgres_only: bool = False,
        register: bool = True,
    ) -> Self:
        made = super().__new__(cls, text)
        made.name = name
        made.postgres_marked = postgres_text if postgres_text is not None else text
        made.postgres_text = _placeholders(made.postgres_marked)
        made.postgres_only = postgres_only
        if register:
            if name in STATEMENTS:
                raise ValueError(f"two statements are named {name!r}")
            STATEMENTS[name] = made
        return made


def sql(
    name: str,
    text: str,
    *,
    postgres_lock: str = "",
    postgres_only: bool = False,
    register: bool = True,
) -> Sql:
    """A statement as written. `postgres_lock` (`" FOR UPDATE OF call"`) ends the
    PostgreSQL text only: SQLite's write transactions are serialized already."""
    return Sql(
        text,
        name=name,
        postgres_text=text + postgres_lock,
        postgres_only=postgres_only,
        register=register,
    )


def _placeholders(text: str) -> str:
    return text.replace("?", "%s")


def _value(column: str, json: Iterable[str], *, postgres: bool) -> str:
    # A JSON parameter needs its type spelled out where PostgreSQL cannot infer
    # it from the target column (a SELECT list); SQLite stores JSON as text.
    return "CAST(? AS jsonb)" if postgres and column in json else "?"


class Insert(Sql):
    """`INSERT INTO table (columns) VALUES (?, …)`: one parameter per column, in
    the order of `columns`, the table's shared column tuple."""

    table: str
    columns: tuple[str, ...]
    json: frozenset[str]
    suffix: str

    def __new__(  # type: ignore[misc]  # a narrower constructor than Sql's
        cls,
        name: str,
        table: str,
        columns: tuple[str, ...],
        *,
        json: Iterable[str] = (),
        suffix: str = "",
        register: bool = True,
    ) -> Self:
        json = frozenset(json)
        head = f"INSERT INTO {table} ({', '.join(columns)})"
        sqlite = ", ".join(_value(c, json, postgres=False) for c in columns)
        postgres = ", ".join(_value(c, json, postgres=True) for c in columns)
        made = super().__new__(
            cls,
            f"{head} VALUES ({sqlite}){suffix}",
            name=name,
            postgres_text=f"{head} VALUES ({postgres}){suffix}",
            register=register,
        )
        made.table = table
        made.columns = columns
        made.json = json
        made.suffix = suffix
        return made


def insert(
    name: str,
    table: str,
    columns: tuple[str, ...],
    *,
    json: Iterable[str] = (),
    suffix: str = "",
    register: bool = True,
) -> Insert:
    """An insert of whole rows in `columns`' order. `json`: the columns that
    are JSON (their text is cast on PostgreSQL)."""
    return Insert(name, table, columns, json=json, suffix=suffix, register=register)


class Update(Sql):
    """`UPDATE table SET column = ?, … WHERE …`: the assignments' parameters,
    then the condition's."""

    table: str
    assignments: tuple[tuple[str, str], ...]
    where: str
    json: frozenset[str]

    def __new__(  # type: ignore[misc]  # a narrower constructor than Sql's
        cls,
        name: str,
        table: str,
        assignments: Sequence[str | tuple[str, str]],
        *,
        where: str,
        json: Iterable[str] = (),
        register: bool = True,
    ) -> Self:
        json = frozenset(json)
        pairs = tuple((a, "?") if isinstance(a, str) else a for a in assignments)

        def text(*, postgres: bool) -> str:
            sets = ", ".join(
                f"{column} = {_value(column, json, postgres=postgres) if expr == '?' else expr}"
                for column, expr in pairs
            )
            return f"UPDATE {table} SET {sets} WHERE {where}"

        made = super().__new__(
            cls,
            text(postgres=False),
            name=name,
            postgres_text=text(postgres=True),
            register=register,
        )
        made.table = table
        made.assignments = pairs
        made.where = where
        made.json = json
        return made


def update(
    name: str,
    table: str,
    assignments: Sequence[str | tuple[str, str]],
    *,
    where: str,
    json: Iterable[str] = (),
    register: bool = True,
) -> Update:
    """An update. An assignment is a column (set to a parameter) or a pair
    (column, expression): `("status", "'claimed'")`."""
    return Update(name, table, assignments, where=where, json=json, register=register)


@dataclass(frozen=True, slots=True)
class Then:
    """An insert that follows the update in `one_trip`: one row per updated row.

    `from_updated`: columns whose value is the updated row's (column → a column
    the update returns) instead of a parameter; `when`: a condition on the
    updated row for inserting at all (`"agent_id IS NOT NULL"`)."""

    insert: Insert
    from_updated: Mapping[str, str] = field(default_factory=dict)
    when: str | None = None


class OneTrip(Sql):
    """The update and the inserts after it as one PostgreSQL statement,
    answering one row: how many rows the update changed.

    `params(update_values, *insert_rows)` takes the very parameter tuples the
    statements take one by one and leaves out what comes from the updated row."""

    update: Update
    then: tuple[Then, ...]
    _picks: tuple[Callable[[tuple[Any, ...]], tuple[Any, ...]], ...]

    def __new__(  # type: ignore[misc]  # a narrower constructor than Sql's
        cls,
        name: str,
        update: Update,
        *then: Then,
        returning: tuple[str, ...],
        register: bool = True,
    ) -> Self:
        first = f"{update.table}_updated"
        ctes = [f"{first} AS ({update.postgres_marked} RETURNING {', '.join(returning)})"]
        picks: list[Callable[[tuple[Any, ...]], tuple[Any, ...]]] = []
        for number, step in enumerate(then, start=1):
            into = step.insert
            unknown = set(step.from_updated.values()) - set(returning)
            if unknown or not set(step.from_updated) <= set(into.columns):
                raise ValueError(f"{name}: {step.from_updated} is not what the update returns")
            values = ", ".join(
                step.from_updated.get(c) or _value(c, into.json, postgres=True)
                for c in into.columns
            )
            when = f" WHERE {step.when}" if step.when else ""
            ctes.append(
                f"{into.table}_{number} AS (INSERT INTO {into.table} ({', '.join(into.columns)})"
                f" SELECT {values} FROM {first}{when})"
            )
            kept = [i for i, c in enumerate(into.columns) if c not in step.from_updated]
            picks.append(_picker(kept, len(into.columns)))
        text = f"WITH {', '.join(ctes)} SELECT count(*) FROM {first}"
        made = super().__new__(
            cls, text, name=name, postgres_text=text, postgres_only=True, register=register
        )
        made.update = update
        made.then = then
        made._picks = tuple(picks)
        return made

    def params(self, update_values: tuple[Any, ...], *rows: tuple[Any, ...]) -> tuple[Any, ...]:
        bound = list(update_values)
        for pick, row in zip(self._picks, rows, strict=True):
            bound.extend(pick(row))
        return tuple(bound)


def _picker(kept: list[int], width: int) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    if kept == list(range(width)):
        return _whole
    if len(kept) == 1:
        (only,) = kept
        return lambda row: (row[only],)
    getter: Callable[[tuple[Any, ...]], tuple[Any, ...]] = operator.itemgetter(*kept)
    return getter


def _whole(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return row


def one_trip(
    name: str,
    update: Update,
    *then: Then,
    returning: tuple[str, ...],
    register: bool = True,
) -> OneTrip:
    """`WITH u AS (UPDATE … RETURNING …), i AS (INSERT … SELECT … FROM u), …
    SELECT count(*) FROM u`, from the statements the SQLite path runs."""
    return OneTrip(name, update, *then, returning=returning, register=register)


def insert_rows(raw: RawSql, statement: Insert, rows: list[tuple[Any, ...]]) -> None:
    """Many rows of `statement`: COPY on PostgreSQL (the server's own bulk speed),
    executemany on SQLite; the same column tuple either way."""
    if not rows:
        return
    if is_postgres(raw):
        raw.copy(statement.table, statement.columns, rows)
    else:
        raw.many(statement, rows)
