"""Every hand-written statement (dialer.sql, defined in the `*_sql.py` modules)
against the tables: each INSERT and UPDATE names only columns its table has,
each INSERT covers every NOT NULL column that has neither a server default nor
an autoincrement key (the ORM's Python-side defaults do not apply to raw SQL),
and every JSON column it binds is declared JSON (PostgreSQL needs the cast). Then
each statement is compiled, without running it, by both engines on the migrated
schema. A raw statement that drifts from the models fails here, not in a
callback at 50 CPS."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from sqlalchemy import JSON, Table
from sqlmodel import SQLModel

import dialer
import dialer.models  # every table into SQLModel.metadata
from dialer.db import Database, is_postgres
from dialer.sql import STATEMENTS, Insert, Sql, Then, Update, insert, one_trip, sql, update

ROOT = Path(dialer.__file__).parent


def _load_statements() -> list[Sql]:
    for path in sorted(ROOT.rglob("*_sql.py")):
        parts = ("dialer", *path.relative_to(ROOT).with_suffix("").parts)
        importlib.import_module(".".join(parts))
    return sorted(STATEMENTS.values(), key=lambda s: s.name)


ALL = _load_statements()

_INSERT = re.compile(r"\bINSERT\s+(?:OR\s+\w+\s+)?INTO\s+(\w+)\s*\(([^)]*)\)", re.IGNORECASE)
_UPDATE = re.compile(r"\bUPDATE\s+(\w+)\s+SET\s+", re.IGNORECASE)
_END_OF_SET = re.compile(r"(WHERE|RETURNING|FROM)\b", re.IGNORECASE)


def _assignments(text: str, start: int) -> list[str]:
    """The columns an UPDATE's SET assigns, from `start` (just after SET) to its
    WHERE/RETURNING/FROM or the parenthesis closing its CTE."""
    columns: list[str] = []
    depth, quoted, piece_at, at = 0, False, start, start
    while at < len(text):
        char = text[at]
        if char == "'":
            quoted = not quoted
        elif not quoted:
            if char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and char == ",":
                columns.append(text[piece_at:at])
                piece_at = at + 1
            elif depth == 0 and text[at - 1].isspace() and _END_OF_SET.match(text, at):
                break
        at += 1
    columns.append(text[piece_at:at])
    return [piece.split("=", 1)[0].strip() for piece in columns]


def writes(text: str) -> list[tuple[str, str, list[str]]]:
    """(verb, table, columns) of every INSERT and UPDATE in `text`."""
    found: list[tuple[str, str, list[str]]] = []
    for match in _INSERT.finditer(text):
        # A column named by a keyword is quoted (`"to"`): the column is its name.
        columns = [c.strip().strip('"') for c in match.group(2).split(",")]
        found.append(("INSERT", match.group(1), columns))
    for match in _UPDATE.finditer(text):
        found.append(("UPDATE", match.group(1), _assignments(text, match.end())))
    return found


def _required(table: Table) -> set[str]:
    return {
        column.name
        for column in table.columns
        if not column.nullable
        and column.server_default is None
        and column is not table.autoincrement_column
    }


def problems(statement: Sql) -> list[str]:
    texts = [statement.postgres_marked]
    if not statement.postgres_only:
        texts.append(str(statement))
    tables = SQLModel.metadata.tables
    found: list[str] = []
    for text in dict.fromkeys(texts):
        for verb, name, columns in writes(text):
            table = tables.get(name)
            if table is None:
                found.append(f"{verb} into unknown table {name}")
                continue
            unknown = [c for c in columns if c not in table.columns]
            if unknown:
                found.append(f"{verb} {name}: no column {', '.join(unknown)}")
            missing = sorted(_required(table) - set(columns))
            if verb == "INSERT" and missing:
                found.append(f"INSERT {name}: leaves NOT NULL {', '.join(missing)} unset")
    if isinstance(statement, Insert | Update):
        table = tables.get(statement.table)
        if table is not None:
            bound = (
                statement.columns
                if isinstance(statement, Insert)
                else [c for c, expr in statement.assignments if expr == "?"]
            )
            json = {c for c in bound if c in table.columns and isinstance(table.c[c].type, JSON)}
            if json != statement.json:
                declared = sorted(statement.json)
                found.append(f"{statement.name}: JSON columns {sorted(json)}, declared {declared}")
    return found


def test_statements_are_registered() -> None:
    names = {s.name for s in ALL}
    assert {"event.insert", "call_status.writes", "import.leads", "pacing.push_budget"} <= names


@pytest.mark.parametrize("statement", ALL, ids=[s.name for s in ALL])
def test_statement_matches_the_tables(statement: Sql) -> None:
    assert problems(statement) == []


def test_every_write_is_checked() -> None:
    """The parser sees every write of every statement that has one."""
    for statement in ALL:
        text = statement.postgres_marked
        verbs = len(re.findall(r"\bINSERT\s+INTO\b|\bUPDATE\s+\w+\s+SET\b", text, re.IGNORECASE))
        assert len(writes(text)) == verbs, statement.name


_EVENT = insert(
    "wrong.event", "event", ("lead_id", "at", "kind", "actor", "detail"), register=False
)
WRONG = [
    (
        insert("wrong.missing", "event", ("lead_id", "at", "kind", "actor"), register=False),
        "INSERT event: leaves NOT NULL detail unset",
    ),
    (
        insert(
            "wrong.column",
            "phone",
            ("lead_id", "campaign_id", "number", "position", "retired", "colour"),
            register=False,
        ),
        "INSERT phone: no column colour",
    ),
    (
        update("wrong.update", "call", ("status", "answred_by"), where="id = ?", register=False),
        "UPDATE call: no column answred_by",
    ),
    (
        sql("wrong.table", "INSERT INTO leads (id) VALUES (?)", register=False),
        "INSERT into unknown table leads",
    ),
    (
        insert("wrong.json", "event", ("lead_id", "at", "kind", "actor", "detail"), register=False),
        "wrong.json: JSON columns ['detail'], declared []",
    ),
    (
        one_trip(
            "wrong.chain",
            update(
                "wrong.chain.update",
                "call",
                ("status", "provider_seq"),
                where="id = ?",
                register=False,
            ),
            Then(
                insert(
                    "wrong.chain.event",
                    "event",
                    ("lead_id", "at", "kind", "detail"),
                    json=("detail",),
                    register=False,
                ),
                from_updated={"lead_id": "lead_id"},
            ),
            returning=("lead_id",),
            register=False,
        ),
        "INSERT event: leaves NOT NULL actor unset",
    ),
]


@pytest.mark.parametrize(("statement", "problem"), WRONG, ids=[w[0].name for w in WRONG])
def test_a_wrong_statement_fails(statement: Sql, problem: str) -> None:
    assert problem in problems(statement)


def test_a_right_statement_passes() -> None:
    right = insert("right.event", "event", _EVENT.columns, json=("detail",), register=False)
    assert problems(right) == []


def _compiled(text: str) -> bool:
    # ANALYZE and other utility statements cannot be prepared; templates
    # (`{in_}`) are only SQL once filled in.
    return "{" not in text and text.split(None, 1)[0].upper() in (
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "WITH",
    )


def test_every_statement_compiles_on_the_migrated_schema(db_url: str) -> None:
    """Both engines parse and plan every statement without running it: SQLite
    by EXPLAIN (parameters bound as NULL), PostgreSQL by PREPARE."""
    db = Database(db_url)
    try:
        with db.work() as work:
            raw = work.raw
            for statement in ALL:
                if is_postgres(raw):
                    text = statement.postgres_marked
                    if not _compiled(text):
                        continue
                    pieces = text.split("?")
                    prepared = pieces[0] + "".join(
                        f"${number}{piece}" for number, piece in enumerate(pieces[1:], start=1)
                    )
                    raw.run(f"PREPARE raw_sql_check AS {prepared}".replace("%", "%%"))
                    raw.run("DEALLOCATE raw_sql_check")
                elif not statement.postgres_only and _compiled(str(statement)):
                    raw.rows(f"EXPLAIN {statement}", (None,) * str(statement).count("?"))
    finally:
        db.dispose()
