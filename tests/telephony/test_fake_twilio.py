"""FakeTwilio answers the real `twilio` SDK as Twilio would, and fails on demand.

Every test drives `twilio.rest.Client` over real HTTP: if these pass, an adapter
written against the SDK meets the same paths, shapes and errors here as in
production (see fake_twilio's docstring for how the client is pointed)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from fake_twilio import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    FakeTwilio,
    load_facts,
    rewrite_client,
)
from helpers import jst
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

TO = "+819012345678"
FROM = "+815012345678"
TWIML_URL = "https://dialer.example/twilio/answer"
CALLS_URI = f"/Accounts/{DEFAULT_ACCOUNT_SID}/Calls.json"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


@pytest.fixture
def client(fake: FakeTwilio) -> Client:
    return fake.client(timeout=5)


def place(client: Client, to: str = TO, **kwargs: Any) -> Any:
    kwargs.setdefault("url", TWIML_URL)
    return client.calls.create(to=to, from_=FROM, **kwargs)


def rejected(call: Any, *args: Any, **kwargs: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        call(*args, **kwargs)
    return caught.value


# ------------------------------------------------------------------ receiver


@dataclass
class Delivery:
    method: str
    url: str  # as the receiver was asked for it, query string included
    params: dict[str, str]
    headers: dict[str, str]


class Receiver:
    """A webhook endpoint on loopback that records what Twilio (the fake) sent."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self, method: str, body: str) -> None:
                url = f"{receiver.base_url}{self.path}"
                params = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
                receiver.deliveries.append(Delivery(method, url, params, dict(self.headers)))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._record("POST", self.rfile.read(length).decode())

            def do_GET(self) -> None:
                self._record("GET", "")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def signed_by(delivery: Delivery, token: str = DEFAULT_AUTH_TOKEN) -> bool:
    """What the dialer's webhook will do: the SDK's validator over URL + form."""
    signature = delivery.headers.get("X-Twilio-Signature", "")
    return bool(RequestValidator(token).validate(delivery.url, delivery.params, signature))


# -------------------------------------------------------------------- create


def test_create_with_the_dialers_parameters_answers_201_and_records_them(
    fake: FakeTwilio, client: Client
) -> None:
    call = place(
        client,
        status_callback="https://dialer.example/twilio/status?attempt=17",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
        status_callback_method="POST",
        machine_detection="Enable",
        async_amd="true",
        async_amd_status_callback="https://dialer.example/twilio/amd",
        timeout=20,
        record=False,
    )

    assert re.fullmatch(r"CA[0-9a-f]{32}", call.sid)
    # The SDK exposes `from` as `_from` (not `from_` as in create()).
    assert (call.status, call.direction, call.to, call._from) == (
        "queued",
        "outbound-api",
        TO,
        FROM,
    )
    assert call.account_sid == DEFAULT_ACCOUNT_SID
    assert call.date_created is not None and call.date_created.tzinfo is not None
    assert call.start_time is None

    [attempt] = fake.creates
    assert (attempt.status_code, attempt.sid) == (201, call.sid)
    # The SDK repeats the key for a list, renders ints and booleans as text.
    assert attempt.params["StatusCallbackEvent"] == [
        "initiated",
        "ringing",
        "answered",
        "completed",
    ]
    assert attempt.params["Timeout"] == ["20"]
    assert attempt.params["Record"] == ["false"]
    assert attempt.params["AsyncAmd"] == ["true"]

    stored = fake.calls[call.sid]
    assert stored["_params"] == attempt.params
    # Every property of the spec's call schema is there, as in Twilio's answers.
    spec_fields = set(load_facts(fake.facts_path).call_fields)
    assert set(stored) - {"_params"} == spec_fields
    assert stored["uri"] == f"/2010-04-01{CALLS_URI.removesuffix('.json')}/{call.sid}.json"


def test_create_accepts_twiml_client_and_sip_endpoints(fake: FakeTwilio, client: Client) -> None:
    client.calls.create(to="client:agent_7", from_=FROM, twiml="<Response><Say>hi</Say></Response>")
    client.calls.create(to="sip:lead@pbx.example", from_=FROM, url=TWIML_URL)
    assert [a.status_code for a in fake.creates] == [201, 201]


