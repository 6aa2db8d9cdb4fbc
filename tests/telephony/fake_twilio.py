"""A local, Twilio-compatible Calls API over real HTTP, for tests.

`FakeTwilio` serves the three Calls operations the dialer uses (plus the
hang-up update) on `http://127.0.0.1:<port>`, exactly at the paths the official
`twilio` SDK (9.x) builds, so the real `twilio.rest.Client` can talk to it:

    POST /2010-04-01/Accounts/{AccountSid}/Calls.json         CreateCall (form body)
    GET  /2010-04-01/Accounts/{AccountSid}/Calls.json         ListCall   (query string)
    GET  /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json   FetchCall
    POST /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json   UpdateCall (e.g. Status=canceled)

Create and update bodies are checked against Twilio's own OpenAPI description
(https://github.com/twilio/twilio-oai, `spec/json/twilio_api_v2010.json`, MIT),
so a parameter the adapter misspells, or a value Twilio would not take, fails
here as a 400 instead of in production. The facts checked (parameter names,
types, enums, patterns, lengths, required ones; a call's fields and statuses)
are committed in `data/twilio_calls.json`, extracted by `scripts/twilio_facts.py`
with the source's tag, commit and licence beside them; the suite reads only that
file. Where the description lists the allowed values only in prose ("Can be:
`Enable` or `DetectMessageEnd`") those backticked values are enforced.

Pointing the SDK at the fake
----------------------------
The SDK builds every URL as `client.api.base_url + "/2010-04-01" + uri`
(`twilio.base.domain.Domain.absolute_url`), `client.api` is created once per
client and cached, and `base_url` is read on every request (pagination's
`next_page_uri` too). So the whole redirect is one attribute:

    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=5))
    client.api.base_url = "http://127.0.0.1:PORT"   # what FakeTwilio.start() returned

(`point_client` below does that and also clears `edge`/`region`: the SDK
rewrites the host name when either is set, also from the TWILIO_EDGE /
TWILIO_REGION environment variables, which would mangle `127.0.0.1:PORT`.)

An alternative that leaves the `Client` untouched is an HTTP client that
rewrites any `*.twilio.com` URL just before it is sent — after the SDK's own
edge/region handling, so it survives both:

    client = Client(account_sid, auth_token, http_client=rewrite_client(fake.base_url, timeout=5))

`FakeTwilio.client()` returns a ready client the first way.

SDK behaviour worth knowing (twilio 9.13, checked against its source)
--------------------------------------------------------------------
* List parameters (`status_callback_event=[...]`) are sent as the same form
  key repeated (`StatusCallbackEvent=initiated&StatusCallbackEvent=ringing`):
  `serialize.map` keeps the list and `requests` repeats the key.
* `record=` is a real boolean (the SDK sends `true`/`false`), but `async_amd=`
  is typed `str`: pass `"true"`; a Python `True` goes out as `True`, which the
  spec's values (`true`, `false`) do not include.
* `start_time_after=` etc. are sent as `StartTime>` / `StartTime<` with
  `datetime.strftime("%Y-%m-%dT%H:%M:%SZ")`, which does NOT convert to UTC: an
  aware non-UTC datetime is sent as its local wall time labelled `Z`. Convert
  to UTC first. A `date` also gets `T00:00:00Z`; only a str passes unchanged.
* The SDK's create() knows `passports=`, which this spec file does not list:
  the fake rejects it as unknown.
* A fetched/created CallInstance has `to` but `_from` (not `from_`).
* Error responses raise `TwilioRestException` (`.status`, `.code`, `.msg`) but
  the response headers are dropped, so `Retry-After` of a 429 is not on the
  exception; `RewritingHttpClient.last_response` keeps it (per thread). A
  failed list page raises a bare `TwilioException("Unable to fetch page")`
  with neither status nor code.
* A client-side timeout (`TwilioHttpClient(timeout=...)`, one number for both
  connect and read) raises `requests.exceptions.Timeout` (ReadTimeout), not a
  Twilio exception. The SDK has no retry logic of its own (a 429 is simply
  raised); `max_retries=` mounts urllib3 retries on `https://` only, and those
  never resend a POST whose response was lost. So a timed-out create may or
  may not have placed the call — `timeout_next_create(create=True)`
  reproduces exactly that, and `calls.list(to=...)` is how to find out.

A call's StartTime is empty until it is dialled ("Empty if the call has not yet
been dialed", in the spec): at once by default, or after `hold_queued(seconds=N)`
of this fake's clock, as a call waiting in the account's CPS queue. A list
filtered by StartTime does not show a call without one; `Status=queued` does.
There is no DateCreated filter. `fail_next_list()` makes list requests fail.

Where this fake is deliberately stricter than Twilio: an unknown parameter is a
400 (Twilio only logs warning 20001 and ignores it), and a create must name
exactly one of Url / Twiml / ApplicationSid (Twilio ignores Twiml if Url is
also given). Error codes follow Twilio's catalogue where one fits (20003,
20404, 20429, 21201, 21205, 21211, 21212, 21213) and 21200 otherwise.
"""

from __future__ import annotations

import base64
import binascii
import copy
import email.utils
import functools
import json
import math
import random
import re
import secrets
import socketserver
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit
from xml.etree import ElementTree

import httpx
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

DEFAULT_ACCOUNT_SID: Final = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN: Final = "test-auth-token"
# What the fake checks, extracted from Twilio's OpenAPI description by
# scripts/twilio_facts.py (source and licence beside it).
DEFAULT_FACTS_PATH: Final = Path(__file__).resolve().parent / "data" / "twilio_calls.json"

API_VERSION: Final = "2010-04-01"
ERROR_DOCS: Final = "https://www.twilio.com/docs/errors/"

