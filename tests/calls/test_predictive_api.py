"""Predictive dialing through the API on the simulated clock: unreserved calls
go to the longest-waiting agent when answered, wait `connect_seconds` when
nobody is free and are then abandoned (message in the history, counted, the
lead left alone for `no_recall_hours` unless an agent is reserved for it),
promises keep their reserved call, and every dial records what it passed.

The pacer is replaced by a fixed one (`Runtime.pacer`) so that each test
decides how many calls a round places; the real pacer has its own tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from helpers import Api

from dialer.agents.queue import claim_for_dialer
from dialer.calls.abandon import abandon_standing
from dialer.calls.models import Call
from dialer.calls.pacer import PacerDecision, PacerInputs, PacerMode
from dialer.calls.placing import place_call
from dialer.campaign.models import Campaign
from dialer.dnc import service as dnc
from dialer.errors import Conflict, OnDoNotCallList, OutsideCallingHours
from dialer.leads import lifecycle
from dialer.leads.models import Lead

CALLER_ID = "+81312345678"


class FixedPacer:
    """Places `calls` per round (at most the round's max_calls), once each
    `rounds` is given; records every input it was shown."""

    def __init__(self) -> None:
        self.plan: list[int] = []
        self.seen: list[PacerInputs] = []

    def __call__(self, inputs: PacerInputs) -> PacerDecision:
        self.seen.append(inputs)
        calls = self.plan.pop(0) if self.plan else 0
        return PacerDecision(
            calls=min(calls, inputs.max_calls),
            mode=PacerMode.predictive,
            expected_free=float(inputs.agents_waiting),
            detail="fixed by the test",
        )


@pytest.fixture
def pacer(api: Api) -> Iterator[FixedPacer]:
    fixed = FixedPacer()
    runtime = _runtime(api)
    runtime.pacer = fixed
    yield fixed


def _runtime(api: Api) -> Any:
    return api.client.app.state.runtime  # type: ignore[attr-defined]


def _campaign(api: Api, leads: int, **fields: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    fields.setdefault("caller_id", CALLER_ID)
    fields.setdefault("cps", 10)
    c = api.campaign(dial_mode="predictive", seller_name="関東でんき", **fields)
    rows = "".join(f"L{i},090-7000-{i:04d}\n" for i in range(leads))
    assert api.import_csv(c["id"], "name,phone\n" + rows).status_code == 201
    items = api.get(f"/api/campaigns/{c['id']}/leads").json()["items"]
    return c, sorted(items, key=lambda x: x["id"])


def _answer(api: Api, *phones: str) -> None:
    for phone in phones:
        r = api.post("/api/admin/sim/outcomes", json={"phone": phone, "outcomes": ["answered"]})
        assert r.status_code in (200, 201, 204), r.text


def _phone(lead: dict[str, Any]) -> str:
    return str(lead["phones"][0]["number"])


def _lead(api: Api, lead_id: int) -> dict[str, Any]:
    return dict(api.get(f"/api/leads/{lead_id}").json())


def _events(api: Api, lead_id: int, kind: str) -> list[dict[str, Any]]:
    return [e for e in _lead(api, lead_id)["events"] if e["kind"] == kind]


def _state(api: Api, agent: dict[str, Any], state: str) -> None:
    r = api.put(f"/api/agents/{agent['id']}/state", token=agent["token"], json={"state": state})
    assert r.status_code == 200, r.text


def _agent_events(api: Api, agent_id: int) -> list[dict[str, Any]]:
    from dialer.agents import events

    runtime = _runtime(api)
    campaigns = api.get(f"/api/agents/{agent_id}").json()["campaign_ids"]
    with runtime.db.read() as session:
        found = events.events_since(session, agent_id=agent_id, campaign_ids=campaigns, after_id=0)
    return [json.loads(e.data) | {"kind": e.kind} for e in found]


def _with_db(api: Api, fn: Callable[[Any], Any]) -> Any:
    with _runtime(api).db.write() as session:
        return fn(session)


def test_an_answered_call_goes_to_the_longest_waiting_agent(api: Api, pacer: FixedPacer) -> None:
    c, leads = _campaign(api, 1)
    _answer(api, _phone(leads[0]))
    first = api.agent([c["id"]], name="First")
    second = api.agent([c["id"]], name="Second")
    # The first agent was away a moment: the second has waited longest.
    _state(api, first, "paused")
    api.advance(5)
    _state(api, first, "available")
    pacer.plan = [1]
    api.advance(1)
    lead = _lead(api, leads[0]["id"])
    [call] = lead["calls"]
    assert call["agent_id"] == second["id"] and call["agent_reserved"] is False
    assert call["status"] == "in-progress" and call["connected_at"] == call["answered_at"]
    [connected] = _events(api, lead["id"], "call_connected")
    assert connected["detail"]["agent_id"] == second["id"]
    assert connected["detail"]["waited_ms"] == 0 and connected["actor"] == "dialer"
    # The claim is the agent's now: its `next` hands the lead back, and its
    # console was told, with the lead.
    held = api.next(second).json()
    assert held["lead"]["id"] == lead["id"] and held["reason"] == "predictive"
    told = [e for e in _agent_events(api, second["id"]) if e["kind"] == "call_status"]
    assert told and told[-1]["lead_id"] == lead["id"] and told[-1]["call_id"] == call["id"]
    assert not [e for e in _agent_events(api, first["id"]) if e["kind"] == "call_status"]
    # The dial was the dialer's, unreserved, with what it passed.
    [placed] = _events(api, lead["id"], "call_placed")
    assert placed["actor"] == "dialer" and placed["detail"]["reserved"] is False
    checks = placed["detail"]["checks"]
    assert checks["claim"] == {"agent_id": None, "reason": "predictive"}
    assert checks["dial_mode"] == "predictive"


def test_nobody_free_the_call_waits_then_is_abandoned_with_the_message(
    api: Api, pacer: FixedPacer
) -> None:
    c, leads = _campaign(
        api, 2, abandon_policy={"connect_seconds": 3, "no_recall_hours": 1},
        retry_policy={"no_answer": [60]},
    )  # fmt: skip
    _answer(api, *(_phone(x) for x in leads))
    agent = api.agent([c["id"]])
    pacer.plan = [2]
    api.advance(1)
    calls = [_lead(api, x["id"])["calls"][0] for x in leads]
    taken = [x for x in calls if x["agent_id"] == agent["id"]]
    [left] = [x for x in calls if x["agent_id"] is None]
    assert len(taken) == 1 and left["connect_by_at"] is not None
    assert left["disposition"] is None and left["status"] == "in-progress"
    api.advance(1)
    assert _lead(api, left["lead_id"])["calls"][0]["disposition"] is None, "still waiting"
    api.advance(2)
    after = _lead(api, left["lead_id"])
    call = after["calls"][0]
    assert call["disposition"] == "abandoned" and call["status"] == "completed"
    assert call["connect_by_at"] is None and call["agent_id"] is None
    [abandoned] = _events(api, after["id"], "call_abandoned")
    assert "関東でんき" in abandoned["detail"]["message"]
    assert abandoned["detail"]["why"] == "no agent free within 3 s"
    assert after["status"] == "scheduled", "retried like a call nobody answered"

    def standing(session: Any) -> Any:
        campaign = session.get(Campaign, c["id"])
        lead = session.get(Lead, left["lead_id"])
        return abandon_standing(session, campaign=campaign, now=call_ended(session)), lead

    def call_ended(session: Any) -> Any:
        return session.get(Call, call["id"]).dispositioned_at

    counted, lead = _with_db(api, standing)
    assert (counted.abandoned, counted.answered) == (1, 2)
    assert lead.abandoned_at == _with_db(api, call_ended)

    # Past its retry delay but within no_recall_hours: the dialer leaves it.
    api.post(f"/api/calls/{taken[0]['id']}/disposition", token=agent["token"],
             json={"outcome": "not_interested"})  # fmt: skip
    pacer.plan = [5]
    api.advance(120)
    assert len(_lead(api, left["lead_id"])["calls"]) == 1, "not re-dialled unreserved"
    # An agent's own claim may call it: the agent is reserved for it.
    got = api.next(agent).json()
    assert got["lead"]["id"] == left["lead_id"], got
    r = api.post(f"/api/leads/{left['lead_id']}/calls", token=agent["token"], json={})
    assert r.status_code == 201, r.text
    placed = _events(api, left["lead_id"], "call_placed")[-1]["detail"]
    assert placed["reserved"] is True
    assert placed["checks"]["no_recall"]["abandoned_at"] is not None
    assert placed["checks"]["no_recall"]["clear"] is True
    assert placed["checks"]["no_recall"]["no_recall_hours"] == 1


def test_no_recall_ends_after_no_recall_hours(api: Api, pacer: FixedPacer) -> None:
    c, leads = _campaign(
        api, 1, abandon_policy={"connect_seconds": 1, "no_recall_hours": 1},
        retry_policy={"no_answer": [60]},
    )  # fmt: skip
    _answer(api, _phone(leads[0]))
    pacer.plan = [1]
    api.advance(1)
    api.advance(2)
    assert _lead(api, leads[0]["id"])["calls"][0]["disposition"] == "abandoned"
    api.agent([c["id"]])
    pacer.plan = [1] * 10
    api.advance(59 * 60)
    assert len(_lead(api, leads[0]["id"])["calls"]) == 1
    api.advance(120)
    calls = _lead(api, leads[0]["id"])["calls"]
    assert len(calls) == 2 and all(x["agent_reserved"] is False for x in calls)
    placed = _events(api, leads[0]["id"], "call_placed")[-1]["detail"]
    assert placed["reserved"] is False and placed["checks"]["no_recall"]["clear"] is True


def test_a_promise_in_a_predictive_campaign_gets_a_reserved_call(
    api: Api, pacer: FixedPacer
) -> None:
    c, _leads = _campaign(api, 1)
    agent = api.agent([c["id"]])
    lead = api.next(agent).json()["lead"]
    _answer(api, _phone(lead), _phone(lead))
    r = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={})
    assert r.status_code == 201, r.text
    first = r.json()
    r = api.post(f"/api/calls/{first['id']}/disposition", token=agent["token"],
                 json={"outcome": "callback", "promise": {"in_minutes": 30}})  # fmt: skip
    assert r.status_code == 200, r.text
    api.advance(30 * 60 + 1)
    calls = _lead(api, lead["id"])["calls"]
    assert len(calls) == 2
    promised = next(x for x in calls if x["id"] != first["id"])
    assert promised["agent_id"] == agent["id"] and promised["agent_reserved"] is True
    placed = _events(api, lead["id"], "call_placed")[-1]
    assert placed["actor"] == f"agent:{agent['id']}" and placed["detail"]["reserved"] is True
    assert placed["detail"]["checks"]["claim"] == {"agent_id": agent["id"], "reason": "promise"}
    assert placed["detail"]["checks"]["dial_mode"] == "predictive"


def test_every_call_placed_records_its_checks(api: Api) -> None:
    c = api.campaign(caller_id=CALLER_ID)
    api.import_csv(c["id"], "name,phone\nA,090-4600-0001\n")
    agent = api.agent([c["id"]])
    lead = api.next(agent).json()["lead"]
    r = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={})
    assert r.status_code == 201, r.text
    [placed] = _events(api, lead["id"], "call_placed")
    detail = placed["detail"]
    assert detail["reserved"] is True
    checks = detail["checks"]
    assert checks["dial_mode"] == "preview" and checks["dnc"] == "clear"
    assert checks["hours_open"] is True and checks["timezone"] == "Asia/Tokyo"
    # The lead's local time with its own offset: 10:00 in Tokyo.
    assert checks["local_time"] == "2026-12-01T10:00:00+09:00"
    assert checks["claim"] == {"agent_id": agent["id"], "reason": "new"}
    assert checks["attempts"] == {
        "unsolicited": 1, "max_attempts": 6, "today": 1, "max_per_day": 3,
    }  # fmt: skip
    assert checks["abandon"] == {
        "abandoned": 0, "answered": 0, "rate": None, "max_rate": 0.03, "window_days": 30,
    }  # fmt: skip
    assert checks["no_recall"] == {"abandoned_at": None, "no_recall_hours": 72, "clear": True}


def test_the_dial_time_checks_refuse_what_the_claim_passed(api: Api) -> None:
    """A dialer claim is checked again at the dial: a number listed meanwhile,
    hours closed meanwhile, a cap reached meanwhile. Nothing is dialled."""
    c, leads = _campaign(api, 4, retry_policy={"max_attempts_per_day": 1})
    runtime = _runtime(api)
    telephony = runtime.telephony

    def dial(_call_id: int) -> None:
        raise AssertionError("nothing is dialled")

    with runtime.db.work() as work:
        session = work.session
        now = runtime.now_in(session)
        claimed = claim_for_dialer(
            work, campaign_id=c["id"], count=3, now=now, ttl=timedelta(minutes=5),
            no_recall_since=None,
        )  # fmt: skip
        assert claimed == [x["id"] for x in leads][:3]
        # The fourth, claimed by hand, then abandoned meanwhile: no recall.
        assert claim_for_dialer(
            work, campaign_id=c["id"], count=1, now=now, ttl=timedelta(minutes=5),
            no_recall_since=None,
        ) == [leads[3]["id"]]  # fmt: skip
        lifecycle.mark_abandoned(lead=session.get(Lead, leads[3]["id"]), at=now)
        with pytest.raises(Conflict) as recall:
            place_call(session, principal=None, lead_id=leads[3]["id"], phone=None, now=now,
                       telephony=telephony, dial=dial)  # fmt: skip
        assert recall.value.code == "no_recall" and "Asia/Tokyo" in recall.value.detail
        dnc.add(session, phone=_phone(leads[0]), reason="asked", source="test", actor="test",
                now=now)  # fmt: skip
        with pytest.raises(OnDoNotCallList):
            place_call(session, principal=None, lead_id=leads[0]["id"], phone=None, now=now,
                       telephony=telephony, dial=dial)  # fmt: skip
        with pytest.raises(OutsideCallingHours):
            place_call(session, principal=None, lead_id=leads[1]["id"], phone=None,
                       now=now + timedelta(hours=11), telephony=telephony, dial=dial)  # fmt: skip
        lead = session.get(Lead, leads[2]["id"])
        lifecycle.count_attempt(lead=lead, for_promise=False, local_date="2026-12-01", now=now)
        with pytest.raises(Conflict) as refused:
            place_call(session, principal=None, lead_id=leads[2]["id"], phone=None, now=now,
                       telephony=telephony, dial=dial)  # fmt: skip
        assert refused.value.code == "attempt_cap"
        assert session.query(Call).count() == 0


def test_a_number_listed_after_the_claim_is_given_back_not_dialled(
    api: Api, pacer: FixedPacer, monkeypatch: pytest.MonkeyPatch
) -> None:
    c, leads = _campaign(api, 1)
    api.agent([c["id"]])
    from dialer.calls import predictive

    real = predictive.claim_for_dialer

    def claim_then_list(work: Any, **kw: Any) -> list[int]:
        got = real(work, **kw)
        dnc.add(work.session, phone=_phone(leads[0]), reason="asked", source="test",
                actor="test", now=kw["now"])  # fmt: skip
        return got

    monkeypatch.setattr(predictive, "claim_for_dialer", claim_then_list)
    pacer.plan = [1]
    api.advance(1)
    lead = _lead(api, leads[0]["id"])
    assert lead["calls"] == []
    assert [e["detail"]["why"] for e in lead["events"] if e["kind"] == "claim_released"] == [
        "refused at dial: dnc"
    ]
    assert lead["status"] != "claimed"


def test_progressive_calls_are_reserved_and_connected(api: Api) -> None:
    c = api.campaign(dial_mode="progressive", caller_id=CALLER_ID)
    api.import_csv(c["id"], "name,phone\nA,090-4600-0001\n")
    _answer(api, "090-4600-0001")
    agent = api.agent([c["id"]])
    api.advance(1)
    lead = api.next(agent).json()["lead"]
    [call] = _lead(api, lead["id"])["calls"]
    assert call["agent_reserved"] is True and call["agent_id"] == agent["id"]
    assert call["connected_at"] == call["answered_at"] and call["connect_by_at"] is None
    placed = _events(api, lead["id"], "call_placed")[0]["detail"]
    assert placed["reserved"] is True and placed["checks"]["dial_mode"] == "progressive"


def test_the_pacer_sees_the_floor(api: Api, pacer: FixedPacer) -> None:
    c, leads = _campaign(api, 4, wrapup_seconds=30)
    _answer(api, _phone(leads[0]))
    a = api.agent([c["id"]], name="A")
    api.agent([c["id"]], name="B")
    pacer.plan = [1]
    api.advance(1)
    seen = pacer.seen[-1]
    assert (seen.agents_signed_in, seen.agents_waiting) == (2, 2)
    assert seen.max_rate == 0.03 and seen.connect_seconds == 2.0 and seen.max_calls == 10
    pacer.plan = []
    api.advance(1)
    seen = pacer.seen[-1]
    # One agent took the answered call: talking for a second, one still waiting.
    assert seen.agents_waiting == 1 and seen.talking_for == (1.0,)
    [call] = _lead(api, leads[0]["id"])["calls"]
    # Longest waiting first, ties to the lower id: A.
    assert call["agent_id"] == a["id"]
    r = api.post(f"/api/calls/{call['id']}/disposition", token=a["token"],
                 json={"outcome": "not_interested"})  # fmt: skip
    assert r.status_code == 200, r.text
    api.advance(1)
    seen = pacer.seen[-1]
    # A wraps up (30 s, one gone), B still waits.
    assert seen.talking_for == () and seen.wrapup_left == (29.0,)
    assert seen.agents_waiting == 1 and seen.calls_ringing == 0


def test_the_real_pacer_with_no_data_dials_one_call_per_free_agent(api: Api) -> None:
    """A new campaign has no answer rate, ring or talk times yet: the pacer falls
    back to one call per free agent, and the calls in flight cover them."""
    c, leads = _campaign(api, 6)
    api.agent([c["id"]], name="A")
    api.agent([c["id"]], name="B")
    api.advance(1)
    placed = api.get("/api/calls", params={"campaign_id": c["id"]}).json()["items"]
    assert len(placed) == 2 and all(x["agent_reserved"] is False for x in placed)
    assert all(x["status"] == "ringing" for x in placed)
    api.advance(1)
    assert len(api.get("/api/calls", params={"campaign_id": c["id"]}).json()["items"]) == 2
    assert len(leads) == 6


def test_a_waiting_call_goes_to_the_agent_who_frees_up_in_time(api: Api, pacer: FixedPacer) -> None:
    c, leads = _campaign(api, 2, abandon_policy={"connect_seconds": 3})
    _answer(api, *(_phone(x) for x in leads))
    agent = api.agent([c["id"]])
    pacer.plan = [2]
    api.advance(1)
    calls = [_lead(api, x["id"])["calls"][0] for x in leads]
    [taken] = [x for x in calls if x["agent_id"] == agent["id"]]
    [left] = [x for x in calls if x["agent_id"] is None]
    api.advance(1)
    r = api.post(f"/api/calls/{taken['id']}/disposition", token=agent["token"],
                 json={"outcome": "not_interested"})  # fmt: skip
    assert r.status_code == 200, r.text
    api.advance(1)
    got = api.get(f"/api/calls/{left['id']}").json()
    assert got["agent_id"] == agent["id"] and got["disposition"] is None
    assert got["connect_by_at"] is None and got["connected_at"] is not None
    [connected] = _events(api, left["lead_id"], "call_connected")
    assert connected["detail"]["waited_ms"] == 2000
    assert [e["kind"] for e in _lead(api, left["lead_id"])["events"]].count("call_waiting") == 1
    held = api.next(agent).json()
    assert held["lead"]["id"] == left["lead_id"]


def test_a_promise_is_kept_when_the_longest_waiting_agent_has_none(
    api: Api, pacer: FixedPacer
) -> None:
    """The agent who has waited longest holds no promise due: the next free
    agent's own promise still gets its reserved call in the same round."""
    c, _leads = _campaign(api, 2)
    idle = api.agent([c["id"]], name="Idle")
    owner = api.agent([c["id"]], name="Owner")
    api.advance(1)  # the fixed pacer places nothing: both agents wait
    lead = api.next(owner).json()["lead"]
    _answer(api, _phone(lead), _phone(lead))
    r = api.post(f"/api/leads/{lead['id']}/calls", token=owner["token"], json={})
    assert r.status_code == 201, r.text
    first = r.json()
    r = api.post(f"/api/calls/{first['id']}/disposition", token=owner["token"],
                 json={"outcome": "callback", "promise": {"in_minutes": 30}})  # fmt: skip
    assert r.status_code == 200, r.text
    api.advance(30 * 60 + 1)
    promised = [x for x in _lead(api, lead["id"])["calls"] if x["id"] != first["id"]]
    assert len(promised) == 1
    assert promised[0]["agent_id"] == owner["id"] and promised[0]["agent_reserved"] is True
    # The idle agent was first in line all along, and took nothing.
    assert api.get(f"/api/agents/{idle['id']}").json()["state"] == "available"


def test_an_agent_of_two_predictive_campaigns_is_counted_by_one_pacer(
    api: Api, pacer: FixedPacer
) -> None:
    """Each pacer counting the one agent would dial ahead for it twice."""
    first, _ = _campaign(api, 1)
    second, _ = _campaign(api, 1)
    api.agent([first["id"], second["id"]], name="Both")
    api.agent([second["id"]], name="Second only")
    pacer.seen.clear()
    api.advance(1)
    by_round = pacer.seen[-2:]  # one round: the campaigns in id order
    assert [(s.agents_signed_in, s.agents_waiting) for s in by_round] == [(1, 1), (1, 1)]


def test_a_promise_due_is_tried_only_by_the_free_agents_who_could_take_it(
    api: Api, pacer: FixedPacer
) -> None:
    """The round asks which free agents could take a due promise (one reserved
    for them, or for anyone) before trying agents one by one: a promise due for
    an agent on a call is due in most rounds, and nobody else may take it."""
    from dialer.calls.predictive import _free_for_promise

    c, _leads = _campaign(api, 2)
    idle = api.agent([c["id"]], name="Idle")
    owner = api.agent([c["id"]], name="Owner")
    api.advance(1)
    lead = api.next(owner).json()["lead"]
    _answer(api, _phone(lead))
    r = api.post(f"/api/leads/{lead['id']}/calls", token=owner["token"], json={})
    assert r.status_code == 201, r.text
    r = api.post(f"/api/calls/{r.json()['id']}/disposition", token=owner["token"],
                 json={"outcome": "callback", "promise": {"in_minutes": 30}})  # fmt: skip
    assert r.status_code == 200, r.text
    runtime = _runtime(api)

    def free_for_promise(after: timedelta) -> list[int]:
        with runtime.db.read() as session:
            now = runtime.now_in(session) + after
            return _free_for_promise(session, campaign_id=c["id"], now=now)

    assert free_for_promise(timedelta(minutes=29)) == []  # not due yet
    # Due: the owner alone, though the idle agent has waited longer.
    assert free_for_promise(timedelta(minutes=31)) == [owner["id"]]
    # The owner on another lead: nobody free could take it.
    assert api.next(owner).json()["lead"]["id"] != lead["id"]
    assert free_for_promise(timedelta(minutes=31)) == []
    assert api.get(f"/api/agents/{idle['id']}").json()["state"] == "available"


class _FailingOnce(FixedPacer):
    def __call__(self, inputs: PacerInputs) -> PacerDecision:
        if not self.seen:
            self.seen.append(inputs)
            raise RuntimeError("the pacer failed (a test)")
        return super().__call__(inputs)


def test_a_round_reads_its_campaign_again_after_a_change(api: Api) -> None:
    """The round keeps the campaign's row while its version stands: a change
    is seen by the next round, and a round that fails does not spoil it."""
    failing = _FailingOnce()
    _runtime(api).pacer = failing
    c, _leads = _campaign(api, 3, cps=4)
    api.agent([c["id"]])
    api.advance(1)  # the first round fails, rolled back; the campaign is benched
    api.advance(31)
    assert [s.max_calls for s in failing.seen][:2] == [4, 4]
    r = api.patch(f"/api/campaigns/{c['id']}", json={"cps": 2})
    assert r.status_code == 200, r.text
    api.advance(1)
    assert failing.seen[-1].max_calls == 2
    r = api.patch(f"/api/campaigns/{c['id']}", json={"status": "paused"})
    assert r.status_code == 200, r.text
    asked = len(failing.seen)
    api.advance(1)
    assert len(failing.seen) == asked  # paused: no round
