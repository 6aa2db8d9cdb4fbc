"""Manager console benchmark (issue 15): the floor, the report page and a lead search
on a campaign of 1,000,000 leads, 200 agents and 100,000 calls, timed over HTTP
against a real `dialer web` process, on SQLite and on a throw-away PostgreSQL.

Data (bulk SQL, no ORM loop per row): the claim benchmark's lead set
(scripts/bench/claim.py: kanji names, companies, contract numbers, external ids,
one valid mobile each) in one progressive campaign (Asia/Tokyo, calling hours
09:00–20:00), 200 agents on it (states varied: available, paused with a pause
code, offline, wrapping up; 40 of them holding a lead, 20 on a live call and 5
ringing), and 100,000 calls over the 30 local days before today (local hours
09–20; no-answer, busy, failed, machine, abandoned and answered by a person with
the dispositions converted, callback, will-self-apply, not interested, refused,
wrong number), their conversions (phone, a tenth cancelled; web sign-ups after a
will-self-apply; unmatched postcards) with the credit ledger, and their promises
(kept, missed, scheduled) with the scheduled leads held for them, plus promises
due in the next 30 minutes and missed today. The SQLite file is cached under
/tmp (`--cache-dir`) for six hours and copied for each run (then upgraded to
the current schema); PostgreSQL is rebuilt each run.

Measured, `--loads` (20) times each, p50 / p95 of the wall time of one load:

- floor: `GET /manage` (HTML) with its scripts and styles, the boot reads every
  manager page makes (`GET /api/session`, `GET /api/campaigns`, `GET /api/clock`),
  and `GET /api/floor?campaign_id=`;
- report page: `GET /manage/reports` with its assets and boot reads, then what
  the page calls, at once as a browser does: the leaderboard
  (`/api/reports/agents?campaign_id=`), funnel, promises, conversions, hours,
  `hours.svg` and `promises.svg` over the last `--days` local days (31: every
  call of the data set; the page itself opens on 7);
- lead search: `GET /api/leads?phone=` (national format) and `?name=` (a full
  kanji name, 400 matches on 1M), another lead each time;
- floor update: a manager's `PUT /api/agents/{id}/state` (paused ↔ available)
  until the `floor` event on `/api/floor/events?campaign_id=` shows it;
- each report endpoint alone, and the baselines in the same run:
  `GET /api/reports/campaigns/{id}` and `GET /api/campaigns/{id}/queue`.

The report page and the searches are timed before any floor read: the floor's
first read starts its background queue diagnosis, seconds of work on SQLite at
1M that would land on whatever runs next. A part that answers 404 (not built
yet) is reported "not measured" and left out of its page's figure. `--explain N`
then requests each API read once in process and prints its statements by time
with the plans of the N slowest. Goals: each load p95 ≤ 1 s, update p95 ≤ 2 s.
The last line printed is one JSON object with every figure; exit status 1 when a
goal is missed.

    .venv/bin/python scripts/bench/manager.py --quick     # 100k leads, 10k calls
    .venv/bin/python scripts/bench/manager.py             # 1M leads, 100k calls
    .venv/bin/python scripts/bench/manager.py --engines sqlite --days 7 --explain 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import bindparam, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

import claim

from dialer.agents.service import create_agent
from dialer.campaign.schemas import CampaignCreate
from dialer.campaign.service import create_campaign
from dialer.clock import wall_now
from dialer.db import Database, UTCDateTime
from dialer.migrations import upgrade
from dialer.testing.browser import free_port, wait_until_healthy

REPO = Path(__file__).resolve().parents[2]
TOKEN = "bench-manager-token"
PASSWORD = "bench manager password"
TIMEZONE = claim.TIMEZONE
DAYS = 30
DAY = 86_400
OPEN_S, HOURS_S = 9 * 3600, 11 * 3600  # calls at local 09:00–20:00
LOAD_GOAL_S = 1.0
UPDATE_GOAL_S = 2.0
CACHE_FOR = timedelta(hours=6)
DATA_VERSION = 2  # bump when the data set changes: cached files are rebuilt
PAUSE_CODES = ["休憩", "研修"]


@dataclass
class Data:
    engine: str
    campaign_id: int
    agent_ids: list[int]
    leads: int
    calls: int
    t0: str  # ISO instant the data was built at
    m0: int  # epoch of the campaign's local midnight of t0's day


# ---------------------------------------------------------------------------------
# The data set, in set-based SQL. Call n (id n) derives everything from n: its lead,
# agent, instant, status and disposition; promises and conversions derive from
# their call's id the same way.
# ---------------------------------------------------------------------------------


def _ts(engine: str, epoch: str) -> str:
    """An instant column's value from an epoch-seconds SQL expression."""
    if engine == "sqlite":
        return f"strftime('%Y-%m-%d %H:%M:%S', {epoch}, 'unixepoch') || '.000000'"
    return f"to_timestamp({epoch})"


def _created(id_col: str) -> str:
    """Call `id`'s created_at (epoch): local day (id-1)*30/C of the 30 before today,
    at a local time between 09:00 and 20:00 (`:m0` is the local midnight)."""
    n = f"CAST({id_col} AS BIGINT)"
    return (
        f"(:m0 - ({DAYS} - (({n} - 1) * {DAYS}) / :calls) * {DAY}"
        f" + {OPEN_S} + ({n} * 7919) % {HOURS_S})"
    )


def _series(engine: str, n: str) -> tuple[str, str]:
    if engine == "sqlite":
        return (
            f"WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {n}) ",
            "FROM seq",
        )
    return "", f"FROM generate_series(1, {n}) AS i"


def _phone(engine: str, lead_id: str) -> str:
    if engine == "sqlite":
        return f"printf('+8190%08d', {lead_id} + {claim.PHONE_BASE})"
    return f"'+8190' || lpad(({lead_id} + {claim.PHONE_BASE})::text, 8, '0')"


