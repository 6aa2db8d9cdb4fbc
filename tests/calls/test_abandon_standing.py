"""A campaign's abandon standing (`dialer.calls.abandon`): what it counts, the
window's bounds, the cap's edge, and that it is one search of an index."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from helpers import Api, jst
from sqlalchemy import event, select
from sqlmodel import col

from dialer.calls.abandon import abandon_standing
from dialer.calls.models import Call
from dialer.campaign.models import Campaign
from dialer.db import is_postgres
from dialer.leads.models import Lead

NOW = jst(2026, 12, 1, 10)


def _db(api: Api) -> Any:
    return api.client.app.state.runtime.db  # type: ignore[attr-defined]


def _campaign(api: Api, **policy: Any) -> tuple[int, int]:
    c = api.campaign(abandon_policy=policy) if policy else api.campaign()
    assert api.import_csv(c["id"], "name,phone\nA,090-7100-0001\n").status_code == 201
    with _db(api).read() as s:
        lead = s.scalar(select(col(Lead.id)).where(col(Lead.campaign_id) == c["id"]))
    return c["id"], lead


def _calls(
    api: Api, campaign_id: int, lead_id: int, rows: list[tuple[datetime, dict[str, Any]]]
) -> None:
    with _db(api).write() as s:
        for at, kw in rows:
            s.add(
                Call(
                    lead_id=lead_id, campaign_id=campaign_id, to="+819071000001",
                    provider="simulated", status=kw.pop("status", "completed"), created_at=at,
                    **kw,
                )
            )  # fmt: skip


def _standing(api: Api, campaign_id: int, now: datetime = NOW) -> Any:
    with _db(api).read() as s:
        campaign = s.get(Campaign, campaign_id)
        return abandon_standing(s, campaign=campaign, now=now)


def test_what_it_counts_and_the_windows_bounds(api: Api) -> None:
    cid, lead = _campaign(api, window_days=2)
    since = NOW - timedelta(days=2)
    _calls(
        api,
        cid,
        lead,
        [
            (since, {"answered_by": "human"}),  # at the window's start: in
            (NOW, {"answered_by": "human", "disposition": "abandoned"}),  # at now: in
            (since - timedelta(seconds=1), {"answered_by": "human"}),  # before: out
            (NOW + timedelta(seconds=1), {"answered_by": "human"}),  # after now: out
            # No machine detection, abandoned: a person answered all the same.
            (NOW - timedelta(hours=1), {"answered_by": "unknown", "disposition": "abandoned"}),
            (NOW - timedelta(hours=1), {"answered_by": "machine", "disposition": "machine"}),
            (NOW - timedelta(hours=1), {"status": "no-answer", "disposition": "no_answer"}),
            (NOW - timedelta(hours=1), {"answered_by": "unknown", "status": "in-progress"}),
        ],
    )
    standing = _standing(api, cid)
    assert (standing.answered, standing.abandoned, standing.rate) == (3, 2, 0.6667)
    assert standing.since_at == since and standing.window_days == 2
    assert standing.max_rate == 0.03 and standing.over is True


@pytest.mark.parametrize(("abandoned", "over"), [(0, False), (3, False), (4, True)])
def test_the_cap_is_a_ratio_not_its_rounding(api: Api, abandoned: int, over: bool) -> None:
    cid, lead = _campaign(api, max_rate=0.03)
    at = NOW - timedelta(minutes=5)
    rows = [(at, {"answered_by": "human", "disposition": "abandoned"}) for _ in range(abandoned)]
    rows += [(at, {"answered_by": "human"}) for _ in range(100 - abandoned)]
    _calls(api, cid, lead, rows)
    standing = _standing(api, cid)
    assert (standing.answered, standing.abandoned, standing.over) == (100, abandoned, over)


def test_nothing_answered_yet(api: Api) -> None:
    cid, _lead = _campaign(api)
    standing = _standing(api, cid)
    assert (standing.answered, standing.rate, standing.over) == (0, None, False)


def test_it_is_one_search_of_an_index(api: Api) -> None:
    cid, lead = _campaign(api)
    _calls(api, cid, lead, [(NOW, {"answered_by": "human"})])
    engine = _db(api).engine
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "count" in statement.lower():
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        _standing(api, cid)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    [(statement, params)] = seen
    with _db(api).read() as s:
        connection = s.connection()
        if is_postgres(s):
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = connection.exec_driver_sql("EXPLAIN " + statement, params).all()
            text = " ".join(str(row[0]) for row in plan)
            assert "ix_call_campaign_answered" in text and "Seq Scan on call" not in text, plan
        else:
            plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
            text = " ".join(str(cell) for row in plan for cell in row)
            # The partial index of the answered calls (only those rows are read).
            assert "INDEX ix_call_campaign_answered" in text and "SCAN call" not in text, text