# Statuses after which a call no longer changes: end_time and duration are set.
TERMINAL_STATUSES: Final = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
# CallStatus values a status callback carries: the resource's statuses plus
# `initiated`, which only exists as a callback (the resource stays `queued`).
CALLBACK_STATUSES: Final = frozenset(
    {"queued", "initiated", "ringing", "in-progress", *TERMINAL_STATUSES}
)
# AnsweredBy values of Twilio's answering machine detection.
ANSWERED_BY: Final = frozenset(
    {
        "human",
        "machine_start",
        "machine_end_beep",
        "machine_end_silence",
        "machine_end_other",
        "fax",
        "unknown",
    }
)

_CREATE_PATH: Final = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Calls\.json$")
_CALL_PATH: Final = re.compile(
    r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Calls/(?P<sid>[^/]+)\.json$"
)
# "Endpoint" in Twilio's spec: a phone number in E.164, a Client identity or a
# SIP URI. Strict E.164 on purpose: the dialer normalises numbers before calling.
_E164: Final = re.compile(r"\+[1-9]\d{1,14}")
_CLIENT: Final = re.compile(r"client:[A-Za-z0-9_.@-]+")
_SIP: Final = re.compile(r"sips?:[^@\s]+@[^@\s]+")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def rfc2822(moment: datetime) -> str:
    """Twilio's date format in resources and callbacks: `Tue, 31 Aug 2010 20:36:28 +0000`."""
    return email.utils.format_datetime(moment.astimezone(UTC).replace(microsecond=0))


# -------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class _Param:
    """One form parameter of an operation, as far as validation needs it."""

    name: str
    type: str  # OpenAPI type: "string", "integer", "boolean" or "array"
    format: str | None
    enum: frozenset[str] | None
    pattern: re.Pattern[str] | None
    min_length: int | None
    max_length: int | None
    space_separated: bool  # the spec says several values may share one field


@dataclass(frozen=True)
class _Operation:
    name: str
    params: Mapping[str, _Param]
    required: frozenset[str]


@dataclass(frozen=True)
class _Spec:
    create: _Operation
    update: _Operation
    call_fields: tuple[str, ...]  # properties of `api.v2010.account.call`, in spec order
    call_statuses: frozenset[str]


def _param(name: str, facts: Mapping[str, Any]) -> _Param:
    pattern = facts["pattern"]
    enum = facts["enum"]
    return _Param(
        name=name,
        type=str(facts["type"]),
        format=facts["format"],
        enum=frozenset(str(v) for v in enum) if enum is not None else None,
        pattern=re.compile(pattern) if pattern else None,
        min_length=facts["min_length"],
        max_length=facts["max_length"],
        space_separated=bool(facts["space_separated"]),
    )


def _operation(facts: Mapping[str, Any]) -> _Operation:
    return _Operation(
        name=str(facts["operation_id"]),
        params={n: _param(n, p) for n, p in facts["params"].items()},
        required=frozenset(facts["required"]),
    )


@functools.lru_cache(maxsize=4)
def load_facts(path: Path) -> _Spec:
    """Reads the facts file `scripts/twilio_facts.py` extracted from Twilio's OpenAPI
    description (tests/telephony/data/twilio_calls.json, with its source and licence)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    operations = document["operations"]
    return _Spec(
        create=_operation(operations["create"]),
        update=_operation(operations["update"]),
        call_fields=tuple(document["call_fields"]),
        call_statuses=frozenset(document["call_statuses"]),
    )


# ------------------------------------------------------------------------ errors


class TwilioApiError(Exception):
    """An error answer, in Twilio's JSON shape: {code, message, more_info, status}."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"{ERROR_DOCS}{self.code}",
            "status": self.status,
        }


def _bad(code: int, message: str) -> TwilioApiError:
    return TwilioApiError(400, code, message)


def _check_endpoint(name: str, value: str, code: int) -> None:
    if not (_E164.fullmatch(value) or _CLIENT.fullmatch(value) or _SIP.fullmatch(value)):
        raise _bad(
            code,
            f"The '{name}' number {value} is not a valid phone number, "
            "SIP address or client identifier.",
        )


