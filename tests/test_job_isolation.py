"""One failing row never stops a scheduler job for the others: for each job that
handles rows, a row made to raise (a per-row function monkeypatched to fail for
one id) is logged, counted, skipped and retried later, and every other row of
the same batch goes through in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import pytest
from helpers import Api, utc
from prometheus_client import Counter
from sqlalchemy import select, text
from sqlmodel import col

from dialer import jobs
from dialer.agents import queue as agent_queue
from dialer.agents.models import AgentEvent, Claim
from dialer.calls import disposition, progressive
from dialer.calls.models import Call, CallStatus
from dialer.db import after_commit
from dialer.failing import FIRST_RETRY, LONGEST_RETRY, FailingRows, each_row
from dialer.metrics import JOB_ROW_FAILURES
from dialer.promises import due as promises_due
from dialer.promises.models import Promise
from dialer.runtime import Runtime
from dialer.telephony import dialing
from dialer.telephony.base import ProviderCall

TWO = "name,phone\nYamada,090-7777-0001\nSato,090-7777-0002\n"
T0 = utc(2026, 12, 1, 1)


def _failures(job: str) -> float:
    counter: Counter = JOB_ROW_FAILURES
    return float(counter.labels(job)._value.get())  # type: ignore[attr-defined]


def _runtime(api: Api) -> Runtime:
    runtime: Runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


def _now(api: Api) -> datetime:
    return datetime.fromisoformat(api.get("/api/admin/clock").json()["now"])


def _floor(api: Api, **campaign: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    c = api.campaign(**campaign)
    assert api.import_csv(c["id"], TWO).status_code == 201
    return c, [api.agent([c["id"]], name=name) for name in ("Sato", "Suzuki")]


def _dial(api: Api, agent: dict[str, Any], *, answered: bool = False) -> tuple[int, int]:
    """The agent takes its next lead and dials it: (lead id, call id)."""
    lead = api.next(agent).json()["lead"]
    if answered:
        api.post(
            "/api/admin/sim/outcomes",
            json={"phone": lead["phones"][0]["number"], "outcomes": ["answered"]},
        )
    r = api.post(f"/api/leads/{lead['id']}/calls", token=agent["token"], json={})
    assert r.status_code == 201, r.text
    return lead["id"], r.json()["id"]


def _call_status(api: Api, call_id: int) -> str:
    return str(api.get(f"/api/calls/{call_id}").json()["status"])


def _raises_for(bad: int, real: Any, which: Any) -> Any:
    def flaky(*args: Any, **kwargs: Any) -> Any:
        if which(*args, **kwargs) == bad:
            raise RuntimeError(f"row {bad} is broken")
        return real(*args, **kwargs)

    return flaky


# --- the rule itself ---


@pytest.mark.parametrize(
    ("failures", "wait"),
    [
        (1, FIRST_RETRY),
        (2, FIRST_RETRY * 2),
        (3, FIRST_RETRY * 4),
        (7, FIRST_RETRY * 64),
        (8, LONGEST_RETRY),
        (200, LONGEST_RETRY),
    ],
)
def test_a_failing_row_backs_off_doubling_up_to_an_hour(failures: int, wait: timedelta) -> None:
    failing = FailingRows("test")
    for _ in range(failures):
        failing.failed(7, now=T0, error=RuntimeError("x"))
    assert failing.retry_at(7) == T0 + wait
    assert failing.skip(now=T0) == {7} == failing.benched()
    assert failing.skip(now=T0 + wait) == frozenset()
    assert failing.next_retry_at() == T0 + wait
    failing.passed(7)
    assert failing.benched() == frozenset() and failing.next_retry_at() is None


def test_settle_forgets_rows_due_for_retry_that_did_not_fail_again() -> None:
    failing = FailingRows("test")
    failing.failed(1, now=T0, error=RuntimeError("x"))
    failing.failed(2, now=T0 + timedelta(seconds=20), error=RuntimeError("x"))
    failing.settle(now=T0 + FIRST_RETRY)
    assert failing.benched() == {2}


def test_each_row_rolls_back_the_failing_row_alone_and_the_transaction_goes_on(
    api: Api,
) -> None:
    """Row 2 breaks a constraint (PostgreSQL would refuse every later statement
    of an unsaved transaction) and registered an after-commit action: both are
    undone, rows 1 and 3 are written and their actions run."""
    runtime = _runtime(api)
    ran: list[int] = []
    failing = FailingRows("test")
    with runtime.db.write() as session:

        def handle(row: int) -> None:
            event = AgentEvent(agent_id=None, campaign_id=None, kind=f"t{row}", at=T0, payload={})
            session.add(event)
            after_commit(session, lambda: ran.append(row), name="test")
            if row == 2:
                session.execute(text("INSERT INTO agent_event (id) VALUES (NULL)"))

        done = each_row(session, [1, 2, 3], handle, key=lambda r: r, failing=failing, now=T0)
        assert done == [1, 3]
        session.execute(text("SELECT 1"))  # the transaction is not poisoned
    assert ran == [1, 3]
    assert failing.benched() == {2}
    with runtime.db.read() as session:
        kinds = session.scalars(
            select(col(AgentEvent.kind)).where(col(AgentEvent.kind).in_(["t1", "t2", "t3"]))
        )
        assert sorted(kinds) == ["t1", "t3"]


# --- each job that handles rows ---


def test_provider_reports_skip_a_failing_call_and_retry_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    _c, (a, b) = _floor(api)
    _lead_a, good = _dial(api, a)
    _lead_b, bad = _dial(api, b)
    before = _failures("provider_reports")
    # Broken whichever way its report goes: the hand-written unanswered end,
    # or the ORM's path (which a batch redone row by row may take).
    real, real_raw = disposition.apply_status_update, disposition.end_unanswered_raw
    monkeypatch.setattr(
        disposition,
        "apply_status_update",
        _raises_for(bad, real, lambda *_a, call, **_k: call.id),
    )
    monkeypatch.setattr(
        disposition,
        "end_unanswered_raw",
        _raises_for(bad, real_raw, lambda *_a, call, **_k: call.call_id),
    )
    api.advance(30)  # both calls end unanswered at 25 s
    assert _call_status(api, good) == "no-answer"
    assert _call_status(api, bad) == "ringing"
    assert _failures("provider_reports") == before + 1
    # The job's next due instant is the retry, not the failed row's own (past) one.
    job = _runtime(api).due_jobs[0]
    assert job.name == "provider_reports"
    assert jobs.next_due_at(_runtime(api)) == job.failing.retry_at(bad)
    assert job.failing.retry_at(bad) == _now(api) - timedelta(seconds=5) + FIRST_RETRY
    monkeypatch.setattr(disposition, "apply_status_update", real)
    monkeypatch.setattr(disposition, "end_unanswered_raw", real_raw)
    api.advance(30)
    assert _call_status(api, bad) == "no-answer"
    assert job.failing.benched() == frozenset()
    assert _failures("provider_reports") == before + 1


def _promise_for(api: Api, agent: dict[str, Any]) -> int:
    lead_id, call_id = _dial(api, agent, answered=True)
    r = api.post(
        f"/api/calls/{call_id}/disposition",
        token=agent["token"],
        json={"outcome": "callback", "promise": {"in_minutes": 10}},
    )
    assert r.status_code == 200, r.text
    return lead_id


def _promise_of(api: Api, lead_id: int) -> Promise:
    with _runtime(api).db.read() as session:
        promise = session.scalar(select(Promise).where(col(Promise.lead_id) == lead_id))
        assert promise is not None
        return promise


def test_promise_due_announces_the_others_and_hands_the_failing_one_back(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    _c, (a, b) = _floor(api)
    good_lead, bad_lead = _promise_for(api, a), _promise_for(api, b)
    good, bad = _promise_of(api, good_lead).id, _promise_of(api, bad_lead).id
    assert good is not None and bad is not None
    before = _failures("promise_due")
    real = promises_due.publish
    monkeypatch.setattr(
        promises_due,
        "publish",
        _raises_for(bad, real, lambda *_a, **k: k.get("promise_id")),
    )
    api.advance(600)
    assert _promise_of(api, good_lead).due_notified_at is not None
    assert _promise_of(api, bad_lead).due_notified_at is None
    assert _failures("promise_due") == before + 1
    monkeypatch.setattr(promises_due, "publish", real)
    api.advance(30)
    assert _promise_of(api, bad_lead).due_notified_at is not None
    with _runtime(api).db.read() as session:
        announced = session.scalars(
            select(col(AgentEvent.payload)).where(col(AgentEvent.kind) == "promise_due")
        )
        assert sorted(p["promise_id"] for p in announced) == sorted([good, bad])


def test_promise_windows_close_the_others_and_retry_the_failing_one(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    _c, (a, b) = _floor(api)
    good_lead, bad_lead = _promise_for(api, a), _promise_for(api, b)
    before = _failures("promise_windows")
    real = promises_due._lapse
    monkeypatch.setattr(
        promises_due, "_lapse", _raises_for(bad_lead, real, lambda *_a, lead, **_k: lead.id)
    )
    api.advance(900)  # due at 10 min, grace 5 min: both windows end
    assert _promise_of(api, good_lead).status == "missed"
    assert _promise_of(api, bad_lead).status == "scheduled"
    assert _failures("promise_windows") == before + 1
    api.advance(FIRST_RETRY.total_seconds())  # retried, fails again, backs off
    assert _failures("promise_windows") == before + 2
    assert _promise_of(api, bad_lead).status == "scheduled"
    monkeypatch.setattr(promises_due, "_lapse", real)
    api.advance(2 * FIRST_RETRY.total_seconds())
    assert _promise_of(api, bad_lead).status == "missed"
    assert _failures("promise_windows") == before + 2


def _claims(api: Api) -> set[int]:
    with _runtime(api).db.read() as session:
        return set(session.scalars(select(col(Claim.lead_id))))


def test_claim_expiry_expires_the_others_and_retries_the_failing_one(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    _c, (a, b) = _floor(api)
    good_lead = api.next(a).json()["lead"]["id"]
    bad_lead = api.next(b).json()["lead"]["id"]
    before = _failures("claim_expiry")
    real = agent_queue.has_live_call
    monkeypatch.setattr(
        agent_queue, "has_live_call", _raises_for(bad_lead, real, lambda *_a, lead_id: lead_id)
    )
    api.advance(901)  # the claims' 15 minutes are up
    assert _claims(api) == {bad_lead}
    assert _failures("claim_expiry") == before + 1
    monkeypatch.setattr(agent_queue, "has_live_call", real)
    api.advance(FIRST_RETRY.total_seconds())
    assert _claims(api) == set()
    assert api.get(f"/api/leads/{good_lead}").json()["status"] == "new"


def _callers(api: Api) -> list[int]:
    with _runtime(api).db.read() as session:
        return list(session.scalars(select(col(Call.agent_id)).order_by(col(Call.id))))


def test_progressive_dials_for_the_others_and_retries_the_failing_agent(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    _c, (a, b) = _floor(api, dial_mode="progressive")
    more = "name,phone\nIto,090-7777-0003\nKato,090-7777-0004\nMori,090-7777-0005\n"
    assert api.import_csv(_c["id"], more).status_code == 201
    before = _failures("progressive")
    real = progressive.place_call
    monkeypatch.setattr(
        progressive,
        "place_call",
        _raises_for(b["id"], real, lambda *_a, principal, **_k: principal.id),
    )
    api.advance(1)
    assert _callers(api) == [a["id"]]
    assert _failures("progressive") == before + 1
    api.advance(1)  # benched: not tried again before its retry
    assert _failures("progressive") == before + 1
    monkeypatch.setattr(progressive, "place_call", real)
    api.advance(FIRST_RETRY.total_seconds())
    assert sorted(set(_callers(api))) == sorted([a["id"], b["id"]])


class _Provider:
    """A provider that reports every call it is asked about as unanswered."""

    name = "simulated"
    ring_timeout = 25
    max_call_seconds = 4 * 3600

    def __init__(self) -> None:
        self.asked: list[str] = []

    def fetch(self, sid: str) -> ProviderCall:
        self.asked.append(sid)
        return ProviderCall(
            sid=sid,
            to="",
            status=CallStatus.no_answer,
            answered_by=None,
            duration=0,
            created_at=None,
        )

    def look_up(self, *, call: Call, taken: Iterable[str]) -> ProviderCall | None:
        return None


def test_reconcile_settles_the_others_and_retries_the_failing_call(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    _c, (a, b) = _floor(api)
    _la, good = _dial(api, a)
    _lb, bad = _dial(api, b)
    runtime = _runtime(api)
    sim = runtime.simulated_clock
    assert sim is not None

    def move_to(instant: datetime) -> None:
        # Without the due work: the simulated provider must not settle them first.
        with runtime.db.write() as session:
            sim.set_in(session, to=instant)

    move_to(_now(api) + timedelta(minutes=5))
    provider = _Provider()
    failing = FailingRows("reconcile")
    before = _failures("reconcile")
    real = dialing._apply_found
    monkeypatch.setattr(
        dialing, "_apply_found", _raises_for(bad, real, lambda *_a, call, **_k: call.id)
    )
    settle = lambda: dialing.reconcile(  # noqa: E731
        runtime.db,
        provider,
        now_in=runtime.now_in,
        failing=failing,  # type: ignore[arg-type]
    )
    assert settle() == 1
    assert _call_status(api, good) == "no-answer" and _call_status(api, bad) == "ringing"
    assert failing.benched() == {bad} and _failures("reconcile") == before + 1
    asked = len(provider.asked)
    assert settle() == 0 and len(provider.asked) == asked  # benched: not even asked
    monkeypatch.setattr(dialing, "_apply_found", real)
    move_to(_now(api) + FIRST_RETRY)
    assert settle() == 1
    assert _call_status(api, bad) == "no-answer" and failing.benched() == frozenset()
