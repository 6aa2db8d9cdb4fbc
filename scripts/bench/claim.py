"""Next-lead claim benchmark: the service's claim path against a raw SQL loop.

One campaign of N leads (99% 'new' with a random priority 0..9, 1% 'scheduled' with
the retry due), one phone each, with names, companies, contract numbers and
external ids for lead search (scripts/bench/search.py runs on this data set).
1, 16 and 64 agents (threads, one agent row each) claim the next lead as fast as
they can, on SQLite and on a throw-away PostgreSQL cluster, through two paths
measured alternately on the same database:

- service: `dialer.agents.queue.claim_next` inside `Database.work()`, the write
  transaction every API request runs in;
- raw: the same transaction shape in hand-written SQL on a DBAPI connection held
  by the thread (BEGIN IMMEDIATE on SQLite, FOR UPDATE SKIP LOCKED on PostgreSQL):
  pick the best candidate (promise, retry, then new tier), check its phones against
  the DNC list, mark it claimed, insert the claim and the event, commit. With
  `--raw core` the same SQL goes through SQLAlchemy Core text() on the service's
  engine instead, with a pool checkout per claim as the service does.

Latency is from before the transaction to after its commit. After every claim the
agent releases the lead (untimed, the same statements on both paths, each on its
own connections): the claim
row goes and the lead becomes 'scheduled' a day ahead, so it leaves the pool and a
lead claimed twice in one measurement is a real duplicate. Leads are restored
between measurements, so every measurement starts from the same queue.

    python scripts/bench/claim.py --quick                 # 100k leads, < 1 minute
    python scripts/bench/claim.py                         # 1M leads
    python scripts/bench/claim.py --engines sqlite --agents 1,16 --seconds 5
    python scripts/bench/claim.py --quick --profile       # + where the service's time goes

The last line printed is one JSON object with every figure. Exit status 1 when any
lead was claimed twice.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import math
import pstats
import re
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import JSON, bindparam, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection

from dialer.agents.queue import claim_next
from dialer.agents.service import create_agent
from dialer.campaign.schemas import CampaignCreate
from dialer.campaign.service import create_campaign
from dialer.clock import wall_now
from dialer.db import Database, UTCDateTime
from dialer.migrations import upgrade
from dialer.testing.postgres import PostgresCluster, find_pg_bin_dir

TTL = timedelta(minutes=15)
TIMEZONE = "Asia/Tokyo"
GOAL_RATIO = 0.7
RETRY_EVERY = 100  # lead ids divisible by this start as due retries (1%)
RELEASE_FOR = timedelta(days=1)
PHONE_BASE = 10_000_000  # lead n's phone is +8190 followed by n + PHONE_BASE

# ---------------------------------------------------------------------------------
# Population: set-based INSERT ... SELECT, no ORM, no Python loop per row.
# The lead id drives everything (status, due time), so a reset can recompute a
# lead's starting state from its id alone.
# ---------------------------------------------------------------------------------

_LEAD_COLUMNS = (
    "id, campaign_id, status, priority, timezone, attempts, unsolicited_attempts,"
    " day_attempts, failure_counts, next_attempt_at, next_attempt_reason, extra, raw,"
    " created_at, updated_at,"
    " name, name_key, company, company_key, contract_number, contract_key, external_id,"
    " external_key"
)

# What lead search (scripts/bench/search.py) looks for, derived from the id like
# the rest: 50 x 50 kanji names ('佐藤 太郎', 400 leads each, 20,000 per surname),
# a company for 30% of the leads ('Kanto Denki 1234', 20,000 companies), a
# contract number for 60% ('0312-3456-7890'), an external id for all ('CRM-42').
# The keys are the fold of dialer.leads.search_keys written in SQL; search.py
# checks a sample of them against the fold itself.
SURNAMES = (
    "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々 松本 井上 木村 清水"
    " 山口 森田 池田 林田 斎藤 山崎 阿部 石川 前田 藤田 小川 岡田 後藤 長谷 村上 近藤 石井"
    " 坂本 遠藤 青木 藤井 西村 福田 太田 三浦 藤原 岡本 松田 中川 中野 原田 小野 竹内"
).replace(" ", "")
GIVEN = (
    "太郎 花子 一郎 次郎 三郎 健太 翔太 大輔 直樹 拓也 陽子 恵子 裕子 真理 美穂 愛子 優子"
    " 和也 達也 雄一 誠一 浩二 修平 亮介 大樹 智子 由美 明美 久美 幸子 洋子 京子 典子 直美"
    " 康弘 秀樹 茂樹 正人 勝利 英子 健一 秋子 晴美 浩一 光男 信子 和子 節子 武志 昭二"
).replace(" ", "")
NAMES_EACH = 50
COMPANY_EVERY, COMPANY_OF = 3, 10  # id % 10 < 3
CONTRACT_EVERY, CONTRACT_OF = 3, 5  # id % 5 < 3
COMPANIES = 20_000


def _search_fields_sql(engine: str, id_col: str) -> str:
    """name, name_key, company, company_key, contract_number, contract_key,
    external_id, external_key, as SQL of the id."""
    assert len(SURNAMES) == len(GIVEN) == 2 * NAMES_EACH
    surname = f"substr('{SURNAMES}', ({id_col} % {NAMES_EACH}) * 2 + 1, 2)"
    given = f"substr('{GIVEN}', (({id_col} / {NAMES_EACH}) % {NAMES_EACH}) * 2 + 1, 2)"
    # (id * 7919) % COMPANIES, kept within PostgreSQL's 32-bit integer.
    company_no = f"(({id_col} % {COMPANIES}) * 7919) % {COMPANIES}"
    if engine == "sqlite":
        digits = f"printf('%010d', {id_col})"
        company_no_text = f"CAST({company_no} AS TEXT)"
        ext = f"CAST({id_col} AS TEXT)"
    else:
        digits = f"lpad(({id_col})::text, 10, '0')"
        company_no_text = f"({company_no})::text"
        ext = f"({id_col})::text"
    has_company = f"{id_col} % {COMPANY_OF} < {COMPANY_EVERY}"
    has_contract = f"{id_col} % {CONTRACT_OF} < {CONTRACT_EVERY}"
    contract = (
        f"'03' || substr({digits}, 1, 2) || '-' || substr({digits}, 3, 4) || '-'"
        f" || substr({digits}, 7, 4)"
    )
    return ", ".join(
        [
            f"{surname} || ' ' || {given}",
            f"{surname} || {given}",
            f"CASE WHEN {has_company} THEN 'Kanto Denki ' || {company_no_text} END",
            f"CASE WHEN {has_company} THEN 'kantodenki' || {company_no_text} END",
            f"CASE WHEN {has_contract} THEN {contract} END",
            f"CASE WHEN {has_contract} THEN '03' || {digits} END",
            f"'CRM-' || {ext}",
            f"'crm' || {ext}",
        ]
    )


def _initial_state_sql(engine: str, id_col: str) -> tuple[str, str, str]:
    """(status, next_attempt_at, next_attempt_reason) a lead starts with, as SQL."""
    due = f"{id_col} % {RETRY_EVERY} = 0"
    ago = f"(60 + ({id_col} * 7) % 86400)"  # seconds before t0: due, spread over a day
    if engine == "sqlite":
        # Stored the way SQLAlchemy stores it: naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff'.
        at = f"strftime('%Y-%m-%d %H:%M:%S', :t0_epoch - {ago}, 'unixepoch') || '.000000'"
    else:
        at = f"CAST(:t0 AS timestamptz) - make_interval(secs => {ago})"
    return (
        f"CASE WHEN {due} THEN 'scheduled' ELSE 'new' END",
        f"CASE WHEN {due} THEN {at} END",
        f"CASE WHEN {due} THEN 'retry_delay' END",
    )


def _populate(db: Database, engine: str, *, campaign_id: int, leads: int, t0: datetime) -> None:
    status, due_at, due_reason = _initial_state_sql(engine, "i")
    if engine == "sqlite":
        series = "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < :n) "
        source = "FROM seq"
        priority = "abs(random()) % 10"
        empty_json = "'{}'"
        # Valid Japanese mobiles (090-1000-0001 …), so lead search can look them up.
        number = f"printf('+8190%08d', id + {PHONE_BASE})"
        retired = "0"
    else:
        series = ""
        source = "FROM generate_series(1, :n) AS i"
        priority = "floor(random() * 10)::int"
        empty_json = "'{}'::jsonb"
        number = f"'+8190' || lpad((id + {PHONE_BASE})::text, 8, '0')"
        retired = "false"
    insert_leads = text(
        f"{series}INSERT INTO lead ({_LEAD_COLUMNS}) "
        f"SELECT i, :campaign_id, {status}, {priority}, '{TIMEZONE}', 0, 0, 0, {empty_json},"
        f" {due_at}, {due_reason}, {empty_json}, {empty_json}, :t0, :t0,"
        f" {_search_fields_sql(engine, 'i')} {source}"
    ).bindparams(bindparam("t0", type_=UTCDateTime()))
    insert_phones = text(
        "INSERT INTO phone (lead_id, campaign_id, number, position, retired) "
        f"SELECT id, campaign_id, {number}, 0, {retired} FROM lead WHERE campaign_id = :campaign_id"
    )
    params: dict[str, Any] = {"campaign_id": campaign_id, "n": leads, "t0": t0}
    if engine == "sqlite":
        params["t0_epoch"] = int(t0.timestamp())
    with _bulk_load(db, engine) as conn:
        conn.execute(insert_leads, params)
        conn.execute(insert_phones, {"campaign_id": campaign_id})
        if engine == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('lead', 'id'), :n)"), params)


@contextlib.contextmanager
def _bulk_load(db: Database, engine: str) -> Iterator[Connection]:
    """One transaction with the secondary indexes of lead and phone dropped, then
    rebuilt from the DDL the schema itself gave them (sorted builds beat a million
    random B-tree inserts), then statistics."""
    if engine == "sqlite":
        list_indexes = (
            "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
            " AND tbl_name IN ('lead', 'phone') AND sql IS NOT NULL"
        )
    else:
        # Constraint-backed indexes (primary key, unique constraints) stay.
        list_indexes = (
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            " AND tablename IN ('lead', 'phone') AND indexname NOT IN"
            " (SELECT conname FROM pg_constraint WHERE conindid <> 0)"
        )
    with db.engine.connect() as conn:
        with conn.begin():
            if engine == "sqlite":
                conn.exec_driver_sql("PRAGMA cache_size = -262144")  # 256 MiB, this connection
            else:
                # The rows are consistent by construction: skip the per-row foreign key
                # triggers (superuser only; the throw-away cluster runs as postgres).
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
                conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
            indexes = conn.exec_driver_sql(list_indexes).all()
            for name, _ddl in indexes:
                conn.exec_driver_sql(f'DROP INDEX "{name}"')
            yield conn
            for _name, ddl in indexes:
                conn.exec_driver_sql(ddl)
        if engine == "sqlite":
            conn.exec_driver_sql("PRAGMA analysis_limit = 2000")
            conn.exec_driver_sql("ANALYZE")
            conn.exec_driver_sql("PRAGMA cache_size = -2000")
            conn.commit()
    if engine == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")


def _reset(bench: Bench) -> None:
    """Every lead a measurement touched goes back to how it started."""
    status, due_at, due_reason = _initial_state_sql(bench.engine, "id")
    reset = text(
        f"UPDATE lead SET status = {status}, next_attempt_at = {due_at},"
        f" next_attempt_reason = {due_reason}, updated_at = :t0"
        " WHERE campaign_id = :campaign_id AND (status = 'claimed'"
        " OR (status = 'scheduled' AND next_attempt_at > :t0))"
    ).bindparams(bindparam("t0", type_=UTCDateTime()))
    params = {"campaign_id": bench.campaign_id, "t0": bench.t0, "t0_epoch": bench.t0_epoch}
    with bench.db.write() as session:
        session.execute(text("DELETE FROM claim"))
        session.execute(text("DELETE FROM event"))
        session.execute(reset, params)
    if bench.engine == "postgresql":
        with bench.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM lead, claim, event")


# ---------------------------------------------------------------------------------
# One database under test.
# ---------------------------------------------------------------------------------


@dataclass
class Bench:
    engine: str  # "sqlite" | "postgresql"
    db: Database
    campaign_id: int
    agent_ids: list[int]
    t0: datetime
    sqlite_path: Path | None
    sqlite_pragmas: dict[str, Any]
    raw_via: str = "dbapi"  # "dbapi" | "core"

    @property
    def t0_epoch(self) -> int:
        return int(self.t0.timestamp())


def _setup(engine: str, url: str, *, leads: int, agents: int, sqlite_path: Path | None) -> Bench:
    upgrade(url)
    db = Database(url, pool_size=agents)
    t0 = wall_now()
    with db.write() as session:
        campaign = create_campaign(
            session,
            data=CampaignCreate(
                name="Claim benchmark",
                timezone=TIMEZONE,
                calling_hours=[{"days": "daily", "start": "00:00", "end": "24:00"}],
                skip_holidays=False,
            ),
            now=t0,
        )
        assert campaign.id is not None
        campaign_id = campaign.id
        agent_ids = []
        for n in range(agents):
            agent, _token = create_agent(
                session, name=f"bench-{n}", campaign_ids=[campaign_id], endpoint=None, now=t0
            )
            assert agent.id is not None
            agent_ids.append(agent.id)
    _populate(db, engine, campaign_id=campaign_id, leads=leads, t0=t0)
    pragmas: dict[str, Any] = {}
    if engine == "sqlite":
        # The raw loop's own connections get exactly what the engine set on its own.
        with db.engine.connect() as conn:
            for name in ("busy_timeout", "foreign_keys", "synchronous", "journal_mode"):
                pragmas[name] = conn.exec_driver_sql(f"PRAGMA {name}").scalar()
    return Bench(engine, db, campaign_id, agent_ids, t0, sqlite_path, pragmas)


# ---------------------------------------------------------------------------------
# The raw loop: one SQL text per step, run either on a DBAPI connection the thread
# owns (the default, the database's own speed) or through SQLAlchemy Core text()
# with a pool checkout per claim like the service (--raw core).
# ---------------------------------------------------------------------------------

_SCOPE = "campaign_id = :campaign_id AND timezone IN (:timezone)"
RAW_SQL = {
    # Due promises this agent may take, its own first (issue 4).
    "promise": f"SELECT id, status FROM lead WHERE {_SCOPE} AND next_attempt_reason = 'promise'"
    " AND status = 'scheduled' AND next_attempt_at <= :now"
    " AND (reserved_agent_id = :agent_id OR reserved_agent_id IS NULL)"
    " ORDER BY CASE WHEN reserved_agent_id IS NULL THEN 1 ELSE 0 END, next_attempt_at, id"
    " LIMIT 1",
    "retry": f"SELECT id, status FROM lead WHERE {_SCOPE} AND status = 'scheduled'"
    " AND next_attempt_at <= :now"
    " AND (next_attempt_reason IS NULL OR NOT next_attempt_reason = 'promise')"
    " ORDER BY next_attempt_at, id LIMIT 1",
    "new": f"SELECT id, status FROM lead WHERE {_SCOPE} AND status = 'new'"
    " ORDER BY priority DESC, id LIMIT 1",
    # The phones still callable: not retired and not on the do-not-call list.
    "phones": "SELECT count(*) FROM phone p WHERE p.lead_id = :lead_id AND NOT p.retired"
    " AND NOT EXISTS (SELECT 1 FROM dnc_entry d WHERE d.phone = p.number)",
    "dnc": "UPDATE lead SET status = 'dnc', updated_at = :now WHERE id = :lead_id",
    "claimed": "UPDATE lead SET status = 'claimed', updated_at = :now WHERE id = :lead_id",
    "claim": "INSERT INTO claim (lead_id, agent_id, campaign_id, reason, prev_status,"
    " claimed_at, claim_expires_at)"
    " VALUES (:lead_id, :agent_id, :campaign_id, :reason, :prev_status, :now, :expires)",
    "event": "INSERT INTO event (lead_id, at, kind, actor, detail)"
    " VALUES (:lead_id, :now, 'claimed', :actor, :detail)",
    # The release, the same for both paths and never timed.
    "drop_claim": "DELETE FROM claim WHERE agent_id = :agent_id",
    "reschedule": "UPDATE lead SET status = 'scheduled', next_attempt_at = :due,"
    " next_attempt_reason = 'retry_delay', updated_at = :now WHERE id = :lead_id",
}
_LOCKED = ("promise", "retry", "new")  # FOR UPDATE SKIP LOCKED on PostgreSQL
_INSTANTS = ("now", "expires", "due")


def _raw_sql(engine: str) -> dict[str, str]:
    lock = " FOR UPDATE SKIP LOCKED" if engine == "postgresql" else ""
    return {key: sql + (lock if key in _LOCKED else "") for key, sql in RAW_SQL.items()}


class RawConnection:
    """A DBAPI connection owned by one thread: the raw claim loop and the release."""

    def __init__(self, bench: Bench) -> None:
        self.sqlite = bench.engine == "sqlite"
        statements = _raw_sql(bench.engine)
        if self.sqlite:
            assert bench.sqlite_path is not None
            self.conn: Any = sqlite3.connect(
                bench.sqlite_path,
                timeout=int(bench.sqlite_pragmas["busy_timeout"]) / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            for name in ("busy_timeout", "foreign_keys", "synchronous"):
                self.conn.execute(f"PRAGMA {name} = {bench.sqlite_pragmas[name]}")
            self.statements = statements  # sqlite3 takes :name with a dict as it is
        else:
            url = bench.db.engine.url
            self.conn = psycopg.connect(
                host=url.host,
                port=url.port,
                user=url.username,
                password=url.password,
                dbname=url.database,
            )
            self.statements = {
                key: re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql) for key, sql in statements.items()
            }
        self.cur = self.conn.cursor()

    def execute(self, key: str, params: dict[str, Any]) -> Any:
        for name in _INSTANTS:
            if name in params:
                params[name] = self._instant(params[name])
        if "detail" in params:
            detail = params["detail"]
            params["detail"] = json.dumps(detail) if self.sqlite else Jsonb(detail)
        return self.cur.execute(self.statements[key], params)

    def _instant(self, value: datetime) -> Any:
        # What SQLAlchemy stores on SQLite: naive UTC text; psycopg takes the datetime.
        if self.sqlite:
            return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        return value

    def begin(self) -> None:
        if self.sqlite:
            self.cur.execute("BEGIN IMMEDIATE")
        # psycopg opens the transaction itself on the first statement.

    def commit(self) -> None:
        if self.sqlite:
            self.cur.execute("COMMIT")
        else:
            self.conn.commit()

    def rollback(self) -> None:
        if self.sqlite:
            if self.conn.in_transaction:
                self.cur.execute("ROLLBACK")
        else:
            self.conn.rollback()

    def close(self) -> None:
        self.conn.close()


class CoreConnection:
    """The same statements through SQLAlchemy Core text(), one pool checkout per
    claim on the service's own engine (BEGIN IMMEDIATE on SQLite, as `write()`)."""

    def __init__(self, bench: Bench) -> None:
        json_type = JSON().with_variant(JSONB(), "postgresql")
        self.engine = bench.db.engine.execution_options(sqlite_write=True)
        self.statements = {
            key: text(sql).bindparams(
                *(bindparam(name, type_=UTCDateTime()) for name in _INSTANTS if f":{name}" in sql),
                *([bindparam("detail", type_=json_type)] if ":detail" in sql else []),
            )
            for key, sql in _raw_sql(bench.engine).items()
        }
        self.conn: Connection | None = None

    def execute(self, key: str, params: dict[str, Any]) -> Any:
        assert self.conn is not None
        return self.conn.execute(self.statements[key], params)

    def begin(self) -> None:
        self.conn = self.engine.connect()
        self.conn.begin()

    def commit(self) -> None:
        assert self.conn is not None
        self.conn.commit()
        self.conn.close()
        self.conn = None

    def rollback(self) -> None:
        if self.conn is not None:
            self.conn.rollback()
            self.conn.close()
            self.conn = None

    def close(self) -> None:
        self.rollback()


