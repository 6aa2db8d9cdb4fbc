"""Demo data for the embedded default: the campaigns in `campaigns/`, three agents
whose tokens are printed, a manager named `manager`, a password for each of
them (printed as `name / password`, for the consoles' sign-in), a generated
lead list imported through the same import path managers use, and one promise
coming due ten minutes in.

Running it again on the same database changes nothing that exists: campaigns
are re-applied by name, the people are found by name and keep their tokens and
passwords (kept in a file beside the database, see `demo_tokens_path`), and the
leads are imported only into an empty campaign."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import random
import secrets
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, make_url, select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.models import Agent, Role
from dialer.agents.passwords import assign_password, verify
from dialer.agents.service import create_agent, set_campaigns
from dialer.auth import hash_token, holds_token
from dialer.campaign.hours import local_text
from dialer.campaign.service import apply_campaign_files, campaign_files
from dialer.leads.importer import start_import
from dialer.leads.models import Lead, Phone
from dialer.promises.booking import book
from dialer.promises.models import Promise, PromiseRequest
from dialer.runtime import Runtime
from dialer.settings import Settings
from dialer.views.imports import get_import

log = logging.getLogger("dialer.demo")

DEMO_AGENTS = ("Sato", "Suzuki", "Takahashi")
# The demo's manager signs in to the consoles by this name.
DEMO_MANAGER = "manager"
_SURNAMES = ("山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "中村", "小林", "加藤")
_GIVEN = ("太郎", "花子", "一郎", "美咲", "健", "陽子", "大輔", "さくら", "翔", "恵")
_PROVIDERS = ("東京電力エナジーパートナー", "関西電力", "Looopでんき", "ENEOSでんき")
_PREFECTURES = ("東京都", "神奈川県", "埼玉県", "千葉県")


def demo_lead_csv(*, count: int, seed: int = 7) -> str:
    """A lead list in the shape CRMs export: Japanese headers, mixed phone formats,
    a few duplicates and junk rows."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["氏名", "電話番号", "携帯", "現在の契約先", "郵便番号", "都道府県", "優先度", "担当支店"]
    )
    for i in range(count):
        mobile = f"090{rng.randrange(10_000_000, 99_999_999)}"
        landline = f"03-{rng.randrange(1000, 9999)}-{rng.randrange(1000, 9999)}"
        phone = rng.choice(
            [f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}", landline, "+81 " + mobile[1:]]
        )
        if i % 50 == 49:
            phone = "03-12"  # junk the report must name
        writer.writerow(
            [
                f"{rng.choice(_SURNAMES)} {rng.choice(_GIVEN)}",
                phone,
                mobile if rng.random() < 0.3 else "",
                rng.choice(_PROVIDERS),
                f"{rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}",
                rng.choice(_PREFECTURES),
                rng.choice(["0", "0", "0", "5"]),
                rng.choice(["東京本社", "横浜支店", "大宮支店"]),
            ]
        )
    return out.getvalue()


