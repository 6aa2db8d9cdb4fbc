"""Twilio, through the official SDK. The only module that imports `twilio`.

Never dial twice by accident. Twilio's call create has no idempotency key, so:
- the attempt (the `call` row) is committed before the API is asked, and its id
  is in every callback URL, so whatever Twilio reports can find it;
- tenacity retries only what cannot have created a call: a connection that was
  never made, and HTTP 429 (error 20429, honouring Retry-After), a few times;
- a timeout or a 5xx may have created the call. It is not sent again: the call
  is looked up (calls to that number from the campaign's caller id created since
  the attempt, dialled or still waiting in Twilio's queue) and adopted, or left
  `provider_error = "unknown"` for status callbacks and the reconciliation tick
  to settle;
- every create, first or retried, waits for a pacing slot (`pacing.py`).

The REST client is per thread: the SDK's client keeps the last response on
itself, and several threads dial at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from sqlalchemy.orm import Session
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.voice_response import Dial, VoiceResponse

from dialer.calls.models import AnsweredBy, Call, CallStatus
from dialer.campaign.models import Campaign
from dialer.clock import wall_now
from dialer.db import Database
from dialer.errors import Conflict
from dialer.failing import FailingRows
from dialer.settings import Settings, TelephonyMode
from dialer.telephony.base import (
    SENDING,
    CreateNotPlaced,
    CreateUnknown,
    ProviderCall,
)
from dialer.telephony.faults import fault_of
from dialer.telephony.pacing import Budget, wait_for_slot

log = logging.getLogger("dialer.twilio")

STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]
# A create is tried at most this many times, and never for longer than this.
MAX_CREATE_TRIES = 5
MAX_CREATE_SECONDS = 60.0
# Looking a call up after an unknown answer: creates are seconds apart at most.
LOOKUP_SKEW = timedelta(seconds=120)
# Calls one look-up reads per question (queued, dialled): a number has a handful.
LOOKUP_LIMIT = 50
# No call lasts longer: Twilio's default TimeLimit (4 h), which the dialer does not
# override. An answered call with no final status after this is asked about.
MAX_CALL_SECONDS = 4 * 3600
# What a manager's test call says (POST /api/campaigns/{id}/test-call).
TEST_CALL_MESSAGE = "This is a test call from the dialer. Calls can be placed. Goodbye."
# Async AMD gives its verdict within this many seconds of the answer (Twilio's
# MachineDetectionTimeout, 3-59, default 30): the customer is held on the line
# meanwhile, so the verdict must come inside the hold's bound (webhooks.py).
AMD_VERDICT_SECONDS = 8


# --- Twilio's words for a call's progress, in ours ---

_STATUS: dict[str, CallStatus] = {
    "queued": CallStatus.queued,
    "initiated": CallStatus.queued,
    "ringing": CallStatus.ringing,
    "in-progress": CallStatus.in_progress,
    "answered": CallStatus.in_progress,
    "completed": CallStatus.completed,
    "busy": CallStatus.busy,
    "no-answer": CallStatus.no_answer,
    "failed": CallStatus.failed,
    "canceled": CallStatus.canceled,
}


def status_of(value: str | None) -> CallStatus | None:
    return _STATUS.get((value or "").strip().lower())


def answered_by_of(value: str | None) -> AnsweredBy | None:
    """Twilio's AnsweredBy: `human`, `machine_start`, `machine_end_beep`,
    `machine_end_silence`, `machine_end_other`, `fax`, `unknown`."""
    if not value:
        return None
    value = value.strip().lower()
    if value == "human":
        return AnsweredBy.human
    if value.startswith("machine") or value == "fax":
        return AnsweredBy.machine
    return AnsweredBy.unknown


class _PacedSession(requests.Session):
    """Runs `before_send` (once) when the SDK hands the request over, after the
    SDK has built and encoded it. The pacing wait sits there: the ~2 ms of SDK
    Python before the send, stretched to 13 ms when other threads hold the GIL,
    would otherwise lie between the slot and the wire, which is what put one
    create too many into a second at 50 CPS."""

    def __init__(self) -> None:
        super().__init__()
        self.before_send: Callable[[], None] | None = None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        hook, self.before_send = self.before_send, None
        if hook is not None:
            hook()
        return super().send(request, **kwargs)


class _HeaderKeepingClient(TwilioHttpClient):  # type: ignore[misc]  # untyped SDK
    """Keeps the last response's headers where this thread can read them: a 429's
    Retry-After lives there, and the SDK's exception does not carry it."""

    def __init__(self, *, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.session = _PacedSession()
        self.last_headers: Mapping[str, str] = {}

    def request(self, *args: Any, **kwargs: Any) -> Response:
        response = super().request(*args, **kwargs)
        self.last_headers = dict(response.headers or {})
        return response


def _never_connected(exc: BaseException) -> bool:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        # "Connection refused" or no route: the request never left. A connection
        # dropped after sending ("Connection aborted") may have created a call.
        text = repr(exc)
        return "NewConnectionError" in text or "Connection refused" in text
    return False


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, TwilioRestException):
        return bool(exc.status == 429 or exc.code == 20429)
    return _never_connected(exc)