Executor = RawConnection | CoreConnection


# ---------------------------------------------------------------------------------
# The two claim paths and the shared release.
# ---------------------------------------------------------------------------------

Claimer = Callable[[], int | None]


def service_claimer(bench: Bench, agent_id: int) -> Claimer:
    db = bench.db

    def claim() -> int | None:
        with db.work() as work:
            got = claim_next(work, agent_id=agent_id, now=wall_now(), ttl=TTL)
            return got.lead_id if got is not None else None

    return claim


def raw_claimer(bench: Bench, sql: Executor, agent_id: int) -> Claimer:
    """Best candidate (promise, retry, then new tier), its phones against the DNC list,
    mark it claimed, insert the claim and the event: one transaction."""
    campaign_id = bench.campaign_id
    actor = f"agent:{agent_id}"
    scope = {"campaign_id": campaign_id, "timezone": TIMEZONE}

    def pick(now: datetime) -> tuple[int, str, str] | None:
        for reason in ("promise", "retry", "new"):
            while True:
                params: dict[str, Any] = dict(scope)
                if reason == "promise":
                    params.update(now=now, agent_id=agent_id)
                elif reason == "retry":
                    params["now"] = now
                row = sql.execute(reason, params).fetchone()
                if row is None:
                    break
                lead_id, status = row
                if sql.execute("phones", {"lead_id": lead_id}).fetchone()[0]:
                    return lead_id, status, reason
                sql.execute("dnc", {"now": now, "lead_id": lead_id})  # not in this data set
        return None

    def claim() -> int | None:
        now = wall_now()
        expires = now + TTL
        sql.begin()
        try:
            picked = pick(now)
            if picked is not None:
                lead_id, status, reason = picked
                sql.execute("claimed", {"now": now, "lead_id": lead_id})
                sql.execute(
                    "claim",
                    {
                        "lead_id": lead_id,
                        "agent_id": agent_id,
                        "campaign_id": campaign_id,
                        "reason": reason,
                        "prev_status": status,
                        "now": now,
                        "expires": expires,
                    },
                )
                detail = {
                    "reason": reason,
                    "old_status": status,
                    "claim_expires_at": expires.isoformat(),
                }
                sql.execute(
                    "event", {"lead_id": lead_id, "now": now, "actor": actor, "detail": detail}
                )
            sql.commit()
        except BaseException:
            sql.rollback()
            raise
        return picked[0] if picked is not None else None

    return claim