def _check_uri(name: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad(21205 if name == "Url" else 21200, f"{name} is not a valid URL: {value!r}")


def _check_value(param: _Param, value: str) -> None:
    name = param.name
    if param.type == "integer":
        try:
            int(value)
        except ValueError:
            raise _bad(21200, f"{name} must be an integer, got {value!r}.") from None
        return
    if param.type == "boolean":
        if value.lower() not in ("true", "false"):
            raise _bad(21200, f"{name} must be true or false, got {value!r}.")
        return
    tokens = value.split() if param.space_separated else [value]
    for token in tokens:
        if param.enum is not None and token not in param.enum:
            allowed = ", ".join(sorted(param.enum))
            raise _bad(21200, f"{name} must be one of {allowed}; got {token!r}.")
    if param.format == "uri":
        _check_uri(name, value)
    if param.pattern is not None and not param.pattern.fullmatch(value):
        raise _bad(21200, f"{name} {value!r} does not match {param.pattern.pattern}.")
    if param.min_length is not None and len(value) < param.min_length:
        raise _bad(21200, f"{name} is shorter than {param.min_length} characters.")
    if param.max_length is not None and len(value) > param.max_length:
        raise _bad(21200, f"{name} is longer than {param.max_length} characters.")


_MISSING: Final = {
    "To": (21201, "A 'To' phone number is required."),
    "From": (21213, "A 'From' phone number is required."),
}


def _validate(op: _Operation, form: Mapping[str, list[str]]) -> None:
    """Raises the first TwilioApiError the form deserves under `op`."""
    unknown = [name for name in form if name not in op.params]
    if unknown:
        raise _bad(20001, f"Unknown parameter(s) for {op.name}: {', '.join(unknown)}.")
    for name, values in form.items():
        param = op.params[name]
        if param.type != "array" and len(values) > 1:
            raise _bad(21200, f"{name} was given {len(values)} times; it takes one value.")
        for value in values:
            _check_value(param, value)
    for name in sorted(op.required, key=lambda n: n != "To"):  # To first, as Twilio
        if not any(v.strip() for v in form.get(name, [])):
            code, message = _MISSING.get(name, (21200, f"{name} is required."))
            raise _bad(code, message)


# ------------------------------------------------------------------------ state


@dataclass
class CreateAttempt:
    """One POST to Calls.json, recorded once its body is read, before any simulated latency."""

    params: dict[str, list[str]]
    at: float  # time.monotonic() when the request had reached the server
    status_code: int | None = None  # what was answered; None while still in flight
    sid: str | None = None  # the call created, if any


@dataclass(frozen=True)
class _Failure:
    status: int
    code: int
    retry_after: float | None


@dataclass(frozen=True)
class _Stall:
    delay: float
    create: bool


@dataclass
class _CallMeta:
    """Bookkeeping that is not part of Twilio's call resource."""

    created_at: datetime
    order: int  # creation order: the tie-breaker among calls of the same second
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    # When dialling begins (StartTime): at once, unless the call waits in the
    # account's CPS queue (`hold_queued`). Until then it is queued with no StartTime.
    dial_at: datetime | None = None
    next_sequence: int = 0  # SequenceNumber of the next status callback
    applied_sequence: int = -1  # highest SequenceNumber whose status the resource shows


_DEFAULT_ERROR_CODES: Final = {429: 20429, 500: 20500, 503: 20503, 504: 20504}
_ERROR_MESSAGES: Final = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


# Twilio's messages for the refusals a test can script per number (refuse_to).
_REFUSAL_MESSAGES: Final = {
    20003: "Authenticate",
    20005: "Account not active",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    21205: "Url is not a valid URL",
    21210: "The source phone number provided is not yet verified for your account.",
    21211: "Invalid 'To' Phone Number",
    21212: "Invalid 'From' Phone Number",
    21214: "'To' phone number cannot be reached",
    21215: "Account not authorized to call this number. Enable the destination in Geo Permissions.",
    21217: "Phone number does not appear to be valid",
    21219: "The number is unverified. Trial accounts may only make calls to verified numbers.",
    21614: "'To' number is not a valid mobile number",
    13223: "Dial: Invalid phone number format",
    13224: "Dial: Twilio does not support calling this number or the number is invalid",
}


@dataclass(frozen=True)
class _Refusal:
    status: int
    code: int
    message: str
    retry_after: float | None


# Twilio stops a call whose TwiML keeps redirecting; this fake stops sooner.
MAX_TWIML_REQUESTS: Final = 40


@dataclass
class TwimlRun:
    """What an answered call's TwiML did, as the fake executed it."""

    url: str  # the last document's URL (relative URLs resolve against it)
    requests: list[tuple[str, int]] = field(default_factory=list)  # (url, HTTP status)
    documents: list[str] = field(default_factory=list)
    verbs: list[tuple[str, dict[str, str], str]] = field(default_factory=list)
    said: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (text, attributes)
    paused: int = 0  # seconds of <Pause> in all
    dial: dict[str, str] | None = None  # the pending <Dial>'s attributes and "endpoint"
    hung_up: bool = False
    error: int | None = None  # the HTTP status of a failed TwiML request


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler sleeping out a stall must not keep the process alive
    # socketserver's default backlog of 5 drops the SYNs of a burst of concurrent
    # dials, which the client's kernel only retries after a second.
    request_queue_size = 128
    fake: FakeTwilio

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name with getfqdn(), a reverse
        # DNS lookup that can take seconds in a sandbox; the name is never used.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as requests' Session expects

    def do_GET(self) -> None:
        self.server.fake._handle(self, "GET")

    def do_POST(self) -> None:
        self.server.fake._handle(self, "POST")

    def do_DELETE(self) -> None:
        self.server.fake._handle(self, "DELETE")

    def do_PUT(self) -> None:
        self.server.fake._handle(self, "PUT")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read `creates`, not access logs


# ------------------------------------------------------------------------- fake


class FakeTwilio:
    """Twilio's Calls API on loopback, with knobs for the failures a dialer must survive."""

    def __init__(
        self,
        *,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        facts_path: Path = DEFAULT_FACTS_PATH,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        """`clock` gives the (aware) wall time stamped on calls and callbacks, so a
        test on a simulated clock can filter `list(start_time_after=...)` by it."""
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.facts_path = facts_path
        self.spec = load_facts(facts_path)
        self.clock = clock
        self.base_url = ""
        self.calls: dict[str, dict[str, Any]] = {}
        self.creates: list[CreateAttempt] = []
        self.latency: tuple[float, float] = (0.0, 0.0)

        # One lock for all shared state: handler threads, the test thread and
        # send_status() all read and write it.
        self._lock = threading.RLock()
        self._meta: dict[str, _CallMeta] = {}
        self._failures: deque[_Failure] = deque()
        self._stalls: deque[_Stall] = deque()
        self._list_failures: deque[int] = deque()
        self._holds: deque[float] = deque()
        self._undialled: set[str] = set()  # created, StartTime not stamped yet
        self._refusals: dict[str, _Refusal] = {}  # by the create's To
        self._stopping = threading.Event()  # wakes handlers sleeping on latency/stalls
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle

    def start(self) -> str:
        if self._server is not None:
            raise RuntimeError("FakeTwilio is already running")
        self._stopping.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-twilio",
            daemon=True,
        )
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{server.server_port}"
        return self.base_url

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeTwilio:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def client(self, *, timeout: float | None = None) -> Client:
        """The real SDK client, authenticated as this account and pointed here."""
        return point_client(
            Client(
                self.account_sid,
                self.auth_token,
                http_client=TwilioHttpClient(timeout=timeout),
            ),
            self.base_url,
        )

    # ---- knobs

    def fail_next(
        self,
        *,
        status: int,
        count: int = 1,
        retry_after: float | None = None,
        code: int | None = None,
    ) -> None:
        """The next `count` creates answer `status` (and create nothing).

        `code` defaults to Twilio's for the status (429 → 20429, 503 → 20503…);
        `retry_after` adds a Retry-After header, in seconds."""
        failure = _Failure(status, code or _DEFAULT_ERROR_CODES.get(status, status), retry_after)
        with self._lock:
            self._failures.extend([failure] * count)

    def refuse_to(
        self,
        number: str,
        *,
        code: int,
        status: int = 400,
        message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Every create to `number` (E.164) is refused with Twilio's error `code`
        and HTTP `status`, in Twilio's error body, until `allow(number)`. Checked
        after the request's own validation, as Twilio does."""
        text = message or _REFUSAL_MESSAGES.get(code, "Simulated refusal")
        with self._lock:
            self._refusals[number] = _Refusal(status, code, text, retry_after)

    def allow(self, number: str) -> None:
        with self._lock:
            self._refusals.pop(number, None)

    def _refusal_for(self, form: Mapping[str, list[str]]) -> None:
        with self._lock:
            refusal = self._refusals.get((form.get("To") or [""])[0])
        if refusal is not None:
            headers = {}
            if refusal.retry_after is not None:
                headers["Retry-After"] = f"{refusal.retry_after:g}"
            raise TwilioApiError(refusal.status, refusal.code, refusal.message, headers=headers)

    def timeout_next_create(self, *, delay: float, create: bool = True) -> None:
        """The next create answers only after `delay` seconds, so a client timeout fires.

        create=True: the call is created (listable, fetchable) before the wait and
        the late answer is the 201 — Twilio placed the call, the client never
        heard. create=False: nothing is created and the late answer is a 504."""
        with self._lock:
            self._stalls.append(_Stall(delay, create))

    def hold_queued(self, *, seconds: float, count: int = 1) -> None:
        """The next `count` created calls wait `seconds` (on this fake's clock) in
        the account's CPS queue: `queued`, no StartTime, so a list filtered by
        StartTime does not show them, as Twilio's does not. Other calls are dialled
        at once (StartTime = creation) but stay `queued` until a status is set."""
        with self._lock:
            self._holds.extend([seconds] * count)

    def fail_next_list(self, *, status: int = 500, count: int = 1) -> None:
        """The next `count` list requests answer `status` (Twilio's error body)."""
        with self._lock:
            self._list_failures.extend([status] * count)

    def set_call_status(
        self,
        sid: str,
        status: str,
        *,
        answered_by: str | None = None,
        duration: int | None = None,
    ) -> None:
        """What fetch and list report from now on. Entering a terminal status stamps
        end_time and duration (given, else seconds since in-progress, else 0)."""
        if status not in self.spec.call_statuses:
            raise ValueError(f"{status!r} is not a call status: {sorted(self.spec.call_statuses)}")
        with self._lock:
            self._apply_status(self._call(sid), sid, status, answered_by, duration)

    def send_status(
        self,
        sid: str,
        status: str,
        *,
        answered_by: str | None = None,
        sequence_number: int | None = None,
        duration: int | None = None,
        extra: Mapping[str, str] | None = None,
        sign: bool = True,
        url: str | None = None,
    ) -> httpx.Response:
        """Delivers a status callback for `sid` the way Twilio does, and returns the answer.

        Goes to the call's StatusCallback (or `url`) with its StatusCallbackMethod.
        SequenceNumber counts from 0 per call; an explicit one is sent as given
        (the counter then continues after the highest number used), so tests can
        deliver callbacks out of order. The resource takes the callback's status
        only if its SequenceNumber is the highest so far — Twilio's resource shows
        the real latest state, however late an old callback arrives."""
        if status not in CALLBACK_STATUSES:
            raise ValueError(f"{status!r} is not a CallStatus: {sorted(CALLBACK_STATUSES)}")
        if answered_by is not None and answered_by not in ANSWERED_BY:
            raise ValueError(f"{answered_by!r} is not an AnsweredBy: {sorted(ANSWERED_BY)}")
        with self._lock:
            call = self._call(sid)
            meta = self._meta[sid]
            target = url or _first(call["_params"], "StatusCallback")
            if not target:
                raise ValueError(f"call {sid} has no StatusCallback and no url= was given")
            method = _first(call["_params"], "StatusCallbackMethod") or "POST"
            if sequence_number is None:
                sequence_number = meta.next_sequence
            meta.next_sequence = max(meta.next_sequence, sequence_number + 1)
            if sequence_number > meta.applied_sequence:
                meta.applied_sequence = sequence_number
                if status == "initiated":  # dialling began; the resource stays queued
                    now = self.clock()
                    call["date_updated"] = rfc2822(now)
                    if meta.started_at is None:
                        meta.started_at = now
                        call["start_time"] = rfc2822(now)
                    if answered_by is not None:
                        call["answered_by"] = answered_by
                else:
                    self._apply_status(call, sid, status, answered_by, duration)
            params = {
                "AccountSid": self.account_sid,
                "ApiVersion": API_VERSION,
                "CallSid": sid,
                "CallStatus": status,
                "Called": str(call["to"]),
                "Caller": str(call["from"]),
                "Direction": "outbound-api",
                "From": str(call["from"]),
                "To": str(call["to"]),
                "SequenceNumber": str(sequence_number),
                "Timestamp": rfc2822(self.clock()),
                "CallbackSource": "call-progress-events",
            }
            if status == "completed":
                seconds = int(call["duration"] or 0) if duration is None else duration
                params["CallDuration"] = str(seconds)
                params["Duration"] = str(math.ceil(seconds / 60))  # billed minutes
            if answered_by is not None:
                params["AnsweredBy"] = answered_by
        params.update(extra or {})
        # The HTTP request goes out without the lock: the receiver may call back
        # into this fake (fetch the call) while handling it.
        return self._deliver(target, method, params, sign=sign)

    def send_amd(
        self,
        sid: str,
        answered_by: str,
        *,
        machine_detection_duration: int = 2000,
        extra: Mapping[str, str] | None = None,
        sign: bool = True,
        url: str | None = None,
    ) -> httpx.Response:
        """Delivers the asynchronous AMD result (AsyncAmd=true) to AsyncAmdStatusCallback
        (or `url`) with its AsyncAmdStatusCallbackMethod; records `answered_by` on the call.
        MachineDetectionDuration is in milliseconds, as Twilio sends it."""
        if answered_by not in ANSWERED_BY:
            raise ValueError(f"{answered_by!r} is not an AnsweredBy: {sorted(ANSWERED_BY)}")
        with self._lock:
            call = self._call(sid)
            target = url or _first(call["_params"], "AsyncAmdStatusCallback")
            if not target:
                raise ValueError(f"call {sid} has no AsyncAmdStatusCallback and no url= was given")
            method = _first(call["_params"], "AsyncAmdStatusCallbackMethod") or "POST"
            call["answered_by"] = answered_by
            call["date_updated"] = rfc2822(self.clock())
            params = {
                "CallSid": sid,
                "AccountSid": self.account_sid,
                "AnsweredBy": answered_by,
                "MachineDetectionDuration": str(machine_detection_duration),
            }
        params.update(extra or {})
        return self._deliver(target, method, params, sign=sign)

    # ---- the answered call's TwiML (voice URL, <Dial action>, FallbackUrl)

    def answer(
        self,
        sid: str,
        *,
        on_pause: Callable[[int], None] | None = None,
        voice_fails: str | None = None,
        status_callback: bool = True,
    ) -> TwimlRun:
        """The callee picks up: the call goes in-progress (its `in-progress` status
        callback sent first, unless `status_callback=False`) and its Url is asked for
        TwiML (POST, signed, like Twilio), which is then executed verb by verb:
        `<Say>` is recorded, `<Pause>` calls `on_pause(seconds)` instead of
        sleeping (a test delivers async AMD there), `<Redirect>` asks its URL
        (relative ones resolved against the document's), `<Hangup>` completes the
        call, and `<Dial>` leaves the bridge pending for `end_dial`.

        `voice_fails="11200"`: the Url answers nothing usable (an HTTP error), so
        Twilio asks FallbackUrl instead, adding ErrorCode and ErrorUrl."""
        if status_callback and _first(self._call(sid)["_params"], "StatusCallback"):
            self.send_status(sid, "in-progress")
        with self._lock:
            call = self._call(sid)
            self._apply_status(call, sid, "in-progress", None, None)
            url = _first(call["_params"], "Url")
            if not url:
                raise ValueError(f"call {sid} has no Url")
        params = self._voice_params(sid)
        if voice_fails is not None:
            fallback = _first(call["_params"], "FallbackUrl")
            if not fallback:
                raise ValueError(f"call {sid} has no FallbackUrl: Twilio reads its own error")
            params.update(ErrorCode=voice_fails, ErrorUrl=url)
            url = fallback
        return self._run_twiml(sid, url, params, on_pause=on_pause)

    def end_dial(
        self, sid: str, run: TwimlRun, dial_call_status: str, *, duration: int = 0
    ) -> TwimlRun:
        """The bridge `run` left pending ends with `dial_call_status` (completed,
        answered, busy, no-answer, failed, canceled): Twilio asks the `<Dial
        action>` with DialCallStatus and goes on with the TwiML it answers. No
        action: the call ends (Twilio hangs up after a Dial without one)."""
        dial = run.dial
        if dial is None:
            raise ValueError("the TwiML run has no pending <Dial>")
        action = dial.get("action")
        if not action:
            with self._lock:
                self._apply_status(self._call(sid), sid, "completed", None, None)
            return TwimlRun(url=run.url)
        params = self._voice_params(sid)
        params.update(
            DialCallStatus=dial_call_status,
            DialCallSid="CA" + secrets.token_hex(16),
            DialCallDuration=str(duration),
        )
        method = dial.get("method") or "POST"
        return self._run_twiml(sid, urljoin(run.url, action), params, method=method)

    def _voice_params(self, sid: str) -> dict[str, str]:
        with self._lock:
            call = self._call(sid)
            return {
                "AccountSid": self.account_sid,
                "ApiVersion": API_VERSION,
                "CallSid": sid,
                "CallStatus": str(call["status"]),
                "Called": str(call["to"]),
                "Caller": str(call["from"]),
                "Direction": "outbound-api",
                "From": str(call["from"]),
                "To": str(call["to"]),
            }

    def _run_twiml(
        self,
        sid: str,
        url: str,
        params: dict[str, str],
        *,
        method: str = "POST",
        on_pause: Callable[[int], None] | None = None,
    ) -> TwimlRun:
        run = TwimlRun(url=url)
        for _request in range(MAX_TWIML_REQUESTS):
            response = self._deliver(url, method, params, sign=True)
            run.requests.append((url, response.status_code))
            if response.status_code != 200:
                run.error = response.status_code
                return run
            document = ElementTree.fromstring(response.content)
            if document.tag != "Response":
                raise ValueError(f"TwiML root is <{document.tag}>, not <Response>")
            run.documents.append(response.text)
            run.url = url
            redirect: str | None = None
            for verb in document:
                attrs = dict(verb.attrib)
                run.verbs.append((verb.tag, attrs, (verb.text or "").strip()))
                if verb.tag == "Say":
                    run.said.append(((verb.text or "").strip(), attrs))
                elif verb.tag == "Pause":
                    seconds = int(attrs.get("length", "1"))
                    run.paused += seconds
                    if on_pause is not None:
                        on_pause(seconds)
                elif verb.tag == "Hangup":
                    with self._lock:
                        self._apply_status(self._call(sid), sid, "completed", None, None)
                    run.hung_up = True
                    return run
                elif verb.tag == "Dial":
                    run.dial = {**attrs, "endpoint": "".join(
                        f"{child.tag}:{(child.text or '').strip()}" for child in verb
                    ) or (verb.text or "").strip()}  # fmt: skip
                    return run
                elif verb.tag == "Redirect":
                    redirect = urljoin(url, (verb.text or "").strip())
                    method = attrs.get("method", "POST")
                    break
            if redirect is None:
                # The document ran out: Twilio hangs up.
                with self._lock:
                    self._apply_status(self._call(sid), sid, "completed", None, None)
                run.hung_up = True
                return run
            url = redirect
            params = self._voice_params(sid)
        raise RuntimeError(f"more than {MAX_TWIML_REQUESTS} TwiML requests for one call")

    def ring_in(self, *, from_: str, to: str, url: str, sign: bool = True) -> httpx.Response:
        """A customer rings one of the account's numbers (`to`): Twilio asks that
        number's voice URL (`url`, the dialer's /webhooks/twilio/incoming) for
        TwiML, signed, with an inbound call's parameters, and returns its answer."""
        sid = "CA" + secrets.token_hex(16)
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": sid,
            "CallStatus": "ringing",
            "Called": to,
            "Caller": from_,
            "Direction": "inbound",
            "From": from_,
            "To": to,
        }
        return self._deliver(url, "POST", params, sign=sign)

    # ---- callbacks out

    def _deliver(
        self, url: str, method: str, params: dict[str, str], *, sign: bool
    ) -> httpx.Response:
        """Sends a webhook as Twilio does: POST form-encoded, or GET with the
        parameters appended to the query. The signature covers the full URL as
        requested (query string included) plus, for POST, the sorted form pairs."""
        headers = {
            "User-Agent": "TwilioProxy/1.1",
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
        }
        validator = RequestValidator(self.auth_token)
        with httpx.Client(timeout=10, trust_env=False) as http:
            if method.upper() == "GET":
                full_url = _with_query(url, params)
                if sign:
                    headers["X-Twilio-Signature"] = validator.compute_signature(full_url, {})
                return http.get(full_url, headers=headers)
            if sign:
                headers["X-Twilio-Signature"] = validator.compute_signature(url, params)
            return http.post(url, data=params, headers=headers)

    # ---- state helpers (call with the lock held)

    def _call(self, sid: str) -> dict[str, Any]:
        try:
            return self.calls[sid]
        except KeyError:
            raise KeyError(f"no call {sid} on this FakeTwilio") from None

    def _dial_due(self) -> None:
        """Stamps StartTime on the calls whose wait in the queue is over."""
        if not self._undialled:
            return
        now = self.clock()
        for sid in list(self._undialled):
            meta = self._meta[sid]
            if meta.started_at is not None:
                self._undialled.discard(sid)
            elif meta.dial_at is not None and meta.dial_at <= now:
                meta.started_at = meta.dial_at
                self.calls[sid]["start_time"] = rfc2822(meta.dial_at)
                self._undialled.discard(sid)

    def _apply_status(
        self,
        call: dict[str, Any],
        sid: str,
        status: str,
        answered_by: str | None,
        duration: int | None,
    ) -> None:
        meta = self._meta[sid]
        now = self.clock()
        call["status"] = status
        call["date_updated"] = rfc2822(now)
        if status != "queued" and meta.started_at is None:
            meta.started_at = now
            call["start_time"] = rfc2822(now)
        if status == "in-progress" and meta.answered_at is None:
            meta.answered_at = now
        if status in TERMINAL_STATUSES:
            if meta.ended_at is None:
                meta.ended_at = now
                call["end_time"] = rfc2822(now)
            if duration is None:
                talked = (now - meta.answered_at).total_seconds() if meta.answered_at else 0
                duration = int(talked) if status == "completed" else 0
            call["duration"] = str(duration)
        elif duration is not None:
            call["duration"] = str(duration)
        if answered_by is not None:
            call["answered_by"] = answered_by

    def _new_call(self, form: dict[str, list[str]]) -> tuple[str, dict[str, Any]]:
        sid = "CA" + secrets.token_hex(16)
        now = self.clock()
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{sid}"
        # Every field of the spec's call schema is present (null unless known),
        # so the adapter meets the same keys it will meet in production.
        resource: dict[str, Any] = dict.fromkeys(self.spec.call_fields)
        resource.update(
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "api_version": API_VERSION,
                "date_created": rfc2822(now),
                "date_updated": rfc2822(now),
                "to": form["To"][0],
                "to_formatted": form["To"][0],
                "from": form["From"][0],
                "from_formatted": form["From"][0],
                "status": "queued",
                "direction": "outbound-api",
                "price_unit": "USD",
                "queue_time": "0",
                "uri": f"{base}.json",
                "subresource_uris": {
                    name: f"{base}/{suffix}.json"
                    for name, suffix in (
                        ("notifications", "Notifications"),
                        ("recordings", "Recordings"),
                        ("payments", "Payments"),
                        ("events", "Events"),
                        ("siprec", "Siprec"),
                        ("streams", "Streams"),
                        ("transcriptions", "Transcriptions"),
                        ("user_defined_message_subscriptions", "UserDefinedMessageSubscriptions"),
                        ("user_defined_messages", "UserDefinedMessages"),
                    )
                },
            }
        )
        resource["_params"] = {k: list(v) for k, v in form.items()}
        self.calls[sid] = resource
        hold = self._holds.popleft() if self._holds else 0.0
        self._meta[sid] = _CallMeta(
            created_at=now, order=len(self._meta), dial_at=now + timedelta(seconds=hold)
        )
        self._undialled.add(sid)
        return sid, resource

    # ---- HTTP in

    def _handle(self, handler: _Handler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode("utf-8") if length else ""
        attempt: CreateAttempt | None = None
        if method == "POST" and _CREATE_PATH.match(parts.path):
            with self._lock:
                # Stamped under the lock, so list order and `at` order agree.
                attempt = CreateAttempt(params=_parse_form(body), at=time.monotonic())
                self.creates.append(attempt)

        status: int = 500
        payload: Mapping[str, Any] = {}
        headers: Mapping[str, str] = {}
        try:
            self._sleep(random.uniform(*self.latency))
            self._authenticate(handler.headers.get("Authorization"))
            status, payload = self._route(method, parts.path, parts.query, body, attempt)
        except TwilioApiError as error:
            status, payload, headers = error.status, error.body(), error.headers
        if attempt is not None:
            with self._lock:
                attempt.status_code = status
        self._respond(handler, status, payload, headers)

    def _route(
        self,
        method: str,
        path: str,
        query: str,
        body: str,
        attempt: CreateAttempt | None,
    ) -> tuple[int, dict[str, Any]]:
        if match := _CREATE_PATH.match(path):
            self._check_account(match["account"])
            if method == "POST" and attempt is not None:
                return self._create(attempt)
            if method == "GET":
                return 200, self._list(path, _parse_form(query))
        elif match := _CALL_PATH.match(path):
            self._check_account(match["account"])
            if method == "GET":
                return 200, self._public(self._find(match["sid"], path))
            if method == "POST":
                return 200, self._update(match["sid"], path, _parse_form(body))
        else:
            raise TwilioApiError(404, 20404, f"The requested resource {path} was not found")
        raise TwilioApiError(405, 20004, f"Method {method} not allowed on {path}")

    def _authenticate(self, header: str | None) -> None:
        """HTTP Basic with AccountSid:AuthToken, as the SDK sends it."""
        expected = (self.account_sid, self.auth_token)
        user, password = "", ""
        if header and header.startswith("Basic "):
            try:
                decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            user, _, password = decoded.partition(":")
        if (user, password) != expected:
            raise TwilioApiError(
                401, 20003, "Authenticate", headers={"WWW-Authenticate": 'Basic realm="Twilio API"'}
            )

    def _check_account(self, account: str) -> None:
        # Credentials for one account do not open another account's resources.
        if account != self.account_sid:
            raise TwilioApiError(401, 20003, "Authenticate")

    def _create(self, attempt: CreateAttempt) -> tuple[int, dict[str, Any]]:
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
            stall = None if failure else (self._stalls.popleft() if self._stalls else None)
        if failure is not None:
            headers = {}
            if failure.retry_after is not None:
                headers["Retry-After"] = f"{failure.retry_after:g}"
            message = _ERROR_MESSAGES.get(failure.status, "Simulated failure")
            raise TwilioApiError(failure.status, failure.code, message, headers=headers)

        if stall is not None and not stall.create:
            self._sleep(stall.delay)
            raise TwilioApiError(504, 20504, "Gateway Timeout")

        form = attempt.params
        _validate(self.spec.create, form)
        # Beyond the schema: say how to run the call, in exactly one way.
        handlers = [name for name in ("Url", "Twiml", "ApplicationSid") if form.get(name)]
        if not handlers:
            raise _bad(21205, "Url, Twiml or ApplicationSid is required to create a call.")
        if len(handlers) > 1:
            raise _bad(21200, f"Give only one of Url, Twiml, ApplicationSid; got {handlers}.")
        _check_endpoint("To", form["To"][0], 21211)
        _check_endpoint("From", form["From"][0], 21212)
        self._refusal_for(form)
        with self._lock:
            sid, resource = self._new_call(form)
            attempt.sid = sid
            payload = self._public(resource)
        if stall is not None:  # created, and now the answer is late
            self._sleep(stall.delay)
        return 201, payload

    def _update(self, sid: str, path: str, form: dict[str, list[str]]) -> dict[str, Any]:
        _validate(self.spec.update, form)
        if form.get("Url") and form.get("Twiml"):
            raise _bad(21200, "Twiml and Url are mutually exclusive.")
        with self._lock:
            call = self._find(sid, path)
            if "Status" in form:
                self._apply_status(call, sid, form["Status"][0], None, None)
            for name, values in form.items():
                if name != "Status":
                    call["_params"][name] = list(values)
            return self._public(call)

    def _find(self, sid: str, path: str) -> dict[str, Any]:
        with self._lock:
            self._dial_due()
            if sid not in self.calls:
                raise TwilioApiError(404, 20404, f"The requested resource {path} was not found")
            return self.calls[sid]

    def _list(self, path: str, query: dict[str, list[str]]) -> dict[str, Any]:
        def one(name: str) -> str | None:
            values = query.get(name)
            return values[0] if values else None

        with self._lock:
            failed = self._list_failures.popleft() if self._list_failures else None
        if failed is not None:
            code = _DEFAULT_ERROR_CODES.get(failed, failed)
            raise TwilioApiError(failed, code, _ERROR_MESSAGES.get(failed, "Simulated failure"))
        status = one("Status")
        if status is not None and status not in self.spec.call_statuses:
            raise _bad(20001, f"Invalid Status {status!r}.")
        page_size = _int_param("PageSize", one("PageSize") or "50", 1, 1000)
        page = _int_param("Page", one("Page") or "0", 0, None)
        # Date filters, as Twilio documents them: `StartTime` matches a UTC day (the
        # date part of the value); `StartTime>` / `StartTime<` are inclusive bounds
        # (the URL reads `StartTime>=...`), a bare date meaning its midnight UTC.
        # The SDK sends any date or datetime as YYYY-MM-DDTHH:MM:SSZ.
        windows = {
            "start": _time_window(query, "StartTime"),
            "end": _time_window(query, "EndTime"),
        }

        with self._lock:
            self._dial_due()
            rows = []
            for sid, call in self.calls.items():
                meta = self._meta[sid]
                if one("To") is not None and call["to"] != one("To"):
                    continue
                if one("From") is not None and call["from"] != one("From"):
                    continue
                if one("ParentCallSid") is not None and call["parent_call_sid"] != one(
                    "ParentCallSid"
                ):
                    continue
                if status is not None and call["status"] != status:
                    continue
                # A call not dialled yet has no StartTime: no StartTime filter matches it.
                if not windows["start"](meta.started_at) or not windows["end"](meta.ended_at):
                    continue
                rows.append((meta.created_at, meta.order, call))
            rows.sort(key=lambda row: (row[0], row[1]), reverse=True)  # newest first, as Twilio
            chosen = [self._public(call) for _, _, call in rows[page * page_size :][:page_size]]
            has_next = len(rows) > (page + 1) * page_size

        filters = [
            (k, v)
            for k, vs in query.items()
            if k not in ("Page", "PageSize", "PageToken")
            for v in vs
        ]

        def page_uri(number: int, token: str | None = None) -> str:
            pairs = [*filters, ("PageSize", str(page_size)), ("Page", str(number))]
            if token:
                pairs.append(("PageToken", token))
            return f"{path}?{urlencode(pairs)}"

        start = page * page_size
        return {
            "calls": chosen,
            "end": start + len(chosen) - 1 if chosen else start,
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1, "PA" + chosen[-1]["sid"]) if has_next else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": page_uri(page - 1, "PB" + chosen[0]["sid"])
            if page > 0 and chosen
            else None,
            "start": start,
            "uri": page_uri(page),
        }

    @staticmethod
    def _public(call: Mapping[str, Any]) -> dict[str, Any]:
        """The resource as Twilio returns it: a copy, without our `_params`."""
        return copy.deepcopy({k: v for k, v in call.items() if k != "_params"})

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    @staticmethod
    def _respond(
        handler: _Handler, status: int, payload: Mapping[str, Any], headers: Mapping[str, str]
    ) -> None:
        data = json.dumps(payload).encode("utf-8")
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(data)))
            handler.send_header("Twilio-Request-Id", "RQ" + secrets.token_hex(16))
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout fired during a stall): nothing to tell.
            handler.close_connection = True