class TwilioApi:
    def __init__(self, *, account_sid: str, auth_token: str, api_base: str, timeout: float) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout
        self._local = threading.local()

    def _client(self) -> tuple[Client, _HeaderKeepingClient]:
        if not hasattr(self._local, "client"):
            http = _HeaderKeepingClient(timeout=self.timeout)
            client = Client(self.account_sid, self.auth_token, http_client=http)
            # TWILIO_API_BASE: the Api domain's base URL (a test server in tests).
            client.api.base_url = self.api_base
            # An edge or region (also from TWILIO_EDGE/TWILIO_REGION) makes the SDK
            # rewrite the host name, which would undo TWILIO_API_BASE.
            client.edge = None
            client.region = None
            self._local.client = (client, http)
        found: tuple[Client, _HeaderKeepingClient] = self._local.client
        return found

    def retry_after(self) -> float | None:
        _client, http = self._client()
        value = {k.lower(): v for k, v in http.last_headers.items()}.get("retry-after")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    def create(self, params: dict[str, Any], *, before_send: Callable[[], None]) -> str:
        """`before_send` runs right before the request goes out (the pacing wait);
        what it raises comes out of here, nothing sent."""
        client, http = self._client()
        session: _PacedSession = http.session
        session.before_send = before_send
        try:
            created = client.calls.create(**params)
        finally:
            session.before_send = None
        return str(created.sid)

    def find(self, *, to: str, from_: str | None, since: datetime) -> list[ProviderCall]:
        """Calls to `to` (from `from_`) created at `since` or later, oldest first.

        Twilio's list filters by StartTime, and a call still waiting in the
        account's queue for a CPS slot has none: a StartTime filter alone misses
        exactly the call that is about to ring. So two questions: the queued calls
        (no time filter), then those dialled since `since` (a call leaving the
        queue between the two is in the second). There is no DateCreated filter,
        and the resource does not show our callback URLs: the creation time is
        checked here."""
        client, _http = self._client()
        filters: dict[str, Any] = {"to": to, "limit": LOOKUP_LIMIT}
        if from_:
            filters["from_"] = from_
        # The SDK writes an aware datetime's wall time labelled Z: UTC first.
        since = since.astimezone(UTC)
        waiting = client.calls.list(status="queued", **filters)
        dialled = client.calls.list(start_time_after=since, **filters)
        found: dict[str, ProviderCall] = {}
        for resource in [*waiting, *dialled]:
            call = _provider_call(resource)
            if call.created_at is None or call.created_at >= since:
                found.setdefault(call.sid, call)
        return sorted(found.values(), key=lambda c: c.created_at or since)

    def fetch(self, sid: str) -> ProviderCall:
        client, _http = self._client()
        return _provider_call(client.calls(sid).fetch())

    def hang_up(self, sid: str, *, answered: bool) -> None:
        """Twilio ends a ringing call with `canceled`, an answered one with `completed`."""
        client, _http = self._client()
        client.calls(sid).update(status="completed" if answered else "canceled")