def _calls_sql(engine: str) -> str:
    with_, source = _series(engine, ":calls")
    k = "((i * 37) % 100)"  # the call's kind
    h = "((i * 13) % 43)"  # an answered call's disposition
    # Leads called: 60% of C distinct ones, some of them more than once.
    lead = "(1 + ((i % :spread) * 7919) % :leads)"
    created = _created("i")
    talk = "(60 + (i * 7) % 540)"
    duration = f"CASE WHEN {k} >= 57 THEN {talk} WHEN {k} >= 45 THEN 20 ELSE 0 END"
    ended = f"{created} + CASE WHEN {k} >= 45 THEN 8 + {duration} ELSE 30 END"
    agent = f"CASE WHEN {k} >= 55 AND {k} < 57 THEN NULL ELSE :a0 + (i % :agents) END"
    disposition = (
        f"CASE WHEN {k} < 30 THEN 'no_answer' WHEN {k} < 40 THEN 'busy'"
        f" WHEN {k} < 45 THEN 'failed' WHEN {k} < 55 THEN 'machine'"
        f" WHEN {k} < 57 THEN 'abandoned' WHEN {h} < 3 THEN 'converted'"
        f" WHEN {h} < 9 THEN 'callback' WHEN {h} < 12 THEN 'will_self_apply'"
        f" WHEN {h} < 30 THEN 'not_interested' WHEN {h} < 40 THEN 'refused'"
        " ELSE 'wrong_number' END"
    )
    false = "0" if engine == "sqlite" else "false"
    return (
        f'{with_}INSERT INTO call (id, lead_id, campaign_id, agent_id, "to", from_, status,'
        " answered_by, provider, for_promise, created_at, answered_at, ended_at, duration,"
        " disposition, dispositioned_at, dispositioned_by) "
        f"SELECT i, {lead}, :campaign_id, {agent}, {_phone(engine, lead)}, '+81312345678',"
        f" CASE WHEN {k} < 30 THEN 'no-answer' WHEN {k} < 40 THEN 'busy'"
        f" WHEN {k} < 45 THEN 'failed' ELSE 'completed' END,"
        f" CASE WHEN {k} < 45 THEN NULL WHEN {k} < 55 THEN 'machine' ELSE 'human' END,"
        f" 'simulated', {false}, {_ts(engine, created)},"
        f" CASE WHEN {k} >= 45 THEN {_ts(engine, created + ' + 8')} END,"
        f" {_ts(engine, ended)}, {duration}, {disposition},"
        f" CASE WHEN {k} < 55 OR {k} >= 57 THEN {_ts(engine, ended)} END,"
        f" CASE WHEN {k} < 55 OR {k} >= 57 THEN 'agent:' || CAST(:a0 + (i % :agents) AS TEXT)"
        f" END {source}"
    )


def _history_sql(engine: str) -> list[tuple[str, str]]:
    """(what, statement) after the calls: conversions, credits, promises, leads."""
    empty = "'{}'" if engine == "sqlite" else "'{}'::jsonb"
    idt = "CAST(id AS TEXT)"
    due = f"({_created('id')} + {DAY})"  # a callback promised for the next day, same hour
    web_at = f"({_created('id')} + {DAY} * (1 + id % 3))"
    return [
        (
            "phone conversions (a tenth cancelled)",
            "INSERT INTO conversion (campaign_id, reference, channel, lead_id, agent_id, call_id,"
            " attribution, status, phone, occurred_at, created_at, source, raw, cancelled_at,"
            " cancel_reason) "
            f"SELECT campaign_id, 'bench-call-' || {idt}, 'phone', lead_id, agent_id, id, 'call',"
            " CASE WHEN id % 10 = 0 THEN 'cancelled' ELSE 'active' END, \"to\", ended_at,"
            f" ended_at, 'call:' || {idt}, {empty}, CASE WHEN id % 10 = 0 THEN ended_at END,"
            " CASE WHEN id % 10 = 0 THEN 'cooling-off' END"
            " FROM call WHERE campaign_id = :campaign_id AND disposition = 'converted'",
        ),
        (
            "web sign-ups after will-self-apply",
            "INSERT INTO conversion (campaign_id, reference, channel, lead_id, agent_id,"
            " attribution, status, phone, occurred_at, created_at, source, raw) "
            f"SELECT campaign_id, 'bench-web-' || {idt}, 'web', lead_id, agent_id,"
            f" 'will_self_apply', 'active', \"to\", {_ts(engine, web_at)},"
            f" {_ts(engine, web_at)}, 'import:bench.csv', {empty}"
            " FROM call WHERE campaign_id = :campaign_id AND disposition = 'will_self_apply'"
            f" AND id % 2 = 0 AND {web_at} < :t0_epoch",
        ),
        (
            "unmatched postcard sign-ups (a called phone, no lead)",
            "INSERT INTO conversion (campaign_id, reference, channel, attribution, status,"
            " phone, occurred_at, created_at, source, raw) "
            f"SELECT campaign_id, 'bench-postcard-' || {idt}, 'postcard', 'unmatched', 'active',"
            f" \"to\", {_ts(engine, web_at)}, {_ts(engine, web_at)}, 'import:postcards.csv',"
            f" {empty} FROM call WHERE campaign_id = :campaign_id AND disposition = 'no_answer'"
            f" AND id % 70 = 0 AND {web_at} < :t0_epoch",
        ),
        (
            "credit ledger",
            "INSERT INTO credit_entry (conversion_id, campaign_id, agent_id, channel, kind,"
            " amount, occurred_at, at, reason) "
            "SELECT id, campaign_id, agent_id, channel, 'credit', 1, occurred_at, created_at,"
            " 'bench' FROM conversion WHERE campaign_id = :campaign_id AND agent_id IS NOT NULL",
        ),
        (
            "credit reversals",
            "INSERT INTO credit_entry (conversion_id, campaign_id, agent_id, channel, kind,"
            " amount, occurred_at, at, reason) "
            "SELECT id, campaign_id, agent_id, channel, 'reversal', -1, occurred_at,"
            " cancelled_at, 'cooling-off' FROM conversion WHERE campaign_id = :campaign_id"
            " AND agent_id IS NOT NULL AND status = 'cancelled'",
        ),
        (
            "promises of callback calls",
            "INSERT INTO promise (lead_id, campaign_id, agent_id, booked_by_agent_id, booked_by,"
            " made_by, kind, due_at, window_end, slot_start, status, call_id, followups,"
            " due_notified_at, closed_at, closed_reason, created_at, updated_at) "
            "SELECT lead_id, campaign_id, agent_id, agent_id, 'agent:' || CAST(agent_id AS TEXT),"
            f" 'customer', 'at', {_ts(engine, due)}, {_ts(engine, due + ' + 900')},"
            f" {_ts(engine, f'{due} - {due} % 900')},"
            f" CASE WHEN {due} >= :t0_epoch THEN 'scheduled' WHEN id % 4 = 0 THEN 'missed'"
            " ELSE 'kept' END, id, 0,"
            f" CASE WHEN {due} < :t0_epoch THEN {_ts(engine, due)} END,"
            f" CASE WHEN {due} < :t0_epoch THEN {_ts(engine, due + ' + 600')} END,"
            f" CASE WHEN {due} < :t0_epoch AND id % 4 = 0 THEN 'not kept in time' END,"
            " created_at, created_at"
            " FROM call WHERE campaign_id = :campaign_id AND disposition = 'callback'",
        ),
        (
            "converted leads",
            "UPDATE lead SET status = 'converted' WHERE id IN (SELECT lead_id FROM conversion"
            " WHERE campaign_id = :campaign_id AND status = 'active' AND lead_id IS NOT NULL)",
        ),
        (
            "refused leads",
            "UPDATE lead SET status = 'refused' WHERE status = 'new' AND id IN"
            " (SELECT lead_id FROM call WHERE campaign_id = :campaign_id"
            " AND disposition = 'refused')",
        ),
        (
            "called leads' attempts",
            "UPDATE lead SET attempts = (SELECT count(*) FROM call c WHERE c.lead_id = lead.id),"
            " unsolicited_attempts = (SELECT count(*) FROM call c WHERE c.lead_id = lead.id),"
            " last_attempt_at = (SELECT max(c.created_at) FROM call c WHERE c.lead_id = lead.id)"
            " WHERE id IN (SELECT lead_id FROM call WHERE campaign_id = :campaign_id)",
        ),
    ]


