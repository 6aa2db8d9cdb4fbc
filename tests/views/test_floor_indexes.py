"""The floor snapshot reads no table of a campaign's size (leads, calls, promises,
events) whole: every statement it runs is an index search on both engines, so
it stays fast at a million leads and 100,000 calls (scripts/bench/manager.py)
whatever the planner would pick on a test's tiny tables."""

from __future__ import annotations

import re
from typing import Any

from helpers import Api
from sqlalchemy import event

from dialer.db import is_postgres
from dialer.views.floor import floor_snapshot

BIG_TABLES = ("lead", "call", "promise", "event", "phone")


def _busy_floor(api: Api) -> int:
    """A progressive campaign with every part of the snapshot in use."""
    c = api.campaign(caller_id="+81312345678", dial_mode="progressive", status="paused")
    csv = "name,phone\nYamada,090-5555-0001\nSato,090-5555-0002\n"
    assert api.import_csv(c["id"], csv).status_code == 201
    agent = api.agent([c["id"]], name="Sato")
    api.patch(f"/api/campaigns/{c['id']}", json={"status": "active"})
    lead = api.next(agent).json()["lead"]
    api.post(
        "/api/admin/sim/outcomes",
        json={"phone": lead["phones"][0]["number"], "outcomes": ["answered"]},
    )
    assert api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={}).status_code
    other = api.get("/api/leads", params={"phone": "090-5555-0002"}).json()["items"][0]
    assert api.post(f"/api/leads/{other['id']}/promises", json={"in_minutes": 10}).status_code
    return int(c["id"])


def test_every_statement_of_the_snapshot_searches_an_index(api: Api) -> None:
    campaign_id = _busy_floor(api)
    runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    engine = runtime.db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        with runtime.db.read() as session:
            out = floor_snapshot(
                session, campaign_id=campaign_id, now=runtime.now_in(session), queue=None
            )
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert out.agents[0].call is not None and out.pacing is not None
    assert out.promises_due_soon and out.calls_live
    wrong = []
    with runtime.db.read() as session:
        postgres = is_postgres(session)
        connection = session.connection()
        if postgres:
            # An empty table is cheapest to scan; ask whether an index *can* serve.
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        for statement, params in seen:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            plan = connection.exec_driver_sql(prefix + statement, params).all()
            lines = [" ".join(str(cell) for cell in row) for row in plan]
            for line in lines:
                for table in BIG_TABLES:
                    if postgres:
                        bad = re.search(rf"Seq Scan on {table}\b", line)
                    else:
                        # A SEARCH is an index range; a SCAN reads the whole table
                        # (or a whole index).
                        bad = re.search(rf"\bSCAN {table}\b", line)
                    if bad:
                        wrong.append(f"{statement}\n  {line}")
    assert wrong == [], "\n".join(wrong)
    assert len(seen) >= 8
