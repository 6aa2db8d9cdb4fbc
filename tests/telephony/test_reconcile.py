"""Reconciliation against the local Twilio-compatible server over real HTTP: the
look-up after an uncertain create finds a call still waiting in Twilio's queue
(no StartTime), so no attempt is ever created twice; answered calls whose last
callbacks were lost are settled with who answered kept.

Time is injected on both sides: the dialer's simulated clock, and the test
server's clock (what it stamps DateCreated/StartTime with, and what ends a
call's wait in the queue), moved together by `_advance`, so "30 s in the queue"
takes no wall time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fake_twilio import FakeTwilio
from helpers import CLOCK_START, LiveServer, live_twilio

from dialer.calls.models import FINAL_CALL_STATUSES

ACCOUNT = "AC" + "2" * 32
TOKEN = "reconcile-test-token"
RING_TIMEOUT = 25
PAST_RING_TIMEOUT = RING_TIMEOUT + 61  # the tick's margin is 60 s
LONGEST_CALL = 4 * 3600  # Twilio's default TimeLimit


class _Clock:
    """The test server's clock: the dialer's simulated one, moved by hand."""

    def __init__(self) -> None:
        self.now = datetime.fromisoformat(CLOCK_START)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> _Clock:
    return _Clock()


@pytest.fixture
def fake(clock: _Clock) -> Iterator[FakeTwilio]:
    with FakeTwilio(account_sid=ACCOUNT, auth_token=TOKEN, clock=clock) as server:
        yield server


@pytest.fixture
def live(db_url: str, fake: FakeTwilio, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    server = live_twilio(
        db_url,
        account=ACCOUNT,
        token=TOKEN,
        api_base=fake.base_url,
        DIALER_RING_TIMEOUT_SECONDS=RING_TIMEOUT,
        **getattr(request, "param", {}),
    )
    try:
        yield server
    finally:
        server.close()


def _advance(live: LiveServer, clock: _Clock, seconds: float) -> None:
    r = live.http.post("/api/admin/clock", json={"advance_seconds": seconds})
    assert r.status_code == 200, r.text
    clock.now += timedelta(seconds=seconds)


def _floor(live: LiveServer, **campaign: Any) -> dict[str, Any]:
    fields = {"name": "Reconcile floor", "caller_id": "+81312345678", **campaign}
    c = live.http.post("/api/campaigns", json=fields).json()
    files = {"file": ("l.csv", b"name,phone\nL0,090-4600-0000\n", "text/csv")}
    assert live.http.post(f"/api/campaigns/{c['id']}/imports", files=files).status_code == 201
    agent: dict[str, Any] = live.http.post(
        "/api/agents", json={"name": "A", "campaign_ids": [c["id"]], "endpoint": "client:a"}
    ).json()
    return agent


def _dial(live: LiveServer, agent: dict[str, Any]) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {agent['token']}"}
    lead = live.http.post(f"/api/agents/{agent['id']}/next", headers=auth).json()["lead"]
    r = live.http.post(f"/api/leads/{lead['id']}/calls", headers=auth, json={})
    assert r.status_code == 201, r.text
    call: dict[str, Any] = r.json()
    return call


def _call(live: LiveServer, call_id: int) -> dict[str, Any]:
    got: dict[str, Any] = live.http.get(f"/api/calls/{call_id}").json()
    return got


def _sent(live: LiveServer, lead_id: int) -> list[str]:
    events = live.http.get(f"/api/leads/{lead_id}").json()["events"]
    return [e["detail"]["how"] for e in events if e["kind"] == "call_sent"]


def _statuses(live: LiveServer, lead_id: int) -> list[tuple[str, str | None]]:
    events = live.http.get(f"/api/leads/{lead_id}").json()["events"]
    return [
        (e["detail"]["status"], e["detail"]["answered_by"])
        for e in events
        if e["kind"] == "call_status"
    ]


# ---------------------------------------------------- queued at Twilio: one create


@pytest.mark.serial
@pytest.mark.parametrize("live", [{"TWILIO_HTTP_TIMEOUT": 0.5}], indirect=True)
def test_a_create_timeout_finds_the_call_queued_30s_and_never_creates_it_twice(
    live: LiveServer, fake: FakeTwilio, clock: _Clock
) -> None:
    agent = _floor(live)
    fake.hold_queued(seconds=30)  # waiting for a CPS slot: no StartTime for 30 s
    fake.timeout_next_create(delay=1.5, create=True)  # created, the answer never heard
    call = _dial(live, agent)
    (sid,) = fake.calls
    assert fake.calls[sid]["start_time"] is None and fake.calls[sid]["status"] == "queued"
    # Found although it has not started: by To, From and its creation time.
    assert call["provider_sid"] == sid and call["status"] == "queued"
    assert _sent(live, call["lead_id"]) == ["looked up"]

    # 30 s in the queue and well past the ring timeout: every tick asks Twilio,
    # and the call is left to ring, never failed and never dialled again.
    for _ in range(PAST_RING_TIMEOUT // 10 + 1):
        _advance(live, clock, 10)
        live.runtime.run_provider_work()
        got = _call(live, call["id"])
        assert got["status"] not in FINAL_CALL_STATUSES and got["disposition"] is None
    assert fake.calls[sid]["start_time"] is not None  # it left the queue
    assert live.http.get(f"/api/leads/{call['lead_id']}").json()["status"] == "claimed"

    # It rings, is answered and ends: the one attempt has the one call.
    for status in ("ringing", "in-progress"):
        assert fake.send_status(sid, status).status_code == 204
    assert fake.send_status(sid, "completed", duration=20).status_code == 204
    got = _call(live, call["id"])
    assert (got["status"], got["answered_by"], got["duration"]) == ("completed", "unknown", 20)
    assert len(fake.creates) == 1 and len(fake.calls) == 1
    assert _sent(live, call["lead_id"]) == ["looked up"]


@pytest.mark.serial
@pytest.mark.parametrize("live", [{"TWILIO_HTTP_TIMEOUT": 0.5}], indirect=True)
def test_reconciliation_adopts_a_call_still_queued_instead_of_failing_it(
    live: LiveServer, fake: FakeTwilio, clock: _Clock
) -> None:
    agent = _floor(live)
    fake.hold_queued(seconds=300)  # a long backlog in the account's queue
    fake.timeout_next_create(delay=1.5, create=True)
    fake.fail_next_list(status=500)  # and the look-up after the timeout fails too
    call = _dial(live, agent)
    (sid,) = fake.calls
    assert call["provider_sid"] is None and call["status"] == "queued"

    _advance(live, clock, PAST_RING_TIMEOUT)
    assert live.runtime.run_provider_work() == 1
    got = _call(live, call["id"])
    assert fake.calls[sid]["start_time"] is None  # still waiting at Twilio
    assert got["provider_sid"] == sid and got["status"] == "queued"
    assert got["disposition"] is None
    assert _sent(live, call["lead_id"]) == ["reconciled"]
    lead = live.http.get(f"/api/leads/{call['lead_id']}").json()
    assert lead["status"] == "claimed"  # no retry booked: the first call still rings
    assert len(fake.creates) == 1


def test_the_look_up_takes_neither_another_caller_ids_call_nor_an_older_one(
    live: LiveServer, fake: FakeTwilio, clock: _Clock
) -> None:
    agent = _floor(live)
    client = fake.client()
    to = "+819046000000"
    # Calls to the same number the attempt did not make: from this caller id long
    # before it, still queued; and now from another caller id, dialled.
    fake.hold_queued(seconds=3600)
    client.calls.create(to=to, from_="+81312345678", url="https://example.com/x")
    _advance(live, clock, 600)
    client.calls.create(to=to, from_="+81399999999", url="https://example.com/x")
    fake.fail_next(status=500)  # then the attempt's own create: a 5xx, nothing created
    call = _dial(live, agent)
    assert call["provider_sid"] is None and len(fake.calls) == 2

    _advance(live, clock, PAST_RING_TIMEOUT)
    assert live.runtime.run_provider_work() == 1
    got = _call(live, call["id"])
    assert got["provider_sid"] is None and got["status"] == "failed"
    assert len(fake.creates) == 3


# ------------------------------------------- answered, and the last callbacks lost


@pytest.mark.parametrize(
    ("campaign", "amd", "record", "expected"),
    [
        # AMD said human; the completed callback never came.
        ({"machine_detection": True}, "human", None, ("human", None)),
        # AMD's verdict was lost too: Twilio's record has it.
        ({"machine_detection": True}, None, "machine_start", ("machine", "machine")),
        # No AMD: answered is `unknown` until a disposition, as the callbacks' rule has it.
        ({}, None, None, ("unknown", None)),
    ],
)
def test_an_answered_call_past_the_longest_call_is_settled_with_who_answered(
    live: LiveServer,
    fake: FakeTwilio,
    clock: _Clock,
    campaign: dict[str, Any],
    amd: str | None,
    record: str | None,
    expected: tuple[str, str | None],
) -> None:
    agent = _floor(live, **campaign)
    call = _dial(live, agent)
    sid = call["provider_sid"]
    assert fake.send_status(sid, "ringing").status_code == 204
    assert fake.send_status(sid, "in-progress").status_code == 204
    if amd is not None:
        assert fake.send_amd(sid, amd).status_code == 204
    fake.set_call_status(sid, "completed", answered_by=record, duration=95)

    # Talking is not lost: within the longest call the tick leaves it alone.
    _advance(live, clock, LONGEST_CALL - 60)
    assert live.runtime.run_provider_work() == 0
    assert _call(live, call["id"])["status"] == "in-progress"

    _advance(live, clock, 180)
    assert live.runtime.run_provider_work() == 1
    got = _call(live, call["id"])
    assert (got["status"], got["duration"]) == ("completed", 95)
    assert (got["answered_by"], got["disposition"]) == expected
    assert len(fake.creates) == 1


@pytest.mark.parametrize(
    ("campaign", "record", "expected"),
    [
        ({}, None, "unknown"),
        ({"machine_detection": True}, "human", "human"),
        ({"machine_detection": True}, "machine_end_beep", "machine"),
    ],
)
def test_a_call_whose_every_callback_was_lost_is_settled_as_answered(
    live: LiveServer,
    fake: FakeTwilio,
    clock: _Clock,
    campaign: dict[str, Any],
    record: str | None,
    expected: str,
) -> None:
    """`completed` is how only an answered call ends: recorded answered first, as
    the lost in-progress callback would have, then completed with Twilio's
    duration."""
    agent = _floor(live, **campaign)
    call = _dial(live, agent)
    fake.set_call_status(call["provider_sid"], "completed", answered_by=record, duration=40)

    _advance(live, clock, PAST_RING_TIMEOUT)
    assert live.runtime.run_provider_work() == 1
    got = _call(live, call["id"])
    assert (got["status"], got["answered_by"], got["duration"]) == ("completed", expected, 40)
    assert got["answered_at"] is not None
    assert _statuses(live, call["lead_id"]) == [
        ("in-progress", expected),
        ("completed", expected),
    ]