@pytest.mark.parametrize(
    ("kwargs", "code", "names"),
    [
        pytest.param({"machine_detection": "enable"}, 21200, "MachineDetection", id="enum-case"),
        pytest.param(
            {"status_callback_event": ["initiated", "answer"]},
            21200,
            "StatusCallbackEvent",
            id="list-item-not-in-prose-enum",
        ),
        # The SDK types async_amd as str: a Python bool goes out as "True".
        pytest.param({"async_amd": True}, 21200, "AsyncAmd", id="async-amd-python-bool"),
        pytest.param({"status_callback_method": "PUT"}, 21200, "StatusCallbackMethod", id="method"),
        pytest.param({"timeout": "soon"}, 21200, "Timeout", id="integer"),
        pytest.param({"status_callback": "/relative"}, 21200, "StatusCallback", id="uri"),
        pytest.param({"application_sid": "AP123"}, 21200, "ApplicationSid", id="pattern"),
        pytest.param({"from_": None}, 21213, "From", id="missing-from"),
        pytest.param({"to": "09012345678"}, 21211, "To", id="to-not-e164"),
        pytest.param({"url": None}, 21205, "Url", id="no-url-twiml-or-app"),
        pytest.param({"twiml": "<Response/>"}, 21200, "Twiml", id="url-and-twiml"),
    ],
)
def test_create_rejects_what_the_spec_does_not_allow(
    fake: FakeTwilio, client: Client, kwargs: dict[str, Any], code: int, names: str
) -> None:
    args: dict[str, Any] = {"to": TO, "from_": FROM, "url": TWIML_URL, **kwargs}
    error = rejected(client.calls.create, **args)
    assert (error.status, error.code) == (400, code), error.msg
    assert names in error.msg
    assert fake.calls == {}
    assert [a.status_code for a in fake.creates] == [400]


def test_create_rejects_a_parameter_the_spec_does_not_name(
    fake: FakeTwilio, client: Client
) -> None:
    # The SDK's generated create() only sends known names; a raw create through the
    # same client is how a typo would arrive (and Twilio would silently ignore it).
    error = rejected(
        client.api.v2010.create,
        method="POST",
        uri=CALLS_URI,
        data={"To": TO, "From": FROM, "Url": TWIML_URL, "StatusCallbackEvents": "completed"},
    )
    assert (error.status, error.code) == (400, 20001)
    assert "StatusCallbackEvents" in error.msg
    assert fake.calls == {}


def test_bad_credentials_answer_401(fake: FakeTwilio) -> None:
    wrong_token = Client(DEFAULT_ACCOUNT_SID, "not-the-token")
    fake_client = fake.client()
    other_account = Client(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, account_sid="AC" + "1" * 32)
    for c in (wrong_token, other_account):
        c.api.base_url = fake.base_url
        error = rejected(place, c)
        assert (error.status, error.code) == (401, 20003)
    assert fake.calls == {} and len(fake.creates) == 2
    assert place(fake_client).status == "queued"


# ------------------------------------------------------------------ failures


def test_fail_next_429_answers_retry_after_and_creates_nothing(fake: FakeTwilio) -> None:
    http = rewrite_client(fake.base_url, timeout=5)
    client = Client(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, http_client=http)
    fake.fail_next(status=429, retry_after=2)

    error = rejected(place, client)

    assert (error.status, error.code) == (429, 20429)
    # The exception drops headers; the http client still has the response.
    assert http.last_response.status_code == 429
    assert http.last_response.headers["Retry-After"] == "2"
    assert fake.calls == {}
    # Only the next one failed.
    assert place(client).status == "queued"
    assert [(a.status_code, a.sid is None) for a in fake.creates] == [(429, True), (201, False)]


def test_fail_next_counts_and_custom_codes(fake: FakeTwilio, client: Client) -> None:
    fake.fail_next(status=503, count=2)
    fake.fail_next(status=500, code=20500)
    statuses = []
    for _ in range(4):
        try:
            place(client)
            statuses.append(201)
        except TwilioRestException as error:
            statuses.append(error.status)
    assert statuses == [503, 503, 500, 201]
    assert len(fake.calls) == 1


@pytest.mark.serial
def test_a_timed_out_create_may_still_have_placed_the_call(fake: FakeTwilio) -> None:
    client = fake.client(timeout=0.3)
    fake.timeout_next_create(delay=2.0)

    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        place(client, to="+819011112222")
    assert time.monotonic() - started < 1.5  # the client gave up; the fake still sleeps

    # "Did it place the call?" — ask Twilio by number, as the adapter must.
    [found] = client.calls.list(to="+819011112222")
    assert found.status == "queued"
    assert fake.creates[0].sid == found.sid
    # The next create is not delayed.
    assert place(client).status == "queued"


