"""Best-hour retry timing end to end: a campaign whose customers answer at 15:00
schedules an unanswered lead's next attempt at 15:00; the fixed ladder does not move."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from helpers import Api, jst

from dialer.calls import hour_stats
from dialer.calls.models import AnsweredBy, Call, CallStatus
from dialer.db import Database
from dialer.leads.models import Lead


def _history(api: Api, campaign_id: int) -> None:
    """Five past weekdays of calls, 09:00-19:00 Tokyo: 15:00 answers 75%, the
    other hours 10%, all on one lead of the campaign (counts are by local hour)."""
    db: Database = api.client.app.state.runtime.db  # type: ignore[attr-defined]
    with db.work() as work:
        session = work.session
        lead = session.query(Lead).filter(Lead.campaign_id == campaign_id).first()
        assert lead is not None and lead.id is not None
        calls = []
        for day in (24, 25, 26, 27, 30):  # November 2026, Tuesday..Monday, no holiday
            for hour in range(9, 20):
                answered = 15 if hour == 15 else 2
                for n in range(20):
                    placed = jst(2026, 11, day, hour, 5 + n)
                    picked = n < answered
                    calls.append(
                        Call(
                            lead_id=lead.id,
                            campaign_id=campaign_id,
                            to="+819055550009",
                            provider="simulated",
                            status=CallStatus.completed if picked else CallStatus.no_answer,
                            answered_by=AnsweredBy.human if picked else None,
                            created_at=placed,
                            answered_at=placed + timedelta(seconds=6) if picked else None,
                            ended_at=placed + timedelta(seconds=60 if picked else 25),
                        )
                    )
        session.add_all(calls)
    hour_stats.forget()


def _unanswered_retry(api: Api, campaign: dict[str, Any]) -> dict[str, Any]:
    """The campaign's lead called at 10:00, not answered: its lead afterwards."""
    agent = api.agent([campaign["id"]], name=f"Agent{campaign['id']}")
    lead = api.next(agent).json()["lead"]
    assert lead["name"] == "Yamada"
    api.post(
        "/api/admin/sim/outcomes",
        json={"phone": lead["phones"][0]["number"], "outcomes": ["no-answer"]},
    )
    r = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={})
    assert r.status_code == 201, r.text
    api.advance(30)  # the unanswered outcome lands 25 s after the dial
    return dict(api.get(f"/api/leads/{lead['id']}").json())


@pytest.mark.parametrize(
    ("timing", "expected"),
    [
        # The ladder's first no-answer delay is 30 minutes after the call ended
        # (10:00:25); 15:00 is the best hour.
        pytest.param("fixed", "2026-12-01T10:30:25+09:00", id="fixed-keeps-the-ladder"),
        pytest.param("best_hour", "2026-12-01T15:00:00+09:00", id="best-hour-moves-it"),
    ],
)
def test_an_unanswered_lead_is_retried_at_the_best_hour(
    api: Api, timing: str, expected: str
) -> None:
    c = api.campaign(retry_timing=timing)
    assert c["retry_timing"] == timing
    csv = "name,phone\nYamada,090-5555-0001\nHistory,090-5555-0009\n"
    assert api.import_csv(c["id"], csv).status_code == 201
    _history(api, c["id"])
    lead = _unanswered_retry(api, c)
    assert lead["status"] == "scheduled"
    assert lead["next_attempt_at"] == expected
    if timing == "best_hour":
        scheduled = [e for e in lead["events"] if e["kind"] == "retry_scheduled"]
        assert scheduled and "15:00" in str(scheduled[-1]["detail"])


def test_best_hour_with_nothing_learned_is_the_ladder(api: Api) -> None:
    c = api.campaign(retry_timing="best_hour")
    assert api.import_csv(c["id"], "name,phone\nYamada,090-5555-0001\n").status_code == 201
    hour_stats.forget()
    lead = _unanswered_retry(api, c)
    assert lead["next_attempt_at"] == "2026-12-01T10:30:25+09:00"


def test_answer_stats_count_by_the_leads_local_hour(api: Api) -> None:
    c = api.campaign()
    assert api.import_csv(c["id"], "name,phone\nHistory,090-5555-0009\n").status_code == 201
    _history(api, c["id"])
    db: Database = api.client.app.state.runtime.db  # type: ignore[attr-defined]
    with db.read() as session:
        stats = hour_stats.answer_stats(session, campaign_id=c["id"], now=jst(2026, 12, 1, 10))
    assert sorted(stats) == list(range(9, 20))
    assert (stats[15].attempts, stats[15].answered) == (100, 75)
    assert (stats[10].attempts, stats[10].answered) == (100, 10)
    # Older than the window: not counted.
    with db.read() as session:
        later = hour_stats.answer_stats(session, campaign_id=c["id"], now=jst(2027, 1, 10, 10))
    assert later == {}