def _provider_call(resource: Any) -> ProviderCall:
    created = resource.date_created
    if isinstance(created, str):
        created = parsedate_to_datetime(created)
    duration = resource.duration
    return ProviderCall(
        sid=str(resource.sid),
        to=str(resource.to),
        status=status_of(str(resource.status)),
        answered_by=answered_by_of(resource.answered_by),
        duration=int(duration) if duration not in (None, "") else None,
        created_at=created,
    )


class TwilioTelephony:
    name = "twilio"

    def __init__(
        self,
        *,
        api: TwilioApi,
        public_url: str,
        ring_timeout: int,
        account_cps: float,
        max_call_seconds: int = MAX_CALL_SECONDS,
    ) -> None:
        self.api = api
        self.public_url = public_url.rstrip("/")
        self.ring_timeout = ring_timeout
        self.account_cps = account_cps
        self.max_call_seconds = max_call_seconds

    # --- in the request's transaction: the attempt is a row, nothing is sent ---

    def place_call(
        self, session: Session, *, call: Call, campaign: Campaign, now: datetime
    ) -> None:
        """Nothing leaves the process inside a transaction: `dial` sends after the
        attempt is committed. Until it has Twilio's answer the attempt is marked
        `sending`, so reconciliation leaves a create that is still waiting for
        its pacing slot alone."""
        call.provider_error = SENDING

    def next_due_at(self, session: Session, *, skip: Collection[int] = ()) -> datetime | None:
        return None

    def run_due(self, session: Session, *, now: datetime, failing: FailingRows) -> int:
        return 0

    # --- after commit ---

    def callback_urls(self, call_id: int) -> dict[str, str]:
        return {
            "url": f"{self.public_url}/webhooks/twilio/voice?call={call_id}",
            "status_callback": f"{self.public_url}/webhooks/twilio/status?call={call_id}",
            "fallback_url": f"{self.public_url}/webhooks/twilio/fallback?call={call_id}",
            "async_amd_status_callback": f"{self.public_url}/webhooks/twilio/amd?call={call_id}",
        }

    def create_params(self, *, call: Call, campaign: Campaign) -> dict[str, Any]:
        assert call.id is not None
        urls = self.callback_urls(call.id)
        params: dict[str, Any] = {
            "to": call.to,
            "from_": campaign.caller_id,
            "url": urls["url"],
            "method": "POST",
            # Asked when the voice webhook fails or times out: the customer hears
            # the campaign's message, not Twilio's English "application error".
            "fallback_url": urls["fallback_url"],
            "fallback_method": "POST",
            "status_callback": urls["status_callback"],
            "status_callback_method": "POST",
            "status_callback_event": STATUS_EVENTS,
            "timeout": self.ring_timeout,
        }
        if campaign.machine_detection:
            params.update(
                machine_detection="Enable",
                async_amd="true",
                async_amd_status_callback=urls["async_amd_status_callback"],
                async_amd_status_callback_method="POST",
                machine_detection_timeout=AMD_VERDICT_SECONDS,
            )
        return params

    def test_call_params(self, *, to: str, campaign: Campaign) -> dict[str, Any]:
        response = VoiceResponse()
        response.say(TEST_CALL_MESSAGE)
        response.hangup()
        return {"to": to, "from_": campaign.caller_id, "twiml": str(response), "timeout": 30}

    def send_create(
        self,
        db: Database,
        *,
        params: dict[str, Any],
        campaign: Campaign,
        still_wanted: Callable[[], str | None] = lambda: None,
    ) -> str:
        """Create the call, paced, retrying only what cannot have placed one.
        `still_wanted` is asked after each pacing wait, right before sending: the
        wait can be long, and the do-not-call list, the calling hours or the
        agent may have changed meanwhile (a reason not to send, or None).
        Raises CreateNotPlaced or CreateUnknown; returns the CallSid."""
        budgets = [
            Budget("account", self.account_cps),
            Budget(f"campaign:{campaign.id}", float(campaign.cps)),
        ]

        def last_check() -> None:
            reason = still_wanted()
            if reason is not None:
                raise CreateNotPlaced(f"not sent: {reason}")

        def paced() -> None:
            wait_for_slot(db, budgets=budgets, last_check=last_check)

        def attempt() -> str:
            # What runs between the slot and the send is what can put one create
            # too many into a second: the wait is the last thing before the wire.
            return self.api.create(params, before_send=paced)

        def wait(state: RetryCallState) -> float:
            told = self.api.retry_after()
            if told is not None:
                return min(told, 30.0)
            return float(min(0.2 * 2 ** (state.attempt_number - 1), 2.0))

        retrying = Retrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(MAX_CREATE_TRIES) | stop_after_delay(MAX_CREATE_SECONDS),
            wait=wait,
            reraise=True,
        )
        try:
            return str(retrying(attempt))
        except TwilioRestException as exc:
            if exc.status is not None and exc.status >= 500:
                raise CreateUnknown(f"Twilio answered {exc.status}: {exc.msg}") from exc
            fault = fault_of(provider_code=_int_or_none(exc.code), http_status=exc.status)
            raise CreateNotPlaced(
                f"Twilio refused the call ({exc.status}/{exc.code}): {exc.msg}", fault=fault
            ) from exc
        except requests.exceptions.RequestException as exc:
            if _never_connected(exc):
                raise CreateNotPlaced(f"Twilio unreachable: {exc}") from exc
            raise CreateUnknown(f"no answer from Twilio: {type(exc).__name__}") from exc

    def look_up(self, *, call: Call, taken: Iterable[str]) -> ProviderCall | None:
        """After an unknown create: the earliest call to this number from this
        caller id, created with the attempt or after it, dialled or still queued
        at Twilio, that no other attempt has adopted."""
        # Wall time, not the call's domain time: the provider stamps calls with the
        # real clock, and the dialer's may be simulated.
        since = min(call.created_at, wall_now()) - LOOKUP_SKEW
        taken_sids = set(taken)
        found = self.api.find(to=call.to, from_=call.from_, since=since)
        return next((c for c in found if c.sid not in taken_sids), None)

    # --- after commit, outside any transaction (see dialer.telephony.dialing) ---

    def fetch(self, sid: str) -> ProviderCall:
        return self.api.fetch(sid)

    def hang_up(self, sid: str, *, answered: bool) -> None:
        try:
            self.api.hang_up(sid, answered=answered)
        except (TwilioRestException, requests.exceptions.RequestException) as exc:
            # The call ends anyway when the machine hangs up; the agent is told.
            log.warning("could not hang up %s: %s", sid, exc)


