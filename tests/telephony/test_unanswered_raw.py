"""A call that ends unanswered, written in hand-written SQL
(dialer.calls.disposition.end_unanswered_raw, from the simulated provider's
due reports): the same rows and the same events, in the same order, as the
ORM's path (`apply_status_update`), which still takes a call whose lead the
session holds. Two leads dialled alike, one report each in one run: one goes
raw, the other through the ORM, and what they leave behind must match."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from helpers import Api
from sqlalchemy import select

from dialer.agents.models import Agent, AgentEvent
from dialer.calls import disposition
from dialer.calls.models import Call
from dialer.failing import FailingRows
from dialer.leads import lifecycle
from dialer.leads.models import Event, Lead

PHONES = ("090-8800-0101", "090-8800-0102")


def _runtime(api: Api) -> Any:
    return api.client.app.state.runtime  # type: ignore[attr-defined]


def _normalized(value: Any, *, ids: dict[int, str]) -> Any:
    """A row or event detail with this lead's ids named, so two leads' compare."""
    if isinstance(value, dict):
        return {k: _normalized(v, ids=ids) for k, v in value.items()}
    if isinstance(value, str):
        for raw_id, name in ids.items():
            value = value.replace(f"call {raw_id} ", f"call {name} ")
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value in ids:
        return ids[value]
    return value


@pytest.mark.parametrize("outcome", ["no-answer", "busy", "machine", "failed"])
@pytest.mark.parametrize("max_attempts", [6, 1], ids=["retried", "exhausted"])
def test_an_unanswered_end_written_raw_is_the_orms(
    api: Api, monkeypatch: pytest.MonkeyPatch, outcome: str, max_attempts: int
) -> None:
    c = api.campaign(retry_policy={"max_attempts": max_attempts})
    rows = "".join(f"L{i},{phone}\n" for i, phone in enumerate(PHONES))
    assert api.import_csv(c["id"], "name,phone\n" + rows).status_code == 201
    calls: list[dict[str, Any]] = []
    agents: list[dict[str, Any]] = []
    for i, phone in enumerate(PHONES):
        agent = api.agent([c["id"]], name=f"Agent{i}")
        lead = api.next(agent).json()["lead"]
        api.post("/api/admin/sim/outcomes", json={"phone": phone, "outcomes": [outcome]})
        call = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={}).json()
        assert call["status"] == "ringing"
        calls.append(call)
        agents.append(agent)
    raw_call, orm_call = calls
    written_raw: list[int] = []
    real = disposition.end_unanswered_raw

    def spy(*args: Any, **kw: Any) -> bool:
        took = real(*args, **kw)
        if took:
            written_raw.append(kw["call"].call_id)
        return took

    monkeypatch.setattr(disposition, "end_unanswered_raw", spy)
    runtime = _runtime(api)
    with runtime.db.work() as work:
        session = work.session
        now = runtime.now_in(session) + timedelta(seconds=60)
        # The second lead held by the session: its report goes the ORM's way.
        assert session.get(Lead, orm_call["lead_id"]) is not None
        reported = runtime.telephony.run_due(session, now=now, failing=FailingRows("test"))
    assert reported == 2
    assert written_raw == [raw_call["id"]]

    with runtime.db.read() as session:
        found: list[Any] = []
        for call, agent in zip(calls, agents, strict=True):
            ids = {call["id"]: "C", call["lead_id"]: "L", agent["id"]: "A"}
            row = session.get(Call, call["id"])
            lead = session.get(Lead, call["lead_id"])
            held_by = session.get(Agent, agent["id"])
            assert row is not None and lead is not None and held_by is not None
            events = session.scalars(
                select(Event).where(Event.lead_id == call["lead_id"]).order_by(Event.id)
            ).all()
            assert row.ended_at is not None
            ended = [e for e in events if e.at == row.ended_at]
            agent_events = session.scalars(
                select(AgentEvent)
                .where(AgentEvent.agent_id == agent["id"], AgentEvent.at == row.ended_at)
                .order_by(AgentEvent.id)
            ).all()
            found.append(
                (
                    [(e.kind, e.actor, _normalized(e.detail, ids=ids)) for e in ended],
                    [(e.kind, _normalized(e.payload, ids=ids)) for e in agent_events],
                    (
                        row.status,
                        row.answered_by,
                        row.answered_at,
                        row.ended_at,
                        row.duration,
                        row.disposition,
                        row.dispositioned_at,
                        row.dispositioned_by,
                        row.sim_final_at,
                    ),
                    (
                        lead.status,
                        lead.next_attempt_at,
                        lead.next_attempt_reason,
                        lead.failure_counts,
                        lead.last_outcome,
                        lead.updated_at,
                    ),
                    held_by.free_since == row.ended_at,
                )
            )
    assert found[0] == found[1]
    kinds = [kind for kind, _actor, _detail in found[0][0]]
    if max_attempts == 1:
        assert kinds == ["call_status", "disposition", "status_changed", "claim_released"]
        assert found[0][3][0] == "exhausted"
    else:
        assert kinds == [
            "call_status", "disposition", "retry_scheduled", "status_changed", "claim_released",
        ]  # fmt: skip
        assert found[0][3][0] == "scheduled"
    assert found[0][1] and found[0][4]  # the agent heard, and waits from its call's end


@pytest.mark.parametrize(
    ("counts", "kind", "after"),
    [
        (None, "no_answer", {"no_answer": 1}),
        ({}, "busy", {"busy": 1}),
        ({"busy": 2, "no_answer": 1}, "busy", {"busy": 3, "no_answer": 1}),
    ],
)
def test_a_failure_is_counted_by_one_rule(
    counts: dict[str, int] | None, kind: str, after: dict[str, int]
) -> None:
    assert lifecycle.failed_once(counts, kind=kind) == after
    before = dict(counts) if counts is not None else None
    lifecycle.failed_once(counts, kind=kind)
    assert counts == before  # the counts read are not changed in place