# Leads held for a scheduled promise, as the booking leaves them.
_HOLD_SQL = (
    "UPDATE lead SET status = 'scheduled', next_attempt_reason = 'promise',"
    " next_attempt_at = (SELECT p.due_at FROM promise p WHERE p.id = :promise_id),"
    " reserved_until = (SELECT p.window_end FROM promise p WHERE p.id = :promise_id),"
    " reserved_agent_id = :agent_id, promise_id = :promise_id WHERE id = :lead_id"
)


def _floor_state(db: Database, data: Data, *, now: datetime) -> None:
    """What the floor shows now: agents' states, claims, live calls, promises due in
    the next 30 minutes and missed today (rows relative to `now`)."""
    a0 = data.agent_ids[0]
    agents = len(data.agent_ids)
    t = now.replace(microsecond=0)
    midnight = datetime.fromtimestamp(data.m0, UTC)
    dt = UTCDateTime()
    with db.write() as s:
        for n, agent_id in enumerate(data.agent_ids):
            kind = n % 10
            state = "paused" if kind in (6, 7) else "offline" if kind == 8 else "available"
            s.execute(
                text(
                    "UPDATE agent SET state = :state, pause_code = :code, state_reason = NULL,"
                    " state_changed_at = :changed, wrapup_until = :wrapup WHERE id = :id"
                ).bindparams(bindparam("changed", type_=dt), bindparam("wrapup", type_=dt)),
                {
                    "state": state,
                    "code": PAUSE_CODES[n % 2] if state == "paused" else None,
                    "changed": t - timedelta(seconds=(n * 97) % 3600),
                    "wrapup": t + timedelta(seconds=30) if kind == 9 else None,
                    "id": agent_id,
                },
            )
        s.execute(text("DELETE FROM claim"))
        s.execute(text("DELETE FROM call WHERE id > :calls"), {"calls": data.calls})
        s.execute(
            text("DELETE FROM promise WHERE booked_by = 'bench:floor'"),
        )
        # 40 agents (available ones: n % 10 < 6) each hold a new lead; 20 are on a
        # call with it and 5 more are ringing it.
        holders = [a for n, a in enumerate(data.agent_ids) if n % 10 < 6][:40]
        first_lead = data.leads // 2 + 1
        for k, agent_id in enumerate(holders):
            lead_id = first_lead + k * 3
            if lead_id % claim.RETRY_EVERY == 0:
                lead_id += 1
            claimed_at = t - timedelta(seconds=20 + k * 17)
            s.execute(text("UPDATE lead SET status = 'claimed' WHERE id = :id"), {"id": lead_id})
            s.execute(
                text(
                    "INSERT INTO claim (lead_id, agent_id, campaign_id, reason, prev_status,"
                    " claimed_at, claim_expires_at) VALUES (:lead, :agent, :campaign, 'new',"
                    " 'new', :at, :expires)"
                ).bindparams(bindparam("at", type_=dt), bindparam("expires", type_=dt)),
                {
                    "lead": lead_id,
                    "agent": agent_id,
                    "campaign": data.campaign_id,
                    "at": claimed_at,
                    "expires": claimed_at + claim.TTL,
                },
            )
            if k < 25:
                live = k < 20
                s.execute(
                    text(
                        'INSERT INTO call (lead_id, campaign_id, agent_id, "to", from_, status,'
                        " answered_by, provider, for_promise, created_at, answered_at)"
                        " VALUES (:lead, :campaign, :agent, :to, '+81312345678', :status,"
                        " :by, 'simulated', :no, :at, :answered)"
                    ).bindparams(bindparam("at", type_=dt), bindparam("answered", type_=dt)),
                    {
                        "lead": lead_id,
                        "campaign": data.campaign_id,
                        "agent": agent_id,
                        "to": f"+8190{lead_id + claim.PHONE_BASE:08d}",
                        "status": "in-progress" if live else "ringing",
                        "by": "human" if live else None,
                        "no": False,
                        "at": claimed_at + timedelta(seconds=3),
                        "answered": claimed_at + timedelta(seconds=11) if live else None,
                    },
                )
        # Promises due in the next 30 minutes and missed since local midnight.
        base = first_lead + 1000
        for k in range(40):
            due_soon = k < 30
            due = (
                t + timedelta(minutes=k + 1)
                if due_soon
                else max(midnight + timedelta(minutes=1), t - timedelta(minutes=5 * (k - 29)))
            )
            lead_id = base + k * 7
            owner = a0 + (k * 11) % agents
            row = s.execute(
                text(
                    "INSERT INTO promise (lead_id, campaign_id, agent_id, booked_by_agent_id,"
                    " booked_by, made_by, kind, due_at, window_end, slot_start, status,"
                    " followups, due_notified_at, closed_at, closed_reason, created_at,"
                    " updated_at) VALUES (:lead, :campaign, :agent, :agent, 'bench:floor',"
                    " 'customer', 'at', :due, :end, :due, :status, 0, :notified, :closed,"
                    " :reason, :created, :created) RETURNING id"
                ).bindparams(
                    *(bindparam(n, type_=dt) for n in ("due", "end", "notified", "closed")),
                    bindparam("created", type_=dt),
                ),
                {
                    "lead": lead_id,
                    "campaign": data.campaign_id,
                    "agent": owner,
                    "due": due,
                    "end": due + timedelta(minutes=15),
                    "status": "scheduled" if due_soon else "missed",
                    "notified": None if due_soon else due,
                    "closed": None if due_soon else due + timedelta(minutes=10),
                    "reason": None if due_soon else "not kept in time",
                    "created": t - timedelta(days=1),
                },
            ).one()
            if due_soon:
                s.execute(
                    text(_HOLD_SQL),
                    {"promise_id": row[0], "agent_id": owner, "lead_id": lead_id},
                )


