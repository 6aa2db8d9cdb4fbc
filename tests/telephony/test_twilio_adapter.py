"""The Twilio adapter end to end: the app in twilio mode, served over real HTTP,
talking through the official SDK to the local Twilio-compatible server, which
checks every create against Twilio's OpenAPI description and calls back signed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fake_twilio import FakeTwilio
from helpers import LiveServer, free_port, make_settings

ACCOUNT = "AC" + "1" * 32
TOKEN = "adapter-test-token"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(account_sid=ACCOUNT, auth_token=TOKEN) as server:
        yield server


def _serve(db_url: str, fake: FakeTwilio, **env: Any) -> LiveServer:
    port = free_port()
    settings = make_settings(
        db_url,
        DIALER_TELEPHONY="twilio",
        TWILIO_ACCOUNT_SID=ACCOUNT,
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_API_BASE=fake.base_url,
        DIALER_PUBLIC_URL=f"http://127.0.0.1:{port}",
        # The fake calls back over plain http on loopback: allowed for tests only.
        DIALER_ALLOW_INSECURE_PUBLIC_URL=True,
        **env,
    )
    return LiveServer(settings, port=port)


@pytest.fixture
def live(db_url: str, fake: FakeTwilio, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    env = getattr(request, "param", {})
    server = _serve(db_url, fake, **env)
    try:
        yield server
    finally:
        server.close()


def _floor(live: LiveServer, *, leads: int = 1, agents: int = 1, **campaign: Any) -> tuple[
    dict[str, Any], list[dict[str, Any]]
]:
    fields = {"name": "Twilio floor", "caller_id": "+81312345678", **campaign}
    c = live.http.post("/api/campaigns", json=fields).json()
    rows = "".join(f"L{i},090-4600-{i:04d}\n" for i in range(leads))
    files = {"file": ("l.csv", ("name,phone\n" + rows).encode(), "text/csv")}
    assert live.http.post(f"/api/campaigns/{c['id']}/imports", files=files).status_code == 201
    crew = [
        live.http.post(
            "/api/agents",
            json={"name": f"A{k}", "campaign_ids": [c["id"]], "endpoint": f"client:a{k}"},
        ).json()
        for k in range(agents)
    ]
    return c, crew


def _in_threads(target: Callable[[], None], *, count: int) -> None:
    """Run `target` in `count` threads at once and wait for all of them."""
    threads = [threading.Thread(target=target) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _dial(live: LiveServer, agent: dict[str, Any]) -> Any:
    auth = {"Authorization": f"Bearer {agent['token']}"}
    lead = live.http.post(f"/api/agents/{agent['id']}/next", headers=auth).json()["lead"]
    return live.http.post(f"/api/leads/{lead['id']}/calls", headers=auth, json={})


def test_create_sends_what_twilio_documents(live: LiveServer, fake: FakeTwilio) -> None:
    _c, (agent,) = _floor(live, machine_detection=True)
    r = _dial(live, agent)
    assert r.status_code == 201, r.text
    call = r.json()
    assert len(fake.creates) == 1 and fake.creates[0].status_code == 201
    params = fake.creates[0].params
    assert params["To"] == ["+819046000000"] and params["From"] == ["+81312345678"]
    assert params["Url"] == [f"{live.url}/webhooks/twilio/voice?call={call['id']}"]
    assert params["StatusCallback"] == [f"{live.url}/webhooks/twilio/status?call={call['id']}"]
    assert params["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert params["Timeout"] == ["25"]
    assert params["FallbackUrl"] == [f"{live.url}/webhooks/twilio/fallback?call={call['id']}"]
    assert params["MachineDetection"] == ["Enable"] and params["AsyncAmd"] == ["true"]
    assert params["MachineDetectionTimeout"] == ["8"]  # inside the customer's 10-s hold
    assert call["provider_sid"] == fake.creates[0].sid
    # Async AMD says machine: recorded, and the call is hung up at Twilio.
    assert fake.send_amd(call["provider_sid"], "machine_start").status_code == 204
    assert live.http.get(f"/api/calls/{call['id']}").json()["answered_by"] == "machine"
    assert fake.calls[call["provider_sid"]]["status"] == "completed"


def test_signed_callbacks_from_twilio_move_the_call(live: LiveServer, fake: FakeTwilio) -> None:
    _c, (agent,) = _floor(live)
    call = _dial(live, agent).json()
    sid = call["provider_sid"]
    assert fake.send_status(sid, "ringing").status_code == 204
    # No AMD on this campaign: Twilio says nothing of who answered, so nobody
    # knows yet (a voicemail picks up too) until the agent's disposition says.
    assert fake.send_status(sid, "in-progress").status_code == 204
    assert fake.send_status(sid, "ringing", sequence_number=0).status_code == 204  # late
    assert fake.send_status(sid, "completed", sign=False).status_code == 403
    got = live.http.get(f"/api/calls/{call['id']}").json()
    assert got["status"] == "in-progress" and got["answered_by"] == "unknown"
    assert fake.send_status(sid, "completed", duration=33).status_code == 204
    got = live.http.get(f"/api/calls/{call['id']}").json()
    assert got["status"] == "completed" and got["duration"] == 33


def test_an_outcome_hangs_up_and_a_late_answer_is_not_bridged(
    live: LiveServer, fake: FakeTwilio
) -> None:
    _c, (agent,) = _floor(live)
    call = _dial(live, agent).json()
    sid = call["provider_sid"]
    fake.send_status(sid, "ringing")
    auth = {"Authorization": f"Bearer {agent['token']}"}
    r = live.http.post(
        f"/api/calls/{call['id']}/disposition", headers=auth, json={"outcome": "no_answer"}
    )
    assert r.status_code == 200, r.text
    assert fake.calls[sid]["status"] == "canceled"  # hung up at Twilio, not left ringing


def test_429_is_retried_after_the_time_twilio_asks(live: LiveServer, fake: FakeTwilio) -> None:
    _c, (agent,) = _floor(live)
    fake.fail_next(status=429, retry_after=1.0)
    started = time.monotonic()
    r = _dial(live, agent)
    assert r.status_code == 201, r.text
    assert [a.status_code for a in fake.creates] == [429, 201]
    assert fake.creates[1].at - fake.creates[0].at >= 1.0
    assert time.monotonic() - started >= 1.0
    assert len(fake.calls) == 1


@pytest.mark.serial
@pytest.mark.parametrize("live", [{"TWILIO_HTTP_TIMEOUT": 0.5}], indirect=True)
def test_timeout_is_looked_up_never_sent_twice(live: LiveServer, fake: FakeTwilio) -> None:
    _c, (agent,) = _floor(live)
    fake.timeout_next_create(delay=1.5, create=True)
    r = _dial(live, agent)
    assert r.status_code == 201, r.text
    assert len(fake.creates) == 1, "a create that may have placed a call is not re-sent"
    (sid,) = fake.calls
    assert r.json()["provider_sid"] == sid  # found by listing calls to the number
    events = live.http.get(f"/api/leads/{r.json()['lead_id']}").json()["events"]
    sent = [e for e in events if e["kind"] == "call_sent"]
    assert sent[0]["detail"]["how"] == "looked up"


def test_5xx_is_not_resent_and_reconciliation_settles_it(
    live: LiveServer, fake: FakeTwilio
) -> None:
    _c, (agent,) = _floor(live)
    fake.fail_next(status=500)
    r = _dial(live, agent)
    assert r.status_code == 201, r.text
    call = r.json()
    assert call["provider_sid"] is None and len(fake.creates) == 1
    # Past the ring timeout and the margin, the tick asks Twilio: no such call.
    live.http.post("/api/admin/clock", json={"advance_seconds": 25 + 61})
    assert live.runtime.run_provider_work() == 1
    got = live.http.get(f"/api/calls/{call['id']}").json()
    assert got["status"] == "failed" and got["disposition"] == "failed"
    assert len(fake.creates) == 1
    lead = live.http.get(f"/api/leads/{call['lead_id']}").json()
    assert lead["status"] == "scheduled"


def test_unreachable_twilio_fails_the_attempt(db_url: str, fake: FakeTwilio) -> None:
    server = LiveServer(
        make_settings(
            db_url,
            DIALER_TELEPHONY="twilio",
            TWILIO_ACCOUNT_SID=ACCOUNT,
            TWILIO_AUTH_TOKEN=TOKEN,
            TWILIO_API_BASE=f"http://127.0.0.1:{free_port()}",  # nobody listens
            DIALER_ALLOW_INSECURE_PUBLIC_URL=True,
        )
    )
    try:
        _c, (agent,) = _floor(server)
        r = _dial(server, agent)
        assert r.status_code == 201
        got = r.json()
        assert got["status"] == "failed" and got["provider_sid"] is None
    finally:
        server.close()


@pytest.mark.parametrize("live", [{"DIALER_ACCOUNT_CPS": 2}], indirect=True)
def test_creates_never_exceed_the_cps(live: LiveServer, fake: FakeTwilio) -> None:
    _c, agents = _floor(live, leads=6, agents=6, cps=5)
    fake.latency = (0.05, 0.2)
    threads = [threading.Thread(target=_dial, args=(live, a)) for a in agents]
    started = time.monotonic()  # the fake stamps arrivals on the same clock
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times = sorted(a.at for a in fake.creates)
    assert len(times) == 6
    # Each create is sent at or after its slot, and slots are at least 1/cps (the
    # account's 2 per second) apart: the k-th arrival can come no sooner than k
    # half-seconds after dialling began. A request the loaded test machine delays
    # on its way can only arrive later, never earlier, so this holds however the
    # threads are scheduled; squeezing more into a second would break it. The
    # strict count per one-second window, with Twilio in its own process, is the
    # benchmark's (scripts/bench/pacing.py).
    for k, at in enumerate(times):
        assert at >= started + k * 0.5, (k, [t - started for t in times])


def test_slots_from_many_processes_are_spaced(db_url: str) -> None:
    """The reservation itself, raced by threads on their own connections: every
    slot of a budget is at least 1/cps after the one before, on both engines."""
    from datetime import timedelta

    from dialer.db import Database
    from dialer.telephony.pacing import Budget, reserve
    from dialer.clock import wall_now

    db = Database(db_url)
    budgets = [Budget("account", 20.0), Budget("campaign:1", 50.0)]
    slots: list[Any] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(10):
            with db.work() as work:
                slot = reserve(work, budgets=budgets, now=wall_now())
            with lock:
                slots.append(slot)

    _in_threads(take, count=8)
    db.dispose()
    slots.sort()
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    assert len(slots) == 80 and min(gaps) >= timedelta(seconds=1 / 20)


@pytest.mark.serial
def test_a_number_listed_while_its_create_waits_for_a_slot_is_not_called(
    live: LiveServer, fake: FakeTwilio
) -> None:
    """The do-not-call list is checked again at the moment of sending, not only
    when the call was asked for: at 1 CPS the second create waits about a second
    for its slot, and the number is listed meanwhile."""
    _c, (first, second) = _floor(live, leads=2, agents=2, cps=1)
    assert _dial(live, first).status_code == 201
    auth = {"Authorization": f"Bearer {second['token']}"}
    lead = live.http.post(f"/api/agents/{second['id']}/next", headers=auth).json()["lead"]
    answer: dict[str, Any] = {}

    def dial() -> None:
        # A client of its own: the test's client is busy listing the number.
        with httpx.Client(base_url=live.url, headers=auth, timeout=30) as own:
            answer["r"] = own.post(f"/api/leads/{lead['id']}/calls", json={})

    started = time.monotonic()
    sender = threading.Thread(target=dial)
    sender.start()
    time.sleep(0.3)
    phone = lead["phones"][0]["number"]
    listed = live.http.post("/api/dnc", json={"phone": phone, "reason": "asked"})
    assert listed.status_code in (200, 201)
    sender.join()
    # Listed before the slot came: otherwise this test proves nothing.
    assert time.monotonic() - started > 0.5
    got = answer["r"].json()
    assert answer["r"].status_code == 201 and got["status"] == "failed", got
    assert got["provider_sid"] is None
    assert len(fake.creates) == 1


@pytest.mark.serial
def test_a_process_never_sends_more_than_cps_in_a_second_of_actual_sends() -> None:
    """Slots may be missed (a stalled process wakes every late sender at once);
    the sends themselves are still held to cps in any window."""
    from dialer.telephony.pacing import WINDOW_MARGIN, Budget, SendWindow

    window = SendWindow()
    budgets = [Budget("account", 2.0), Budget("campaign:9", 50.0)]
    sent: list[float] = []

    def send() -> None:
        window.admit(budgets=budgets, scope="db")
        sent.append(time.monotonic())

    _in_threads(send, count=3)
    sent.sort()
    assert sent[1] - sent[0] < 0.2  # the first two at once: 2 per second allowed
    assert sent[2] - sent[0] >= WINDOW_MARGIN - 0.001
    # Another database's budget of the same name is another budget.
    started = time.monotonic()
    assert window.admit(budgets=budgets, scope="another db") == 0.0
    assert time.monotonic() - started < 0.2


@pytest.mark.parametrize("cps", [0.5, 1.5, 2.5, 50.0])
def test_the_send_window_never_holds_sends_that_keep_to_their_slots(cps: float) -> None:
    """Fractional rates included: sends spaced as slots are (1/cps x SPACING_MARGIN)
    are never held, or the window would cut the rate the slots allow."""
    from dialer.telephony.pacing import SPACING_MARGIN, Budget, SendWindow

    clock = [1000.0]
    window = SendWindow(clock=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    budget = [Budget("account", cps)]
    spacing = SPACING_MARGIN / cps
    for k in range(int(3 * cps) + 3):
        clock[0] = 1000.0 + k * spacing  # each send at its slot
        assert window.admit(budgets=budget, scope="db") == 0.0, k