# --- webhooks: signature and TwiML ---


def signature_valid(
    *, auth_token: str | None, url: str, params: Mapping[str, list[str]], signature: str | None
) -> bool:
    if not auth_token or not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, _MultiParams(params), signature))


class _MultiParams(dict[str, list[str]]):
    """Form parameters as the SDK's validator reads repeated ones (`getlist`);
    blank values stay: they are part of what Twilio signed."""

    def getlist(self, name: str) -> list[str]:
        return self[name]


def bridge_twiml(*, endpoint: str, caller_id: str | None, timeout: int, action: str | None) -> str:
    """Ring the agent for `timeout` seconds; Twilio then requests `action` (relative
    to the voice URL) with `DialCallStatus`, and the customer's call goes on with
    the TwiML it answers. No `action`: the call ends with the bridge (an incoming
    call has no attempt of ours to record it on)."""
    response = VoiceResponse()
    if action is None:
        dial = Dial(caller_id=caller_id, timeout=timeout, answer_on_bridge=True)
    else:
        dial = Dial(
            caller_id=caller_id,
            timeout=timeout,
            answer_on_bridge=True,
            action=action,
            method="POST",
        )
    if endpoint.startswith("client:"):
        dial.client(endpoint.removeprefix("client:"))
    elif endpoint.startswith("sip:"):
        dial.sip(endpoint)
    else:
        dial.number(endpoint)
    response.append(dial)
    return str(response)