def seed_demo(
    settings: Settings, *, campaigns_dir: Path, leads: int, out: Path, base_url: str
) -> None:
    runtime = Runtime(settings)
    runtime.start()
    try:
        with runtime.write() as (session, now):
            applied = apply_campaign_files(session, paths=campaign_files(campaigns_dir), now=now)
            campaign_ids = [c.id for _a, c in applied if c.id is not None]
            primary = applied[0][1]
            tokens_path = demo_tokens_path(settings.database_url, out=out)
            tokens, logins = _demo_people(
                session, campaign_ids=campaign_ids, tokens_path=tokens_path, now=now
            )
            has_leads = session.scalar(
                select(func.count()).select_from(Lead).where(col(Lead.campaign_id) == primary.id)
            )
        report = None
        promised: Promise | None = None
        if not has_leads:
            # Through the import managers use, once the campaigns are committed.
            out.mkdir(parents=True, exist_ok=True)
            path = out / "kanto-leads.csv"
            path.write_text(demo_lead_csv(count=leads), encoding="utf-8")
            assert primary.id is not None
            import_id = start_import(
                runtime.db,
                runner=None,
                campaign_id=primary.id,
                path=path,
                filename=path.name,
                actor="demo",
                now=now,
                mapping=None,
                sync_limit_bytes=runtime.settings.import_sync_bytes,
            )
            with runtime.db.read() as session:
                report = get_import(session, import_id=import_id)
            promised = _demo_promise(runtime, campaign_id=primary.id, agent_id=tokens[0][1])
        print(
            f"\nDemo ready on {settings.database_url} "
            f"(clock: {settings.clock}, telephony: {settings.telephony})"
        )
        for action, campaign in applied:
            print(f"  campaign {campaign.id} {action}: {campaign.name}")
        if report is not None:
            li = report
            print(
                f"  imported {li.accepted} leads ({li.invalid} invalid, "
                f"{li.duplicates} duplicates) from {out / 'kanto-leads.csv'}"
            )
        if promised is not None:
            print(
                f"  promise: lead {promised.lead_id} is due for {tokens[0][0]} at "
                f"{local_text(promised.due_at, ZoneInfo(primary.timezone))} "
                "(advance the clock to see it first in the queue)"
            )
            print(
                "  the customer may ring back first: POST /api/admin/sim/incoming "
                f'{{"from": "{_first_phone(runtime, lead_id=promised.lead_id)}"}}'
            )
        if settings.bootstrap_token:
            print(f"  manager token: {settings.bootstrap_token}")
        for name, agent_id, token in tokens:
            if token is None:
                print(
                    f"  agent {agent_id} {name}: (token not in {tokens_path}: it was changed "
                    f"through the API; POST /api/agents/{agent_id}/token gives a new one)"
                )
            else:
                print(f"  agent {agent_id} {name}: {token}")
        print(f"  sign in at {base_url}/ (name / password):")
        for name, password in logins:
            if password is None:
                print(f"    {name} / (changed through the API: not in {tokens_path})")
            else:
                print(f"    {name} / {password}")
        print(f"  (agent tokens and passwords are kept in {tokens_path}; a restart keeps them)")
        print(
            "\nTry:  curl -s -X POST -H 'Authorization: Bearer <agent token>' "
            f"{base_url}/api/agents/<id>/next"
        )
        print(f"API docs: {base_url}/docs\n")
    finally:
        runtime.close()


def demo_tokens_path(database_url: str, *, out: Path) -> Path:
    """Beside the demo's SQLite file (a new database file, new agents; the same
    file, the same tokens), else in the demo's output directory."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        db_file = Path(str(url.database))
        return db_file.with_name(db_file.name + ".demo-tokens.json")
    return out / "demo-tokens.json"


def _read_tokens(path: Path, *, key: str = "agents") -> dict[str, str]:
    """One table of the file: `agents` (name → token) or `passwords` (name →
    password)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        log.warning("demo tokens file %s is unreadable; agents keep their tokens", path)
        return {}
    table = data.get(key) if isinstance(data, dict) else None
    if not isinstance(table, dict):
        return {}
    return {str(k): v for k, v in table.items() if isinstance(v, str)}


def _write_tokens(
    path: Path, tokens: dict[str, str], *, passwords: dict[str, str] | None = None
) -> None:
    """Atomically, readable by its owner only: these are credentials. The
    passwords on file stay when none are given."""
    if passwords is None:
        passwords = _read_tokens(path, key="passwords")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    data = {"agents": tokens, "passwords": passwords}
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def _demo_people(
    session: Session, *, campaign_ids: list[int], tokens_path: Path, now: datetime
) -> tuple[list[tuple[str, int, str | None]], list[tuple[str, str | None]]]:
    """The agents (with their tokens), the manager, and everyone's password, as
    `(name, password)`: None for one changed through the API since."""
    tokens = _demo_agents(session, campaign_ids=campaign_ids, tokens_path=tokens_path, now=now)
    manager = _demo_manager(session, tokens_path=tokens_path, now=now)
    known = _read_tokens(tokens_path, key="passwords")
    people = [manager, *(session.get(Agent, agent_id) for _n, agent_id, _t in tokens)]
    logins: list[tuple[str, str | None]] = []
    for person in people:
        assert person is not None
        password = known.get(person.name)
        if not person.has_password:
            if password is None or len(password) < 10:
                password = secrets.token_urlsafe(12)
            assign_password(
                session, agent=person, password=password, actor="demo", keep_session_id=None,
                now=now,
            )  # fmt: skip
            known[person.name] = password
        elif password is None or not verify(person.password_hash, password):
            # Set through the API since (or by another demo file): left as it is.
            password = None
        logins.append((person.name, password))
    _write_tokens(tokens_path, _read_tokens(tokens_path), passwords=known)
    return tokens, logins