@pytest.mark.serial
def test_a_timed_out_create_without_create_leaves_no_call(fake: FakeTwilio) -> None:
    fake.timeout_next_create(delay=1.0, create=False)
    with pytest.raises(requests.exceptions.Timeout):
        place(fake.client(timeout=0.3))
    assert fake.client().calls.list(to=TO) == []
    # A patient client gets Twilio's late 504.
    fake.timeout_next_create(delay=0.1, create=False)
    assert rejected(place, fake.client(timeout=5)).status == 504


@pytest.mark.serial
def test_latency_delays_every_request(fake: FakeTwilio, client: Client) -> None:
    sid = place(client).sid
    fake.latency = (0.25, 0.3)
    started = time.monotonic()
    client.calls(sid).fetch()
    assert time.monotonic() - started >= 0.25
    fake.latency = (0.0, 0.0)
    started = time.monotonic()
    client.calls(sid).fetch()
    assert time.monotonic() - started < 0.25


def test_concurrent_creates_are_all_recorded_in_arrival_order(fake: FakeTwilio) -> None:
    fake.latency = (0.01, 0.05)
    errors: list[BaseException] = []

    def dial(n: int) -> None:
        try:
            place(fake.client(timeout=5), to=f"+8190000000{n:02d}")
        except BaseException as error:  # surfaced by the assert below
            errors.append(error)

    threads = [threading.Thread(target=dial, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert len(fake.calls) == 12
    assert all(a.status_code == 201 for a in fake.creates)
    stamps = [a.at for a in fake.creates]
    assert stamps == sorted(stamps)


# -------------------------------------------------------------- list / fetch


def test_fetch_reflects_set_call_status_and_unknown_sid_is_404(
    fake: FakeTwilio, client: Client
) -> None:
    sid = place(client).sid
    assert client.calls(sid).fetch().status == "queued"

    fake.set_call_status(sid, "in-progress", answered_by="human")
    fake.set_call_status(sid, "completed", duration=37)
    call = client.calls(sid).fetch()
    assert (call.status, call.answered_by, call.duration) == ("completed", "human", "37")
    assert call.start_time is not None and call.end_time is not None

    error = rejected(client.calls("CA" + "f" * 32).fetch)
    assert (error.status, error.code) == (404, 20404)


def test_list_filters_by_number_status_and_start_time(fake: FakeTwilio, client: Client) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)
    a = place(client, to="+819000000001").sid
    b = place(client, to="+819000000002").sid
    place(client, to="+819000000002")
    fake.set_call_status(b, "no-answer")

    assert [c.sid for c in client.calls.list(to="+819000000001")] == [a]
    assert len(client.calls.list(to="+819000000002")) == 2
    assert [c.sid for c in client.calls.list(status="no-answer")] == [b]
    assert len(client.calls.list(from_=FROM)) == 3
    assert len(client.calls.list(start_time_after=before)) == 3
    assert client.calls.list(start_time_after=datetime.now(UTC) + timedelta(minutes=1)) == []
    assert len(client.calls.list(start_time_before=datetime.now(UTC) + timedelta(minutes=1))) == 3
    assert client.calls.list(start_time_before=before) == []


def test_list_dates_follow_the_fakes_clock() -> None:
    # A test on the dialer's simulated clock: Twilio's stamps are that clock.
    now = [datetime(2026, 12, 1, 1, 0, tzinfo=UTC)]
    with FakeTwilio(clock=lambda: now[0]) as clocked:
        client = clocked.client()
        first = place(client).sid
        now[0] += timedelta(days=1)
        second = place(client).sid
        assert [c.sid for c in client.calls.list(start_time=datetime(2026, 12, 1))] == [first]
        assert [c.sid for c in client.calls.list(start_time="2026-12-02")] == [second]
        assert [
            c.sid for c in client.calls.list(start_time_after=datetime(2026, 12, 1, 12, 0))
        ] == [second]
        assert clocked.calls[first]["date_created"] == "Tue, 01 Dec 2026 01:00:00 +0000"


def test_the_sdk_sends_aware_datetimes_unconverted_so_convert_to_utc_first() -> None:
    """serialize.iso8601_datetime is strftime("%Y-%m-%dT%H:%M:%SZ"): an aware JST
    datetime goes out as its Tokyo wall time labelled Z, nine hours off."""
    created = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
    with FakeTwilio(clock=lambda: created) as clocked:
        client = clocked.client()
        sid = place(client).sid
        since = jst(2026, 12, 1, 9, 30)  # half an hour before the call
        assert client.calls.list(start_time_after=since) == []  # sent as 09:30Z
        assert [c.sid for c in client.calls.list(start_time_after=since.astimezone(UTC))] == [sid]


def test_a_call_held_in_the_queue_has_no_start_time_and_no_start_time_filter_shows_it() -> None:
    """As Twilio: StartTime is empty until the call is dialled, so a call waiting
    for a CPS slot is listed by status, not by StartTime."""
    now = [datetime(2026, 12, 1, 1, 0, tzinfo=UTC)]
    with FakeTwilio(clock=lambda: now[0]) as clocked:
        client = clocked.client()
        clocked.hold_queued(seconds=30)
        held = place(client).sid
        dialled = place(client).sid  # the next one is dialled at once
        since = now[0] - timedelta(seconds=1)
        assert [c.sid for c in client.calls.list(start_time_after=since)] == [dialled]
        assert {c.sid for c in client.calls.list(status="queued")} == {held, dialled}
        assert client.calls(held).fetch().start_time is None
        now[0] += timedelta(seconds=30)
        waited = client.calls(held).fetch()
        assert waited.status == "queued" and waited.start_time == now[0]
        assert {c.sid for c in client.calls.list(start_time_after=since)} == {held, dialled}


def test_fail_next_list_answers_an_error_once(fake: FakeTwilio, client: Client) -> None:
    sid = place(client).sid
    fake.fail_next_list(status=503)
    with pytest.raises(TwilioException):
        client.calls.list(to=TO)
    assert [c.sid for c in client.calls.list(to=TO)] == [sid]


def test_list_pages_newest_first_through_next_page_uri(fake: FakeTwilio, client: Client) -> None:
    sids = [place(client).sid for _ in range(5)]
    listed = client.calls.list(page_size=2)
    assert [c.sid for c in listed] == list(reversed(sids))

    page = client.calls.page(page_size=2)
    assert page.next_page_url is not None
    assert page.next_page_url.startswith(fake.base_url)
    assert page._payload["previous_page_uri"] is None
    assert page._payload["page_size"] == 2


def test_list_rejects_an_unknown_status(client: Client) -> None:
    # A page's error is a bare TwilioException: Page.process_response does not
    # build a TwilioRestException, so status and code are not on it.
    with pytest.raises(TwilioException) as caught:
        client.calls.list(status="answered")
    assert "Unable to fetch page" in str(caught.value)


def test_update_cancels_a_call(fake: FakeTwilio, client: Client) -> None:
    sid = place(client).sid
    assert client.calls(sid).update(status="canceled").status == "canceled"
    assert fake.calls[sid]["end_time"] is not None
    error = rejected(client.calls(sid).update, status="busy")
    assert error.status == 400


# ---------------------------------------------------------------- callbacks


def test_send_status_posts_a_correctly_signed_form(
    fake: FakeTwilio, client: Client, receiver: Receiver
) -> None:
    callback = f"{receiver.base_url}/twilio/status?attempt=17&campaign=3"
    sid = place(client, status_callback=callback, status_callback_event=["ringing"]).sid

    assert fake.send_status(sid, "initiated").status_code == 204
    fake.send_status(sid, "ringing")
    fake.send_status(sid, "in-progress", answered_by="human")
    fake.send_status(sid, "completed", duration=65)

    initiated, ringing, answered, completed = receiver.deliveries
    for n, delivery in enumerate(receiver.deliveries):
        assert delivery.method == "POST"
        assert delivery.url == callback
        assert signed_by(delivery)
        assert not signed_by(delivery, token="someone-elses-token")
        assert delivery.params["SequenceNumber"] == str(n)
        assert delivery.params["CallSid"] == sid
        assert delivery.params["AccountSid"] == DEFAULT_ACCOUNT_SID
        assert delivery.params["ApiVersion"] == "2010-04-01"
        assert delivery.params["Direction"] == "outbound-api"
        assert delivery.params["CallbackSource"] == "call-progress-events"
        assert (delivery.params["To"], delivery.params["Called"]) == (TO, TO)
        assert (delivery.params["From"], delivery.params["Caller"]) == (FROM, FROM)
        assert re.fullmatch(
            r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000", delivery.params["Timestamp"]
        )
    assert [d.params["CallStatus"] for d in receiver.deliveries] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert answered.params["AnsweredBy"] == "human"
    assert "CallDuration" not in ringing.params
    assert (completed.params["CallDuration"], completed.params["Duration"]) == ("65", "2")

    call = client.calls(sid).fetch()
    assert (call.status, call.duration, call.answered_by) == ("completed", "65", "human")
    assert initiated.headers["User-Agent"] == "TwilioProxy/1.1"


def test_send_status_unsigned_extra_and_explicit_url(
    fake: FakeTwilio, client: Client, receiver: Receiver
) -> None:
    sid = place(client).sid  # no StatusCallback on the call
    with pytest.raises(ValueError):
        fake.send_status(sid, "ringing")
    fake.send_status(
        sid,
        "failed",
        url=f"{receiver.base_url}/elsewhere",
        sign=False,
        extra={"SipResponseCode": "404"},
    )
    [delivery] = receiver.deliveries
    assert "X-Twilio-Signature" not in delivery.headers
    assert delivery.params["SipResponseCode"] == "404"
    assert fake.calls[sid]["status"] == "failed"


def test_a_late_old_callback_does_not_roll_the_call_back(
    fake: FakeTwilio, client: Client, receiver: Receiver
) -> None:
    sid = place(client, status_callback=f"{receiver.base_url}/s").sid
    fake.send_status(sid, "completed", sequence_number=3, duration=10)
    fake.send_status(sid, "ringing", sequence_number=1)  # delivered late
    fake.send_status(sid, "completed")  # the counter continues after 3
    assert [d.params["SequenceNumber"] for d in receiver.deliveries] == ["3", "1", "4"]
    assert fake.calls[sid]["status"] == "completed"
    assert all(signed_by(d) for d in receiver.deliveries)


def test_status_callback_by_get_is_signed_over_the_full_url(
    fake: FakeTwilio, client: Client, receiver: Receiver
) -> None:
    sid = place(
        client, status_callback=f"{receiver.base_url}/s?x=1", status_callback_method="GET"
    ).sid
    fake.send_status(sid, "busy")
    [delivery] = receiver.deliveries
    assert delivery.method == "GET"
    query = {k: v[0] for k, v in parse_qs(urlsplit(delivery.url).query).items()}
    assert (query["x"], query["CallStatus"]) == ("1", "busy")
    signature = delivery.headers["X-Twilio-Signature"]
    assert RequestValidator(DEFAULT_AUTH_TOKEN).validate(delivery.url, {}, signature)


def test_send_amd_posts_the_async_amd_result(
    fake: FakeTwilio, client: Client, receiver: Receiver
) -> None:
    sid = place(
        client,
        machine_detection="DetectMessageEnd",
        async_amd="true",
        async_amd_status_callback=f"{receiver.base_url}/amd",
    ).sid
    with pytest.raises(ValueError):
        fake.send_amd(sid, "answering_machine")
    fake.send_amd(sid, "machine_end_beep", machine_detection_duration=3100)
    [delivery] = receiver.deliveries
    assert signed_by(delivery)
    assert delivery.params == {
        "CallSid": sid,
        "AccountSid": DEFAULT_ACCOUNT_SID,
        "AnsweredBy": "machine_end_beep",
        "MachineDetectionDuration": "3100",
    }
    assert client.calls(sid).fetch().answered_by == "machine_end_beep"


# ------------------------------------------------------------- pointing


def test_rewrite_client_survives_edge_and_region(fake: FakeTwilio) -> None:
    """The other way to point the SDK: below its URL building, so even edge/region
    (which rewrite the host name) still land here."""
    client = Client(
        DEFAULT_ACCOUNT_SID,
        DEFAULT_AUTH_TOKEN,
        region="au1",
        edge="sydney",
        http_client=rewrite_client(fake.base_url, timeout=5),
    )
    sids = [place(client).sid for _ in range(3)]
    assert {c.sid for c in client.calls.list(page_size=2)} == set(sids)
    assert client.calls(sids[0]).fetch().sid == sids[0]


def test_plain_base_url_override_works_with_the_stock_http_client(fake: FakeTwilio) -> None:
    client = Client(
        DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, http_client=TwilioHttpClient(timeout=5)
    )
    client.api.base_url = fake.base_url
    assert place(client).status == "queued"