def message_twiml(*, message: str, voice: str, language: str) -> str:
    """Read `message` once in a named voice, then hang up."""
    response = VoiceResponse()
    response.say(message, voice=voice, language=language)
    response.hangup()
    return str(response)


def hold_twiml(*, seconds: int, redirect: str) -> str:
    """Silence for `seconds`, then ask `redirect` (relative to this URL) again:
    the customer waits on the line while answering-machine detection decides."""
    response = VoiceResponse()
    response.pause(length=seconds)
    response.redirect(redirect, method="POST")
    return str(response)


def hangup_twiml() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


# --- browser softphones: Access Tokens ---


class VoiceTokenRefused(Conflict):
    code = "voice_token_unavailable"


@dataclass(frozen=True, slots=True)
class VoiceToken:
    token: str
    identity: str
    expires_at: datetime


def voice_access_token(
    *,
    account_sid: str,
    api_key_sid: str,
    api_key_secret: str,
    identity: str,
    twiml_app_sid: str | None,
    ttl_seconds: int,
    now: datetime,
) -> VoiceToken:
    """An Access Token letting a browser (Twilio's Voice SDK) register as
    `client:<identity>`, so `<Dial><Client>` rings it, and start calls through
    the TwiML app. Its validity runs from `now`: the SDK would read the wall
    clock itself (`time.time()`), so `nbf` and `exp` (`valid_until`) are given;
    it writes no `iat`, `nbf` is when it was issued."""
    issued = int(now.timestamp())
    expires = issued + ttl_seconds
    token = AccessToken(
        account_sid,
        api_key_sid,
        api_key_secret,
        identity=identity,
        nbf=issued,
        ttl=ttl_seconds,
        valid_until=expires,
    )
    token.add_grant(VoiceGrant(incoming_allow=True, outgoing_application_sid=twiml_app_sid))
    return VoiceToken(
        token=str(token.to_jwt()),
        identity=identity,
        expires_at=datetime.fromtimestamp(expires, tz=UTC),
    )


def voice_token_for(*, settings: Settings, endpoint: str | None, now: datetime) -> VoiceToken:
    """The Access Token of an agent whose endpoint is `client:<identity>`, from
    the settings' API key; refused (409) outside twilio mode, without the key, or
    for an endpoint that is not a Twilio client."""
    if settings.telephony != TelephonyMode.twilio:
        raise VoiceTokenRefused(
            "voice tokens are for Twilio's browser softphone: DIALER_TELEPHONY is"
            f" {settings.telephony.value}, not twilio",
            code="not_twilio_mode",
        )
    account, key, secret = (
        settings.twilio_account_sid,
        settings.twilio_api_key_sid,
        settings.twilio_api_key_secret,
    )
    if not account or not key or not secret:
        missing = [
            name
            for name, value in (
                ("TWILIO_ACCOUNT_SID", account),
                ("TWILIO_API_KEY_SID", key),
                ("TWILIO_API_KEY_SECRET", secret),
            )
            if not value
        ]
        raise VoiceTokenRefused(
            f"voice tokens are signed with a Twilio API key: set {' and '.join(missing)}",
            code="voice_keys_missing",
        )
    endpoint = endpoint or ""
    identity = endpoint.removeprefix("client:") if endpoint.startswith("client:") else ""
    if not identity:
        raise VoiceTokenRefused(
            "this agent's endpoint is not a Twilio client (client:<identity>), so no"
            " browser rings for it; set its endpoint first",
            code="no_client_endpoint",
        )
    return voice_access_token(
        account_sid=account,
        api_key_sid=key,
        api_key_secret=secret,
        identity=identity,
        twiml_app_sid=settings.twilio_twiml_app_sid,
        ttl_seconds=settings.voice_token_ttl_seconds,
        now=now,
    )