def _demo_manager(session: Session, *, tokens_path: Path, now: datetime) -> Agent:
    """A manager who signs in as `manager`: created once (the bootstrap
    manager, if any, keeps its own name and token)."""
    found = session.scalar(
        select(Agent)
        .where(col(Agent.name) == DEMO_MANAGER, col(Agent.role) == Role.manager)
        .order_by(col(Agent.id))
        .limit(1)
    )
    if found is not None:
        return found
    known = _read_tokens(tokens_path)
    manager, token = create_agent(
        session, name=DEMO_MANAGER, campaign_ids=[], endpoint=None, now=now,
        role=Role.manager, actor="demo",
    )  # fmt: skip
    known[DEMO_MANAGER] = token
    _write_tokens(tokens_path, known)
    return manager


def _demo_agents(
    session: Session, *, campaign_ids: list[int], tokens_path: Path, now: datetime
) -> list[tuple[str, int, str | None]]:
    """The demo's agents, created once. Tokens are stored hashed, so the ones
    the demo showed are kept in `tokens_path`: a restart shows the same ones
    and replaces none. A token changed through the API since is not known here
    (None), and stays as it is."""
    known = _read_tokens(tokens_path)
    found: list[tuple[str, int, str | None]] = []
    for name in DEMO_AGENTS:
        agent = session.scalar(
            select(Agent)
            .where(col(Agent.name) == name, col(Agent.role) == Role.agent)
            .order_by(col(Agent.id))
            .limit(1)
        )
        token: str | None = known.get(name)
        if agent is None:
            if token is not None and session.scalar(
                select(col(Agent.id)).where(col(Agent.token_hash) == hash_token(token))
            ):
                token = None  # another account holds it: not this database's file
            agent, token = create_agent(
                session,
                name=name,
                campaign_ids=campaign_ids,
                endpoint=f"client:{name.lower()}",
                now=now,
                actor="demo",
                token=token,
            )
            known[name] = token
        else:
            assert agent.id is not None
            if not holds_token(agent, token=token):
                token = None
            set_campaigns(session, agent_id=agent.id, campaign_ids=campaign_ids)
        assert agent.id is not None
        found.append((name, agent.id, token))
    # Before the commit: a crash between the two leaves a token on file, never an
    # agent whose token nobody knows.
    _write_tokens(tokens_path, known)
    return found


def _demo_promise(runtime: Runtime, *, campaign_id: int, agent_id: int) -> Promise | None:
    """A customer asked the first agent to call back in ten minutes: booked by the
    manager into that agent's calendar, through the same rules as any booking."""
    with runtime.write() as (session, now):
        manager = session.scalar(select(Agent).where(col(Agent.role) == Role.manager).limit(1))
        lead_id = session.scalar(
            select(func.min(col(Lead.id))).where(
                col(Lead.campaign_id) == campaign_id, col(Lead.status) == "new"
            )
        )
        if manager is None or lead_id is None:
            return None
        return book(
            session,
            principal=manager,
            lead_id=lead_id,
            request=PromiseRequest(
                in_minutes=10, agent_id=agent_id, note="demo: needs the invoice"
            ),
            now=now,
        )


def _first_phone(runtime: Runtime, *, lead_id: int) -> str:
    with runtime.db.read() as session:
        number = session.scalar(
            select(col(Phone.number))
            .where(col(Phone.lead_id) == lead_id)
            .order_by(col(Phone.position), col(Phone.id))
            .limit(1)
        )
    return number or "?"