def make_raw_claimer(bench: Bench, raw: RawConnection, agent_id: int) -> tuple[Claimer, Executor]:
    """The raw loop on the thread's DBAPI connection, or through Core (--raw core)."""
    sql: Executor = raw if bench.raw_via == "dbapi" else CoreConnection(bench)
    return raw_claimer(bench, sql, agent_id), sql


def service_releaser(bench: Bench, agent_id: int) -> Callable[[int], None]:
    """The release, on the service's own engine: each path releases on the
    connections it claims on, so neither finds its page cache (SQLite) or its
    prepared statements (PostgreSQL) spoiled by the other's connection."""
    db = bench.db

    def release(lead_id: int) -> None:
        now = wall_now()
        with db.work() as work:
            work.raw.run("DELETE FROM claim WHERE agent_id = ?", (agent_id,))
            work.raw.run(
                "UPDATE lead SET status = 'scheduled', next_attempt_at = ?,"
                " next_attempt_reason = 'retry_delay', updated_at = ? WHERE id = ?",
                (work.raw.instant(now + RELEASE_FOR), work.raw.instant(now), lead_id),
            )

    return release


def releaser(raw: RawConnection, agent_id: int) -> Callable[[int], None]:
    def release(lead_id: int) -> None:
        now = wall_now()
        raw.begin()
        try:
            raw.execute("drop_claim", {"agent_id": agent_id})
            raw.execute("reschedule", {"due": now + RELEASE_FOR, "now": now, "lead_id": lead_id})
            raw.commit()
        except BaseException:
            raw.rollback()
            raise

    return release