def _create(db: Database, *, agents: int, now: datetime) -> tuple[int, list[int]]:
    with db.write() as session:
        campaign = create_campaign(
            session,
            data=CampaignCreate(
                name="Manager benchmark",
                timezone=TIMEZONE,
                calling_hours=[{"days": "daily", "start": "09:00", "end": "20:00"}],
                skip_holidays=False,
                dial_mode="progressive",
                caller_id="+81312345678",
                pause_codes=PAUSE_CODES,
            ),
            now=now,
        )
        assert campaign.id is not None
        ids = []
        for n in range(agents):
            agent, _token = create_agent(
                session,
                name=f"ベンチ {n + 1:03d}",
                campaign_ids=[campaign.id],
                endpoint=f"client:bench{n + 1}",
                now=now,
            )
            assert agent.id is not None
            ids.append(agent.id)
    if ids != list(range(ids[0], ids[0] + agents)):
        raise RuntimeError("the bench's agents must have consecutive ids")
    return campaign.id, ids


def build(engine: str, url: str, args: argparse.Namespace) -> Data:
    upgrade(url)
    db = Database(url, pool_size=2)
    t0 = wall_now()
    tz = ZoneInfo(TIMEZONE)
    local = t0.astimezone(tz)
    m0 = int(local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())
    try:
        began = time.perf_counter()
        campaign_id, agent_ids = _create(db, agents=args.agents, now=t0)
        claim._populate(db, engine, campaign_id=campaign_id, leads=args.leads, t0=t0)
        print(f"# {engine}: {args.leads:,} leads in {time.perf_counter() - began:.1f}s", flush=True)
        params: dict[str, Any] = {
            "campaign_id": campaign_id,
            "calls": args.calls,
            "spread": max(1, args.calls * 6 // 10),
            "leads": args.leads,
            "agents": args.agents,
            "a0": agent_ids[0],
            "m0": m0,
            "t0_epoch": int(t0.timestamp()),
        }
        steps = [("calls", _calls_sql(engine)), *_history_sql(engine)]
        with db.engine.connect() as conn:
            with conn.begin():
                for what, statement in steps:
                    began = time.perf_counter()
                    used = {k: v for k, v in params.items() if f":{k}" in statement}
                    rows = conn.execute(text(statement), used).rowcount
                    if rows < 0:  # SQLite's INSERT … WITH RECURSIVE reports none
                        rows = args.calls
                    print(
                        f"# {engine}: {what}: {rows:,} rows in {time.perf_counter() - began:.1f}s",
                        flush=True,
                    )
                if engine == "postgresql":
                    for table in ("call", "conversion", "credit_entry", "promise"):
                        conn.execute(
                            text(
                                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                                f" (SELECT coalesce(max(id), 1) FROM {table}))"
                            )
                        )
            with conn.begin():
                scheduled = conn.execute(
                    text(
                        "SELECT id, agent_id, lead_id FROM promise WHERE campaign_id = :c"
                        " AND status = 'scheduled'"
                    ),
                    {"c": campaign_id},
                ).all()
                for promise_id, agent_id, lead_id in scheduled:
                    conn.execute(
                        text(_HOLD_SQL),
                        {"promise_id": promise_id, "agent_id": agent_id, "lead_id": lead_id},
                    )
        data = Data(
            engine=engine,
            campaign_id=campaign_id,
            agent_ids=agent_ids,
            leads=args.leads,
            calls=args.calls,
            t0=t0.isoformat(),
            m0=m0,
        )
        _analyze(db, engine)
    finally:
        db.dispose()
    return data


def _analyze(db: Database, engine: str) -> None:
    if engine == "sqlite":
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA analysis_limit = 2000")
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
            # The cache copies the main file alone: everything in it, nothing in the WAL.
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.commit()
    else:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")


def sqlite_data(path: Path, args: argparse.Namespace) -> Data:
    """The SQLite data set at `path`: a copy of the cached file when it is fresh,
    else built (and cached)."""
    key = f"sqlite-{args.leads}-{args.agents}-{args.calls}-v{DATA_VERSION}"
    cache = Path(args.cache_dir) / f"{key}.db"
    meta = cache.with_suffix(".json")
    if not args.no_cache and cache.exists() and meta.exists():
        data = Data(**json.loads(meta.read_text()))
        age = wall_now() - datetime.fromisoformat(data.t0)
        if age < CACHE_FOR and _local_midnight(wall_now()) == data.m0:
            began = time.perf_counter()
            shutil.copyfile(cache, path)
            print(
                f"# sqlite: cached data set ({age.total_seconds() / 60:.0f} min old) copied"
                f" in {time.perf_counter() - began:.1f}s",
                flush=True,
            )
            upgrade(f"sqlite:///{path}")
            return data
    began = time.perf_counter()
    data = build("sqlite", f"sqlite:///{path}", args)
    print(f"# sqlite: data set built in {time.perf_counter() - began:.1f}s", flush=True)
    if not args.no_cache:
        Path(args.cache_dir).mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        shutil.copyfile(path, tmp)
        tmp.replace(cache)
        meta.write_text(json.dumps(asdict(data)))
    return data


def _local_midnight(now: datetime) -> int:
    local = now.astimezone(ZoneInfo(TIMEZONE))
    return int(local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())


# ---------------------------------------------------------------------------------
# The service: `dialer web` (one worker, no scheduler: the data stays as built and
# the only writes are the bench's), real clock, simulated telephony.
# ---------------------------------------------------------------------------------


class WebProcess:
    def __init__(self, url: str, workdir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DIALER_TELEPHONY": "simulated",
            "DIALER_BOOTSTRAP_TOKEN": TOKEN,
            "DIALER_AUTO_UPGRADE": "false",
            "PYTHONPATH": str(REPO),
        }
        self.log = (workdir / "web.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dialer.cli", "web", "--port", str(self.port),
             "--workers", "1"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir,
            start_new_session=True,
        )  # fmt: skip
        wait_until_healthy(self.base, proc=self.proc, log_name=self.log.name, seconds=120)

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.log.close()


# ---------------------------------------------------------------------------------
# Measurements.
# ---------------------------------------------------------------------------------


def _figures(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    return {
        "p50_s": round(claim._percentile(ordered, 0.50), 3),
        "p95_s": round(claim._percentile(ordered, 0.95), 3),
        "max_s": round(ordered[-1], 3),
        "n": len(values),
    }


class Missing(Exception):
    """A part of the page that is not built yet (404)."""


def _check(r: httpx.Response, what: str) -> httpx.Response:
    if r.status_code == 404 and r.headers.get("content-type", "").startswith(
        ("application/json", "text/html")
    ):
        try:
            code = r.json().get("code")
        except ValueError:
            code = None
        if code in (None, "not_found"):
            raise Missing(what)
    if r.status_code != 200:
        raise RuntimeError(f"{what}: HTTP {r.status_code} {r.text[:300]}")
    return r


_ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')


async def _page(http: httpx.AsyncClient, path: str | None, api: list[str]) -> dict[str, float]:
    """One page as a browser loads it: the HTML, then its scripts and styles at
    once, then the boot reads and the page's API calls at once (`path` None: the
    reads alone). Returns each part's seconds and the whole's ("total")."""
    began = time.perf_counter()
    assets: list[str] = []
    if path is not None:
        html = _check(await http.get(path), path).text
        assets = sorted(set(_ASSET.findall(html)))

    async def timed(url: str, *, asset: bool = False) -> tuple[str, float]:
        t = time.perf_counter()
        r = await http.get(url)
        if not asset:  # a page's missing script is the page's bug, timed all the same
            _check(r, url)
        return url, time.perf_counter() - t

    await asyncio.gather(*(timed(a, asset=True) for a in assets))
    parts = dict(await asyncio.gather(*(timed(u) for u in ["/api/session", *api])))
    parts["total"] = time.perf_counter() - began
    return parts


async def _loads(
    name: str, run: Any, loads: int, *, missing: dict[str, str]
) -> dict[str, Any] | None:
    times: list[float] = []
    parts: dict[str, list[float]] = {}
    try:
        await run()  # a first, unmeasured load: connections, caches, imports
        for _ in range(loads):
            got = await run()
            if isinstance(got, dict):
                times.append(got.pop("total"))
                for k, v in got.items():
                    parts.setdefault(k, []).append(v)
            else:
                times.append(got)
    except Missing as e:
        missing[name] = f"not measured: {str(e).split('?')[0]} answers 404 (not built yet)"
        print(f"# {name}: {missing[name]}", flush=True)
        return None
    result = _figures(times)
    if parts:
        result["parts_p95_s"] = {
            k: round(claim._percentile(sorted(v), 0.95), 3) for k, v in parts.items()
        }
    print(
        f"# {name:<34} p50 {result['p50_s']:.3f} s  p95 {result['p95_s']:.3f} s"
        f"  max {result['max_s']:.3f} s",
        flush=True,
    )
    return result


async def _timed_get(
    http: httpx.AsyncClient, url: str, params: dict[str, Any] | None = None
) -> float:
    began = time.perf_counter()
    _check(await http.get(url, params=params), url)
    return time.perf_counter() - began


async def _floor_updates(
    base: str, data: Data, *, updates: int, missing: dict[str, str]
) -> dict[str, Any] | None:
    """PUT an agent's state, then wait for the floor event that shows it."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    url = f"{base}/api/floor/events"
    latest: dict[str, Any] = {}
    changed = asyncio.Event()
    opened = asyncio.Event()
    status: list[int] = []

    async def listen(client: httpx.AsyncClient) -> None:
        async with client.stream(
            "GET", url, params={"campaign_id": data.campaign_id}, headers=headers
        ) as response:
            status.append(response.status_code)
            opened.set()
            if response.status_code != 200:
                return
            event, lines = "", []
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    lines.append(line[5:].lstrip())
                elif line == "":
                    if event == "floor" and lines:
                        snap = json.loads("\n".join(lines))
                        latest.clear()
                        latest.update(
                            {str(a["id"]): a["state"] for a in snap.get("agents", [])},
                        )
                        latest["_at"] = time.perf_counter()
                        changed.set()
                    event, lines = "", []

    timeout = httpx.Timeout(30, read=None)
    async with (
        httpx.AsyncClient(timeout=timeout) as client,
        httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http,
    ):
        task = asyncio.create_task(listen(client))
        try:
            await asyncio.wait_for(opened.wait(), 30)
            if status and status[0] == 404:
                name = FIGURES["floor_update"]
                missing[name] = "not measured: /api/floor/events answers 404 (not built yet)"
                print(f"# {name}: {missing[name]}", flush=True)
                return None
            if status and status[0] != 200:
                raise RuntimeError(f"/api/floor/events: HTTP {status[0]}")
            await asyncio.wait_for(changed.wait(), 60)  # the first snapshot
            # Available agents not holding a lead (n % 10 < 6, past the 40 holders).
            pool = [a for n, a in enumerate(data.agent_ids) if n % 10 < 6][40:]
            rng = random.Random(15)
            latencies = []
            for n in range(updates + 1):
                agent_id = rng.choice(pool)
                now_state = latest.get(str(agent_id), "available")
                target = "available" if now_state == "paused" else "paused"
                body: dict[str, Any] = {"state": target}
                if target == "paused":
                    body["pause_code"] = PAUSE_CODES[0]
                began = time.perf_counter()
                r = await http.put(f"/api/agents/{agent_id}/state", json=body)
                if r.status_code != 200:
                    raise RuntimeError(f"PUT state: {r.status_code} {r.text}")
                deadline = began + 30
                while latest.get(str(agent_id)) != target:
                    changed.clear()
                    left = deadline - time.perf_counter()
                    if left <= 0:
                        raise RuntimeError(f"agent {agent_id}'s {target} never reached the floor")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(changed.wait(), left)
                if n:  # the first is a warm-up
                    latencies.append(latest["_at"] - began)
                await asyncio.sleep(rng.uniform(0.2, 0.6))
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    result = _figures(latencies)
    print(
        f"# {FIGURES['floor_update']:<34} p50 {result['p50_s']:.3f} s"
        f"  p95 {result['p95_s']:.3f} s  max {result['max_s']:.3f} s",
        flush=True,
    )
    return result


async def _sign_in(base: str) -> httpx.AsyncClient:
    """A manager with a password, signed in: the cookie client the pages use."""
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    ) as admin:
        found = (await admin.get("/api/agents", params={"role": "manager"})).json()["items"]
        manager = next((m for m in found if m["name"] == "Bench manager"), None)
        if manager is None:
            r = await admin.post("/api/agents", json={"name": "Bench manager", "role": "manager"})
            if r.status_code != 201:
                raise RuntimeError(f"manager: {r.status_code} {r.text}")
            manager = r.json()
        r = await admin.put(f"/api/agents/{manager['id']}/password", json={"password": PASSWORD})
        if r.status_code != 204:
            raise RuntimeError(f"password: {r.status_code} {r.text}")
    http = httpx.AsyncClient(base_url=base, timeout=120)
    r = await http.post("/api/session", json={"name": "Bench manager", "password": PASSWORD})
    if r.status_code != 200:
        raise RuntimeError(f"sign-in: {r.status_code} {r.text}")
    http.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return http


def _national(lead_id: int) -> str:
    digits = f"{lead_id + claim.PHONE_BASE:08d}"
    return f"090-{digits[:4]}-{digits[4:]}"


def _name(lead_id: int) -> str:
    n = claim.NAMES_EACH
    return (
        claim.SURNAMES[(lead_id % n) * 2 : (lead_id % n) * 2 + 2]
        + " "
        + claim.GIVEN[((lead_id // n) % n) * 2 : ((lead_id // n) % n) * 2 + 2]
    )


REPORTS = ("funnel", "promises", "conversions", "hours")
# What is printed and goes into the JSON, by key.
FIGURES = {
    "floor_page": "floor page (HTML + reads)",
    "floor_reads": "floor reads (at once)",
    "floor_api": "GET /api/floor",
    "report_page": "report page (HTML + reads)",
    "report_reads": "report reads (at once)",
    "search_phone": "lead search ?phone=",
    "search_name": "lead search ?name=",
    "floor_update": "floor update (PUT → event)",
}


REPORT_DAYS = [DAYS + 1]  # --days: the report page's range, today included


def _period() -> dict[str, str]:
    """The report page's range: the last `--days` local days, today included (every
    call of the data set by default; the page itself opens on the last 7)."""
    today = wall_now().astimezone(ZoneInfo(TIMEZONE)).date()
    since = today - timedelta(days=REPORT_DAYS[0] - 1)
    return {"since": since.isoformat(), "until": today.isoformat()}


def _report_api(campaign_id: int) -> list[str]:
    """What the report page calls."""
    c = campaign_id
    q = "&".join(f"{k}={v}" for k, v in _period().items())
    return [
        f"/api/reports/agents?campaign_id={c}&{q}",
        *(f"/api/reports/campaigns/{c}/{name}?{q}" for name in REPORTS),
        f"/api/reports/campaigns/{c}/hours.svg?{q}&lang=en",
        f"/api/reports/campaigns/{c}/promises.svg?{q}&lang=en",
    ]


def api_paths(data: Data) -> list[str]:
    """Every API read the bench times (the baselines first). The floor comes last:
    its first read starts the queue's diagnosis in the background, whose statements
    would otherwise be counted in the reads after it."""
    c = data.campaign_id
    q = "&".join(f"{k}={v}" for k, v in _period().items())
    return [
        f"/api/reports/campaigns/{c}?{q}",
        f"/api/campaigns/{c}/queue",
        *_report_api(c),
        f"/api/leads?phone={_national(data.leads // 3)}",
        f"/api/leads?name={_name(data.leads // 3)}",
        f"/api/floor?campaign_id={c}",
    ]


async def measure(base: str, data: Data, args: argparse.Namespace) -> dict[str, Any]:
    http = await _sign_in(base)
    c = data.campaign_id
    period = _period()
    report_api = _report_api(c)
    missing: dict[str, str] = {}
    out: dict[str, Any] = {}
    loads = args.loads
    rng = random.Random(7)
    try:
        # Baselines first and last (their mean is the ratio's base): the shared
        # machine's load moves during a run.
        async def base_report() -> float:
            return await _timed_get(http, f"/api/reports/campaigns/{c}", period)

        async def base_queue() -> float:
            return await _timed_get(http, f"/api/campaigns/{c}/queue")

        baseline: dict[str, Any] = {
            "campaign report": await _loads("baseline: campaign report", base_report, loads,
                                            missing=missing),
            "queue": await _loads("baseline: queue", base_queue, loads, missing=missing),
        }  # fmt: skip

        async def floor_page() -> dict[str, float]:
            reads = ["/api/campaigns", "/api/clock", f"/api/floor?campaign_id={c}"]
            return await _page(http, f"/manage?campaign_id={c}", reads)

        async def floor_api() -> float:
            return await _timed_get(http, "/api/floor", {"campaign_id": c})

        async def report_page() -> dict[str, float]:
            present = [u for u in report_api if u not in absent]
            return await _page(
                http, f"/manage/reports?campaign_id={c}", ["/api/campaigns", "/api/clock", *present]
            )

        async def report_reads() -> dict[str, float]:
            present = [u for u in report_api if u not in absent]
            return await _page(http, None, ["/api/campaigns", "/api/clock", *present])

        async def floor_reads() -> dict[str, float]:
            reads = ["/api/campaigns", "/api/clock", f"/api/floor?campaign_id={c}"]
            return await _page(http, None, reads)

        absent: set[str] = set()
        endpoints: dict[str, Any] = {}
        for url in report_api:
            name = url.split("?")[0].rsplit("/", 1)[-1]
            key = "leaderboard" if name == "agents" else name

            async def one(url: str = url) -> float:
                return await _timed_get(http, url)

            got = await _loads(f"report: {key}", one, loads, missing=missing)
            if got is None:
                absent.add(url)
            endpoints[key] = got
        out["report_endpoints"] = endpoints

        async def search_phone() -> float:
            lead_id = rng.randint(1, data.leads)
            return await _timed_get(http, "/api/leads", {"phone": _national(lead_id)})

        async def search_name() -> float:
            return await _timed_get(http, "/api/leads", {"name": _name(rng.randint(1, data.leads))})

        # The report page and the searches before any floor read: the floor's first
        # read starts its background queue diagnosis (every 15 s while it is read),
        # seconds of work on SQLite at 1M that would land on whatever runs next.
        figures = {
            "report_reads": report_reads,
            "report_page": report_page,
            "search_phone": search_phone,
            "search_name": search_name,
            "floor_api": floor_api,
            "floor_reads": floor_reads,
            "floor_page": floor_page,
        }
        for key, run in figures.items():
            out[key] = await _loads(FIGURES[key], run, loads, missing=missing)
        out["floor_update"] = await _floor_updates(base, data, updates=loads, missing=missing)
        again = {
            "campaign report": await _loads("baseline: campaign report (again)", base_report,
                                            loads, missing=missing),
            "queue": await _loads("baseline: queue (again)", base_queue, loads, missing=missing),
        }  # fmt: skip
    finally:
        await http.aclose()
    for key in baseline:
        first, last = baseline[key], again[key]
        if first and last:
            baseline[key] = {
                "first": first,
                "last": last,
                "p50_s": round((first["p50_s"] + last["p50_s"]) / 2, 3),
                "p95_s": round((first["p95_s"] + last["p95_s"]) / 2, 3),
            }
    out["baseline"] = baseline
    out["missing"] = missing
    out["absent"] = sorted(
        {m.split(": ", 1)[1].split(" answers")[0] for m in missing.values() if ": " in m}
    )
    return out


def _ratios(out: dict[str, Any]) -> dict[str, Any]:
    """Each figure's p50 and p95 over the same-run baselines'."""
    b = out["baseline"]
    ratios: dict[str, Any] = {}
    for key in FIGURES:
        fig = out.get(key)
        if not fig:
            continue
        ratios[key] = {
            f"{stat}_over_{name.replace(' ', '_')}": round(fig[stat] / b[name][stat], 3)
            for name in ("campaign report", "queue")
            for stat in ("p50_s", "p95_s")
            if b.get(name) and b[name][stat]
        }
    return ratios


def _goals(out: dict[str, Any]) -> dict[str, Any]:
    goals: dict[str, Any] = {}
    for key in ("floor_page", "report_page", "search_phone", "search_name"):
        fig = out.get(key)
        goals[key] = None if not fig else fig["p95_s"] <= LOAD_GOAL_S
    fig = out.get("floor_update")
    goals["floor_update"] = None if not fig else fig["p95_s"] <= UPDATE_GOAL_S
    return goals


def explain(url: str, paths: list[str], *, top: int) -> dict[str, Any]:
    """Each API path once in process (TestClient over the same database): its
    statements by time, and the plans of the `top` slowest SELECTs."""
    from fastapi.testclient import TestClient
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from dialer.app import create_app
    from dialer.settings import Settings

    settings = Settings(  # type: ignore[call-arg]
        DATABASE_URL=url,
        DIALER_TELEPHONY="simulated",
        DIALER_BOOTSTRAP_TOKEN=TOKEN,
        DIALER_AUTO_UPGRADE=False,
    )
    seen: list[tuple[float, str, Any, Engine]] = []

    def before(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        conn.info["bench_t"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        seen.append((time.perf_counter() - conn.info.pop("bench_t"), statement, parameters,
                     conn.engine))  # fmt: skip

    found: dict[str, Any] = {}
    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    try:
        with TestClient(create_app(settings)) as client:
            client.headers["Authorization"] = f"Bearer {TOKEN}"
            for path in paths:
                client.get(path)  # warm
                seen.clear()
                began = time.perf_counter()
                status = client.get(path).status_code
                total = time.perf_counter() - began
                statements = sorted(seen, key=lambda row: -row[0])
                entry: dict[str, Any] = {
                    "status": status,
                    "total_ms": round(total * 1000, 1),
                    "statements": len(statements),
                    "sql_ms": round(sum(r[0] for r in statements) * 1000, 1),
                    "slowest": [],
                }
                for took, sql, params, engine in statements[:top]:
                    plan: list[str] = []
                    if sql.lstrip().upper().startswith(("SELECT", "WITH")):
                        sqlite = engine.dialect.name == "sqlite"
                        raw = engine.raw_connection()
                        try:
                            cur = raw.cursor()
                            cur.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + sql,
                                        params)  # fmt: skip
                            plan = [" ".join(str(c) for c in row) for row in cur.fetchall()]
                        finally:
                            raw.close()
                    brief = " ".join(sql.split())[:400]
                    ms = round(took * 1000, 1)
                    entry["slowest"].append({"ms": ms, "sql": brief, "plan": plan})
                found[path] = entry
                print(
                    f"## {path}: HTTP {status}, {entry['total_ms']} ms,"
                    f" {entry['statements']} statements ({entry['sql_ms']} ms in SQL)"
                )
                for row in entry["slowest"]:
                    print(f"##   {row['ms']:>8} ms  {row['sql'][:300]}")
                    for line in row["plan"]:
                        print(f"##               {line}")
    finally:
        event.remove(Engine, "before_cursor_execute", before)
        event.remove(Engine, "after_cursor_execute", after)
    return found


def bench_engine(engine: str, url: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    began = time.perf_counter()
    sqlite = engine == "sqlite"
    # SQLite's file is the one `url` names (claim.on_engines makes it).
    data = (
        sqlite_data(Path(url.removeprefix("sqlite:///")), args)
        if sqlite
        else build(engine, url, args)
    )
    db = Database(url, pool_size=1)
    try:
        _floor_state(db, data, now=wall_now())
    finally:
        db.dispose()
    ready_s = time.perf_counter() - began
    print(f"# {engine}: data ready in {ready_s:.1f}s", flush=True)
    service = WebProcess(url, tmp)
    try:
        out = asyncio.run(measure(service.base, data, args))
    finally:
        service.close()
    out["ratios"] = _ratios(out)
    out["goals"] = _goals(out)
    if args.explain:
        paths = [u for u in api_paths(data) if not any(u.startswith(m) for m in out["absent"])]
        out["explain"] = explain(url, paths, top=args.explain)
    out["data_ready_s"] = round(ready_s, 1)
    return out


def _row(name: str, fig: dict[str, Any] | None, missing: str | None) -> str:
    if not fig:
        return f"  {name:<36} {missing or 'not measured'}"
    return f"  {name:<36} p50 {fig['p50_s']:>7.3f} s   p95 {fig['p95_s']:>7.3f} s"


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"\nmanager console, {args.leads:,} leads, {args.agents} agents, {args.calls:,} calls;"
        f" {args.loads} loads each; goals: load p95 ≤ {LOAD_GOAL_S:g} s,"
        f" update p95 ≤ {UPDATE_GOAL_S:g} s"
    )
    for engine, out in results.items():
        print(f"{engine}:")
        if "skipped" in out:
            print(f"  skipped: {out['skipped']}")
            continue
        missing = out["missing"]
        for key, label in FIGURES.items():
            ratio = out["ratios"].get(key, {})
            extra = "".join(f"  {k} ×{v}" for k, v in ratio.items() if k.startswith("p95"))
            print(_row(label, out.get(key), missing.get(label)) + extra)
        for key, fig in out["baseline"].items():
            print(_row(f"baseline: {key}", fig, missing.get(f"baseline: {key}")))
        for key, fig in out["report_endpoints"].items():
            print(_row(f"report endpoint: {key}", fig, missing.get(f"report: {key}")))
        print(f"  goals: {out['goals']}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k leads, 10k calls")
    parser.add_argument("--engines", type=claim._engine_list, default=["sqlite", "postgresql"])
    parser.add_argument("--leads", type=int, help="default 1M (quick 100k)")
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--calls", type=int, help="default 100k (quick 10k)")
    parser.add_argument("--loads", type=int, default=20, help="measured loads of each figure")
    parser.add_argument(
        "--days", type=int, default=DAYS + 1,
        help="the report page's range in local days, today included (default 31: every call)",
    )  # fmt: skip
    parser.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "bench-manager"))
    parser.add_argument("--no-cache", action="store_true", help="build the SQLite file afresh")
    parser.add_argument(
        "--explain", type=int, default=0, metavar="N",
        help="after measuring, each API read once in process: its N slowest statements' plans",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.leads is None:
        args.leads = 100_000 if args.quick else 1_000_000
    if args.calls is None:
        args.calls = 10_000 if args.quick else 100_000
    if not 1_000 <= args.leads < 10**8 - claim.PHONE_BASE:
        parser.error("--leads must be between 1,000 and 89,999,999")
    if not 100 <= args.calls <= 10_000_000:
        parser.error("--calls must be between 100 and 10,000,000")
    if not 50 <= args.agents <= 5_000:
        parser.error("--agents must be between 50 and 5,000")
    if not 1 <= args.loads <= 1_000:
        parser.error("--loads must be between 1 and 1,000")
    if not 1 <= args.days <= 366:
        parser.error("--days must be between 1 and 366")
    REPORT_DAYS[0] = args.days
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-manager-files-") as tmpdir:
        results = claim.on_engines(
            args.engines,
            prefix="bench-manager-",
            run=lambda engine, url: bench_engine(engine, url, args, Path(tmpdir)),
        )
    report(results, args)
    summary = {
        **results,
        "leads": args.leads,
        "agents": args.agents,
        "calls": args.calls,
        "loads": args.loads,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary, ensure_ascii=False, separators=(",", ":")))
    missed = [
        (engine, key)
        for engine, out in results.items()
        for key, ok in out.get("goals", {}).items()
        if ok is False
    ]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