# ----------------------------------------------------------------------- helpers


def _first(params: Mapping[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def _parse_form(text: str) -> dict[str, list[str]]:
    """Form or query pairs, every key's values kept in order (keys repeat for lists)."""
    return parse_qs(text, keep_blank_values=True) if text else {}


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    extra = urlencode(list(params.items()))
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def _int_param(name: str, value: str, minimum: int, maximum: int | None) -> int:
    try:
        number = int(value)
    except ValueError:
        raise _bad(20001, f"{name} must be an integer, got {value!r}.") from None
    if number < minimum or (maximum is not None and number > maximum):
        raise _bad(20001, f"{name} {number} is out of range.")
    return number


def _parse_moment(name: str, value: str) -> datetime:
    """A filter value as an aware UTC datetime (a bare date: its midnight)."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(20001, f"{name} is not a date: {value!r}.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _bound(suffix: str, moment: datetime) -> Callable[[datetime], bool]:
    if suffix == ">":
        return lambda t: t >= moment
    if suffix == "<":
        return lambda t: t <= moment
    # "On this date", however the SDK rendered it (a datetime at 00:00:00Z).
    return lambda t: t.astimezone(UTC).date() == moment.date()


def _time_window(
    query: Mapping[str, list[str]], field_name: str
) -> Callable[[datetime | None], bool]:
    """A predicate for one of StartTime / EndTime and their `>` / `<` forms."""
    checks: list[Callable[[datetime], bool]] = []
    for suffix in ("", ">", "<"):
        name = field_name + suffix
        if name not in query:
            continue
        checks.append(_bound(suffix, _parse_moment(name, query[name][0])))

    def accept(moment: datetime | None) -> bool:
        if not checks:
            return True
        return moment is not None and all(check(moment) for check in checks)

    return accept


def point_client(client: Client, base_url: str) -> Client:
    """Makes `client` send its Api-domain requests (all of /2010-04-01) to `base_url`."""
    client.api.base_url = base_url.rstrip("/")
    # Client.get_hostname() rewrites the host when edge or region is set (also
    # from TWILIO_EDGE / TWILIO_REGION); that would turn 127.0.0.1 into nonsense.
    client.edge = None
    client.region = None
    return client


class RewritingHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio ships no types
    """A TwilioHttpClient that sends `*.twilio.com` requests to `base_url` instead.

    It works below all of the SDK's URL building (domain, version, edge/region),
    so a `Client` needs no other change. `last_response` (per thread) keeps the
    last answer with its headers, which TwilioRestException does not carry."""

    def __init__(self, base_url: str, *, timeout: float | None = None) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")
        self._local = threading.local()

    @property
    def last_response(self) -> Any:
        return getattr(self._local, "response", None)

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Any:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if host == "twilio.com" or host.endswith(".twilio.com"):
            target = urlsplit(self.base_url)
            url = urlunsplit(
                (target.scheme, target.netloc, target.path + parts.path, parts.query, "")
            )
        self._local.response = None
        response = super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )
        self._local.response = response
        return response


def rewrite_client(base_url: str, *, timeout: float | None = None) -> RewritingHttpClient:
    """An http_client for `Client(..., http_client=rewrite_client(fake.base_url))`."""
    return RewritingHttpClient(base_url, timeout=timeout)


__all__ = [
    "ANSWERED_BY",
    "CALLBACK_STATUSES",
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "DEFAULT_FACTS_PATH",
    "CreateAttempt",
    "FakeTwilio",
    "RewritingHttpClient",
    "TwilioApiError",
    "load_facts",
    "point_client",
    "rewrite_client",
    "rfc2822",
]