# ---------------------------------------------------------------------------------
# Measurement.
# ---------------------------------------------------------------------------------


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[rank]


def run_phase(
    bench: Bench, path: str, *, agents: int, warmup: float, seconds: float
) -> dict[str, Any]:
    barrier = threading.Barrier(agents + 1)
    stop = threading.Event()
    records: list[list[tuple[float, float, int | None]]] = [[] for _ in range(agents)]
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        raw: RawConnection | None = None
        core: Executor | None = None
        try:
            agent_id = bench.agent_ids[k]
            raw = RawConnection(bench)
            if path == "service":
                claim = service_claimer(bench, agent_id)
                release = service_releaser(bench, agent_id)
            else:
                claim, core = make_raw_claimer(bench, raw, agent_id)
                release = releaser(raw, agent_id)
            out = records[k]
            clock = time.perf_counter
            barrier.wait()
            while not stop.is_set():
                started = clock()
                lead_id = claim()
                out.append((started, clock(), lead_id))
                if lead_id is None:
                    time.sleep(0.01)  # pool empty: nothing to release
                else:
                    release(lead_id)
        except BaseException as exc:
            errors.append(exc)
            stop.set()
            barrier.abort()
        finally:
            if core is not None and core is not raw:
                core.close()
            if raw is not None:
                raw.close()

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(agents)]
    for thread in threads:
        thread.start()
    try:
        barrier.wait(timeout=120)
        time.sleep(warmup)
        window_start = time.perf_counter()
        stop.wait(seconds)
        window_end = time.perf_counter()
    except threading.BrokenBarrierError:
        window_start = window_end = time.perf_counter()
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise RuntimeError(f"{bench.engine} {path} x{agents}: {errors[0]!r}") from errors[0]

    every = [r for per_agent in records for r in per_agent]
    claimed = Counter(lead_id for _, _, lead_id in every if lead_id is not None)
    in_window = [r for r in every if window_start <= r[1] <= window_end]
    latencies = sorted((end - begin) * 1000 for begin, end, lead_id in in_window if lead_id)
    empty = sum(1 for _, _, lead_id in in_window if lead_id is None)
    elapsed = window_end - window_start
    return {
        "claims_per_s": round(len(latencies) / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": round(_percentile(latencies, 0.50), 3),
        "p99_ms": round(_percentile(latencies, 0.99), 3),
        "claims": len(latencies),
        "empty": empty,
        "duplicates": sum(count - 1 for count in claimed.values() if count > 1),
        "seconds": round(elapsed, 3),
    }


# ---------------------------------------------------------------------------------
# Profile of the service path: cProfile plus the SQL it sends per claim.
# ---------------------------------------------------------------------------------


def profile_service(bench: Bench, *, claims: int) -> dict[str, Any]:
    agent_id = bench.agent_ids[0]
    claim = service_claimer(bench, agent_id)
    raw = RawConnection(bench)
    release = service_releaser(bench, agent_id)
    statements: list[str] = []
    sql_time = [0.0]

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info["bench_t"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sql_time[0] += time.perf_counter() - conn.info.pop("bench_t")
        if not statement.startswith("BEGIN"):
            statements.append(statement)

    for _ in range(50):  # warm caches (statement cache, prepared statements, lru_caches)
        lead_id = claim()
        if lead_id is not None:
            release(lead_id)
    # Unprofiled first: is one claim waiting on the database or running Python?
    wall = cpu = 0.0
    for _ in range(claims):
        began, began_cpu = time.perf_counter(), time.process_time()
        lead_id = claim()
        cpu += time.process_time() - began_cpu
        wall += time.perf_counter() - began
        if lead_id is not None:
            release(lead_id)
    unprofiled = {
        "wall_ms_per_claim": round(wall / claims * 1000, 3),
        "cpu_ms_per_claim": round(cpu / claims * 1000, 3),
    }
    event.listen(bench.db.engine, "before_cursor_execute", before)
    event.listen(bench.db.engine, "after_cursor_execute", after)
    profiler = cProfile.Profile()
    wall = 0.0
    first_claim: list[str] = []
    try:
        for n in range(claims):
            begin = time.perf_counter()
            profiler.enable()
            lead_id = claim()
            profiler.disable()
            wall += time.perf_counter() - begin
            if n == 0:
                first_claim = list(statements)
            if lead_id is not None:
                release(lead_id)
    finally:
        event.remove(bench.db.engine, "before_cursor_execute", before)
        event.remove(bench.db.engine, "after_cursor_execute", after)
        raw.close()
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(15)
    wall_ms = wall / claims * 1000
    return {
        "claims": claims,
        **unprofiled,
        "ms_per_claim_profiled": round(wall_ms, 3),
        "cursor_executes_per_claim": round(len(statements) / claims, 2),
        "ms_in_cursor_execute_per_claim": round(sql_time[0] / claims * 1000, 3),
        "statements_of_one_claim": [" ".join(s.split())[:200] for s in first_claim],
        "pstats": buffer.getvalue(),
    }


def count_raw_statements(bench: Bench, *, claims: int) -> float:
    """Statements the raw loop sends per claim, BEGIN and COMMIT not counted."""
    raw = RawConnection(bench)
    agent_id = bench.agent_ids[0]
    release = releaser(raw, agent_id)
    claim_raw = RawConnection(bench)
    claim, sql = make_raw_claimer(bench, claim_raw, agent_id)
    counted = [0]
    execute = sql.execute

    def counting(key: str, params: dict[str, Any]) -> Any:
        counted[0] += 1
        return execute(key, params)

    sql.execute = counting  # type: ignore[method-assign]
    try:
        for _ in range(claims):
            lead_id = claim()
            if lead_id is not None:
                release(lead_id)
    finally:
        if sql is not claim_raw:
            sql.close()
        claim_raw.close()
        raw.close()
    return counted[0] / claims


def _check_same_queue(bench: Bench) -> None:
    """Both paths must hand the first agent the same lead from the same queue."""
    agent_id = bench.agent_ids[0]
    first: dict[str, int | None] = {}
    for path in PATHS:
        _reset(bench)
        raw = RawConnection(bench)
        try:
            if path == "service":
                first[path] = service_claimer(bench, agent_id)()
            else:
                claim, sql = make_raw_claimer(bench, raw, agent_id)
                first[path] = claim()
                if sql is not raw:
                    sql.close()
            if first[path] is not None:
                releaser(raw, agent_id)(first[path] or 0)
        finally:
            raw.close()
    if first["service"] is None or first["service"] != first["raw"]:
        raise RuntimeError(f"{bench.engine}: the two paths disagree on the first lead: {first}")


# ---------------------------------------------------------------------------------
# Driver.
# ---------------------------------------------------------------------------------

PATHS = ("service", "raw")


def bench_engine(
    engine: str, url: str, args: argparse.Namespace, sqlite_path: Path | None
) -> dict[str, Any]:
    began = time.perf_counter()
    bench = _setup(engine, url, leads=args.leads, agents=max(args.agents), sqlite_path=sqlite_path)
    bench.raw_via = args.raw
    populate_s = time.perf_counter() - began
    print(f"# {engine}: {args.leads:,} leads ready in {populate_s:.1f}s", flush=True)
    result: dict[str, Any] = {"populate_s": round(populate_s, 2)}
    try:
        _check_same_queue(bench)
        for index, agents in enumerate(args.agents):
            # Alternate which path goes first so neither always meets a warmer cache.
            order = PATHS if index % 2 == 0 else PATHS[::-1]
            figures: dict[str, Any] = {}
            for path in order:
                _reset(bench)
                figures[path] = run_phase(
                    bench, path, agents=agents, warmup=args.warmup, seconds=args.seconds
                )
                row = figures[path]
                print(
                    f"# {engine:<10} {agents:>3} {path:<7} {row['claims_per_s']:>9.1f}/s"
                    f"  p50 {row['p50_ms']:.2f} ms  p99 {row['p99_ms']:.2f} ms"
                    f"  dup {row['duplicates']}",
                    flush=True,
                )
            raw_rate = figures["raw"]["claims_per_s"]
            ratio = figures["service"]["claims_per_s"] / raw_rate if raw_rate else 0.0
            result[str(agents)] = {
                "service": figures["service"],
                "raw": figures["raw"],
                "ratio": round(ratio, 3),
            }
        if args.profile:
            _reset(bench)
            profile = profile_service(bench, claims=args.profile_claims)
            _reset(bench)
            profile["raw_statements_per_claim"] = round(
                count_raw_statements(bench, claims=args.profile_claims), 2
            )
            _reset(bench)
            print(f"\n## {engine}: service claim path, 1 agent, {profile['claims']} claims")
            print(
                f"## unprofiled: {profile['wall_ms_per_claim']} ms/claim wall,"
                f" {profile['cpu_ms_per_claim']} ms of it CPU in this process"
            )
            print(
                f"## {profile['ms_per_claim_profiled']} ms/claim under cProfile,"
                f" {profile['ms_in_cursor_execute_per_claim']} ms of it in cursor.execute;"
                f" {profile['cursor_executes_per_claim']} statements/claim"
                f" (raw loop: {profile['raw_statements_per_claim']})"
            )
            print("## statements of one claim:")
            for statement in profile["statements_of_one_claim"]:
                print(f"##   {statement[:160]}{'...' if len(statement) > 160 else ''}")
            print(profile.pop("pstats"))
            result["profile"] = profile
    finally:
        bench.db.dispose()
    return result


def _print_table(results: dict[str, Any], agents_list: list[int], raw_via: str) -> None:
    header = (
        f"{'engine':<11}{'agents':>6}  {'path':<8}{'claims/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'dup':>5}{'service/raw':>13}"
    )
    print(f"\nraw loop via {raw_via}; goal: service/raw >= {GOAL_RATIO}")
    print(header)
    print("-" * len(header))
    for engine, figures in results.items():
        if "skipped" in figures:
            print(f"{engine:<11} skipped: {figures['skipped']}")
            continue
        for agents in agents_list:
            entry = figures[str(agents)]
            for path in PATHS:
                row = entry[path]
                ratio = f"{entry['ratio']:.2f}" if path == "service" else ""
                flag = " (< goal)" if path == "service" and entry["ratio"] < GOAL_RATIO else ""
                print(
                    f"{engine:<11}{agents:>6}  {path:<8}{row['claims_per_s']:>10.1f}"
                    f"{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}{row['duplicates']:>5}"
                    f"{ratio:>13}{flag}"
                )
    print()


def _int_list(value: str) -> list[int]:
    try:
        numbers = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        msg = f"not a comma-separated list of integers: {value!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not numbers or any(n < 1 for n in numbers):
        raise argparse.ArgumentTypeError("agent counts are positive integers")
    return numbers


def _engine_list(value: str) -> list[str]:
    engines = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [e for e in engines if e not in ("sqlite", "postgresql")]
    if unknown or not engines:
        raise argparse.ArgumentTypeError(f"engines are sqlite and/or postgresql, not {unknown}")
    return engines


def on_engines(
    engines: list[str], *, prefix: str, run: Callable[[str, str], dict[str, Any]]
) -> dict[str, Any]:
    """`run(engine, url)` on each engine: SQLite in a temporary directory, PostgreSQL
    on a throw-away cluster (skipped, and said so, without its server binaries)."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        for engine in engines:
            if engine == "sqlite":
                results[engine] = run(engine, f"sqlite:///{Path(tmp) / 'bench.db'}")
                continue
            if find_pg_bin_dir() is None:
                results[engine] = {"skipped": "PostgreSQL server binaries not found"}
                continue
            cluster = PostgresCluster()
            cluster.start()
            try:
                results[engine] = run(engine, cluster.create_database("bench"))
            finally:
                cluster.stop()
    return results


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k leads, 3 s per measurement")
    parser.add_argument("--engines", type=_engine_list, default=["sqlite", "postgresql"])
    parser.add_argument("--leads", type=int, help="leads in the campaign (default 1M, quick 100k)")
    parser.add_argument("--seconds", type=float, help="per measurement (default 10, quick 3)")
    parser.add_argument("--warmup", type=float, help="unmeasured seconds before each window")
    parser.add_argument("--agents", type=_int_list, default=[1, 16, 64])
    parser.add_argument(
        "--raw",
        choices=("dbapi", "core"),
        default="dbapi",
        help="raw loop on a DBAPI connection per thread (default) or via SQLAlchemy Core text()",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the service path (1 agent) per engine"
    )
    parser.add_argument("--profile-claims", type=int, default=500)
    args = parser.parse_args(argv)
    if args.leads is None:
        args.leads = 100_000 if args.quick else 1_000_000
    if args.seconds is None:
        args.seconds = 3.0 if args.quick else 10.0
    if args.warmup is None:
        args.warmup = 0.3 if args.quick else 1.0
    if not 1 <= args.leads < 10**8 - PHONE_BASE:
        parser.error("--leads must be between 1 and 89,999,999 (phone numbers have 8 digits)")
    return args


EngineBench = Callable[[str, str, argparse.Namespace, Path | None], dict[str, Any]]


def run_engines(
    bench: EngineBench, args: argparse.Namespace, *, prefix: str
) -> dict[str, dict[str, Any]]:
    """`bench(engine, url, args, sqlite_path)` on a fresh SQLite file and on a
    throw-away PostgreSQL cluster (skipped, and said so, without its binaries)."""
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        for engine in args.engines:
            if engine == "sqlite":
                path = Path(tmp) / "bench.db"
                results[engine] = bench(engine, f"sqlite:///{path}", args, path)
                continue
            if find_pg_bin_dir() is None:
                reason = "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found"
                print(f"# postgresql skipped: {reason}", flush=True)
                results[engine] = {"skipped": reason}
                continue
            cluster = PostgresCluster()
            cluster.start()
            try:
                url = cluster.create_database("bench")
                results[engine] = bench(engine, url, args, None)
            finally:
                cluster.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    results = run_engines(bench_engine, args, prefix="bench-claim-")
    wall = time.perf_counter() - started
    _print_table(results, args.agents, args.raw)
    ratios = [
        figures[str(a)]["ratio"]
        for figures in results.values()
        if "skipped" not in figures
        for a in args.agents
    ]
    duplicates = sum(
        figures[str(a)][path]["duplicates"]
        for figures in results.values()
        if "skipped" not in figures
        for a in args.agents
        for path in PATHS
    )
    summary: dict[str, Any] = dict(results)
    summary.update(
        {
            "leads": args.leads,
            "quick": args.quick,
            "seconds": args.seconds,
            "agents": args.agents,
            "raw_via": args.raw,
            "goal_ratio": GOAL_RATIO,
            "goal_met": bool(ratios) and min(ratios) >= GOAL_RATIO,
            "duplicates": duplicates,
            "wall_s": round(wall, 1),
        }
    )
    print(f"# wall time {wall:.1f}s", flush=True)
    print(json.dumps(summary, separators=(",", ":")))
    return 1 if duplicates else 0


if __name__ == "__main__":
    sys.exit(main())
