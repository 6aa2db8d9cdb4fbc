"""A call that ends unanswered, written in hand-written SQL
(dialer.calls.disposition.end_unanswered_raw, from the simulated provider's
due reports): the same rows and the same events, in the same order, as the
ORM's path (`apply_status_update`), which still takes a call whose lead the
session holds. Two leads dialled alike, one report each in one run: one goes
raw, the other through the ORM, and what they leave behind must match. The
Twilio status callback's fast path ends such a call by the same raw path."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from helpers import Api, make_settings
from sqlalchemy import inspect, select
from twilio.request_validator import RequestValidator

from dialer.agents.models import Agent, AgentEvent
from dialer.app import create_app
from dialer.calls import disposition
from dialer.calls.disposition_sql import ENDING_OF_LEAD
from dialer.calls.models import Call, CallStatus
from dialer.calls.status import status_change
from dialer.failing import FailingRows
from dialer.leads import lifecycle
from dialer.leads.models import Event, Lead
from dialer.telephony import webhooks

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


def _left_behind(runtime: Any, call: dict[str, Any], agent: dict[str, Any]) -> Any:
    """What a call's end left: its events and its agent's, its row, its lead's
    row, and whether its agent waits from its end (ids named, see _normalized)."""
    ids = {call["id"]: "C", call["lead_id"]: "L", agent["id"]: "A"}
    with runtime.db.read() as session:
        row = session.get(Call, call["id"])
        lead = session.get(Lead, call["lead_id"])
        held_by = session.get(Agent, agent["id"])
        assert row is not None and lead is not None and held_by is not None
        assert row.ended_at is not None
        events = session.scalars(
            select(Event).where(Event.lead_id == call["lead_id"]).order_by(Event.id)
        ).all()
        ended = [e for e in events if e.at == row.ended_at]
        agent_events = session.scalars(
            select(AgentEvent)
            .where(AgentEvent.agent_id == agent["id"], AgentEvent.at == row.ended_at)
            .order_by(AgentEvent.id)
        ).all()
        return (
            [(e.kind, e.actor, _normalized(e.detail, ids=ids)) for e in ended],
            [(e.kind, _normalized(e.payload, ids=ids)) for e in agent_events],
            (row.status, row.answered_by, row.answered_at, row.ended_at, row.duration,
             row.disposition, row.dispositioned_at, row.dispositioned_by, row.sim_final_at,
             row.provider_seq),
            (lead.status, lead.next_attempt_at, lead.next_attempt_reason, lead.failure_counts,
             lead.last_outcome, lead.updated_at),
            held_by.free_since == row.ended_at,
        )  # fmt: skip


def _dialled(api: Api, *, outcome: str, **campaign: Any) -> tuple[list[Any], list[Any]]:
    """Two leads, each claimed by its own agent and dialled alike (ringing)."""
    c = api.campaign(**campaign)
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
    return calls, agents


@pytest.mark.parametrize("outcome", ["no-answer", "busy", "machine", "failed"])
@pytest.mark.parametrize("max_attempts", [6, 1], ids=["retried", "exhausted"])
def test_an_unanswered_end_written_raw_is_the_orms(
    api: Api, monkeypatch: pytest.MonkeyPatch, outcome: str, max_attempts: int
) -> None:
    calls, agents = _dialled(api, outcome=outcome, retry_policy={"max_attempts": max_attempts})
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
        # The second lead held by the session (and here: the session keeps
        # rows by weak reference): its report goes the ORM's way.
        held = session.get(Lead, orm_call["lead_id"])
        assert held is not None
        reported = runtime.telephony.run_due(session, now=now, failing=FailingRows("test"))
    assert reported == 2
    assert written_raw == [raw_call["id"]]

    found = [_left_behind(runtime, call, agent) for call, agent in zip(calls, agents, strict=True)]
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


TOKEN = "unanswered-raw-auth-token"
PUBLIC = "https://dialer.example.com"


@pytest.fixture
def hooked(db_url: str) -> Iterator[Api]:
    settings = make_settings(db_url, TWILIO_AUTH_TOKEN=TOKEN, DIALER_PUBLIC_URL=PUBLIC)
    with TestClient(create_app(settings)) as client:
        yield Api(client)


def _callback(api: Api, call: dict[str, Any], *, status: str, seq: int, **extra: str) -> None:
    path = f"/webhooks/twilio/status?call={call['id']}"
    params = {"CallSid": call["provider_sid"], "CallStatus": status, "SequenceNumber": str(seq),
              **extra}  # fmt: skip
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + path, params)
    r = api.client.post(
        path,
        content=urlencode(params),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )
    assert r.status_code == 204, r.text


@pytest.mark.parametrize(
    ("status", "extra"),
    [
        ("no-answer", {}),
        ("busy", {}),
        ("failed", {}),
        ("completed", {"AnsweredBy": "machine_start"}),
    ],
)
def test_a_status_callback_ending_a_call_unanswered_is_written_raw_as_the_orm_does(
    hooked: Api, monkeypatch: pytest.MonkeyPatch, status: str, extra: dict[str, str]
) -> None:
    calls, agents = _dialled(hooked, outcome="no-answer", machine_detection=bool(extra))
    raw_call, orm_call = calls
    written_raw: list[int] = []
    real_end, real_fast = webhooks.end_unanswered_raw, webhooks.on_status_fast

    def spy(*args: Any, **kw: Any) -> bool:
        took = real_end(*args, **kw)
        if took:
            written_raw.append(kw["call"].call_id)
        return took

    def fast(work: Any, *, call_param: str | None, **kw: Any) -> bool | None:
        # The second call's callbacks take the full (ORM) path.
        return (
            None
            if call_param == str(orm_call["id"])
            else real_fast(work, call_param=call_param, **kw)
        )

    monkeypatch.setattr(webhooks, "end_unanswered_raw", spy)
    monkeypatch.setattr(webhooks, "on_status_fast", fast)
    # Past the dial (the end's events are told apart by their instant), not
    # yet at the simulated provider's own end (25 s).
    hooked.advance(5)
    for call in calls:
        if extra:
            _callback(hooked, call, status="in-progress", seq=1)
        _callback(hooked, call, status=status, seq=2, **extra)
    assert written_raw == [raw_call["id"]]
    runtime = _runtime(hooked)
    found = [_left_behind(runtime, call, agent) for call, agent in zip(calls, agents, strict=True)]
    assert found[0] == found[1]
    assert found[0][2][5] == ("machine" if extra else status.replace("-", "_"))
    assert found[0][2][-1] == 2  # the callback's sequence number
    assert found[0][3][0] == "scheduled"


def test_rows_the_session_holds_are_kept_in_step_with_the_raw_end(api: Api) -> None:
    calls, _agents = _dialled(api, outcome="no-answer")
    call_id, lead_id = calls[0]["id"], calls[0]["lead_id"]
    runtime = _runtime(api)
    with runtime.db.work() as work:
        session, raw = work.session, work.raw
        at = runtime.now_in(session) + timedelta(seconds=25)
        call = session.get(Call, call_id)
        lead = session.get(Lead, lead_id)
        assert call is not None and lead is not None
        change = status_change(
            status_now=call.status, answered_by_now=None, answered_at_now=None,
            duration_now=None, dispositioned=False, status=CallStatus.no_answer,
            answered_by=None, at=at, duration=None,
        )  # fmt: skip
        assert change is not None and change.system_kind is not None
        (facts,) = raw.rows(ENDING_OF_LEAD, (lead_id,))
        ending = disposition.ending_call(
            call_id=call_id, lead_id=lead_id, campaign_id=call.campaign_id,
            agent_id=call.agent_id, provider=call.provider, facts=facts,
        )  # fmt: skip
        assert disposition.end_unanswered_raw(
            session, raw, call=ending, change=change, at=at, script_spent=True
        )
        # Nothing stale, nothing left to flush (a flush would write it again).
        assert not inspect(call).modified and not inspect(lead).modified
        assert (call.status, call.disposition, call.ended_at, call.sim_final_at) == (
            "no-answer", "no_answer", at, None,
        )  # fmt: skip
        assert (lead.status, lead.failure_counts, lead.last_outcome) == (
            "scheduled", {"no_answer": 1}, "no_answer",
        )  # fmt: skip
        assert lead.next_attempt_at is not None and lead.next_attempt_at > at
        stored = session.execute(
            select(Lead.status, Lead.next_attempt_at, Lead.failure_counts).where(Lead.id == lead_id)
        ).one()
        assert tuple(stored) == (lead.status, lead.next_attempt_at, lead.failure_counts)
