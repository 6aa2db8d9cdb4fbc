"""No lead is ever held by two agents at once, under any concurrency."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

from helpers import make_settings
from sqlalchemy import delete, func, select, update

from dialer.agents.models import Claim
from dialer.agents.queue import NextLead, claim_next
from dialer.agents.service import create_agent
from dialer.campaign.schemas import CampaignCreate
from dialer.campaign.service import create_campaign
from dialer.leads.importer import import_bytes
from dialer.leads.models import Lead
from dialer.runtime import Runtime
from dialer.views.imports import get_import

TTL = timedelta(minutes=15)


def _runtime(db_url: str, *, leads: int, agents: int) -> tuple[Runtime, list[int]]:
    runtime = Runtime(make_settings(db_url))
    runtime.start()
    rows = "\n".join(f"L{i},0901{i:07d}" for i in range(leads))
    with runtime.write() as (session, now):
        campaign = create_campaign(
            session,
            data=CampaignCreate(
                name="Concurrency",
                calling_hours=[{"days": "daily", "start": "00:00", "end": "24:00"}],  # type: ignore[list-item]
            ),
            now=now,
        )
        ids = []
        for n in range(agents):
            agent, _token = create_agent(
                session, name=f"A{n}", campaign_ids=[campaign.id or 0], endpoint=None, now=now
            )
            ids.append(agent.id or 0)
    import_id = import_bytes(
        runtime.db,
        campaign_id=campaign.id or 0,
        data=f"name,phone\n{rows}\n".encode(),
        filename=None,
        actor="test",
        now=now,
    )
    with runtime.db.read() as session:
        assert get_import(session, import_id=import_id).accepted == leads
    return runtime, ids


def _claim(runtime: Runtime, agent_id: int) -> NextLead | None:
    with runtime.db.work() as work:
        now = runtime.now_in(work.session)
        return claim_next(work, agent_id=agent_id, now=now, ttl=TTL)


def _run(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive()


def test_many_agents_at_once_never_share_a_lead(db_url: str) -> None:
    runtime, agents = _runtime(db_url, leads=20, agents=32)
    barrier = threading.Barrier(len(agents))
    got: dict[int, int | None] = {}
    errors: list[BaseException] = []

    def work(agent_id: int) -> None:
        try:
            barrier.wait()
            result = _claim(runtime, agent_id)
            got[agent_id] = result.lead_id if result else None
        except BaseException as exc:
            errors.append(exc)

    _run([threading.Thread(target=work, args=(a,)) for a in agents])
    assert errors == []
    held = [lead for lead in got.values() if lead is not None]
    assert len(held) == 20 and len(set(held)) == 20
    with runtime.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Claim)) == 20
        assert (
            session.scalar(select(func.count()).select_from(Lead).where(Lead.status == "claimed"))
            == 20
        )
    runtime.close()


def test_claim_release_loops_never_hand_one_lead_to_two_agents(db_url: str) -> None:
    runtime, agents = _runtime(db_url, leads=60, agents=8)
    claimed: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(agent_id: int) -> None:
        try:
            while True:
                result = _claim(runtime, agent_id)
                if result is None:
                    return
                with lock:
                    claimed.append(result.lead_id or 0)
                # Release: the lead leaves the pool (as after a final disposition).
                with runtime.write() as (session, _now):
                    session.execute(delete(Claim).where(Claim.agent_id == agent_id))  # type: ignore[arg-type]
                    session.execute(
                        update(Lead).where(Lead.id == result.lead_id).values(status="converted")
                    )  # type: ignore[arg-type]
        except BaseException as exc:
            errors.append(exc)

    _run([threading.Thread(target=work, args=(a,)) for a in agents])
    assert errors == []
    assert sorted(Counter(claimed).values()) == [1] * 60
    runtime.close()


def test_one_agent_asking_in_parallel_gets_one_claim(db_url: str) -> None:
    runtime, agents = _runtime(db_url, leads=10, agents=1)
    barrier = threading.Barrier(8)
    seen: list[Any] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            result = _claim(runtime, agents[0])
            seen.append(result.lead_id if result else None)
        except BaseException as exc:
            errors.append(exc)

    _run([threading.Thread(target=work) for _ in range(8)])
    assert errors == []
    assert len(seen) == 8 and len(set(seen)) == 1 and seen[0] is not None
    with runtime.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Claim)) == 1
    runtime.close()
