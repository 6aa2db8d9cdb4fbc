from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from dialer.clock import wall_now
from dialer.db import Work, is_postgres
from dialer.errors import Forbidden, NotFound
from dialer.telephony import webhooks
from dialer.telephony.batching import CallbackBatcher
from dialer.telephony.twilio import signature_valid
from dialer.web import app_path, get_runtime

if TYPE_CHECKING:
    # Handed to routes by the app; the wiring builds it.
    from dialer.runtime import Runtime

log = logging.getLogger("dialer.webhooks")

router = APIRouter(prefix="/webhooks/twilio", tags=["twilio webhooks"])

# Every webhook is signed and names its call; no bearer token.
_SIGNED: dict[int | str, dict[str, Any]] = {
    403: {"description": "X-Twilio-Signature is missing or does not match (`bad_signature`)"},
    404: {"description": "no call with this CallSid (`not_found`)"},
}

T = TypeVar("T")

_FORM = {
    "requestBody": {
        "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}
    }
}


# SQLite has one writer. Forty threads of a worker each waiting on it in SQLite's
# busy handler (which sleeps 1, 2, 5, 10… ms between tries) leave it idle between
# callbacks; queued here they are woken the moment the one before commits.
_SQLITE_WRITERS = threading.BoundedSemaphore(1)


def _sqlite_writer(runtime: Runtime) -> AbstractContextManager[object]:
    return nullcontext() if is_postgres(runtime.db) else _SQLITE_WRITERS


def _batcher(runtime: Runtime) -> CallbackBatcher:
    """One writer per runtime (per web worker process), made on first use."""
    with _batcher_lock:
        if runtime.callback_batcher is None:

            def now_in_work(work: Work) -> datetime:
                # The system clock needs no session: the fast path stays ORM-free.
                sim = runtime.simulated_clock
                return sim.now_in(work.session) if sim is not None else wall_now()

            runtime.callback_batcher = CallbackBatcher(
                runtime.db, apply=webhooks.on_status_fast, now_in_work=now_in_work
            )
        return runtime.callback_batcher


_batcher_lock = threading.Lock()


def _signed_url(*, public_url: str, scope: Scope) -> str:
    """The URL Twilio signed: DIALER_PUBLIC_URL + the app's path + the query string
    exactly as sent. DIALER_PUBLIC_URL is where Twilio reaches the app, so behind a
    proxy that strips a prefix it ends with that prefix already: the path below
    the root path is added, or the prefix would be doubled."""
    query = scope.get("query_string", b"").decode("latin-1")
    return public_url.rstrip("/") + app_path(scope) + (f"?{query}" if query else "")


async def _verified(request: Request, runtime: Runtime) -> dict[str, str]:
    """The form, once `X-Twilio-Signature` matches DIALER_PUBLIC_URL + path + query
    exactly as given to Twilio, over every parameter, blank ones included, with
    TWILIO_AUTH_TOKEN or, during a rotation, TWILIO_AUTH_TOKEN_SECONDARY."""
    body = (await request.body()).decode("utf-8", "replace")
    params: dict[str, list[str]] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        params.setdefault(key, []).append(value)
    url = _signed_url(public_url=runtime.settings.public_url, scope=request.scope)
    signature = request.headers.get("x-twilio-signature")
    if not any(
        signature_valid(auth_token=token, url=url, params=params, signature=signature)
        for token in runtime.settings.twilio_auth_tokens
    ):
        log.warning("rejected %s: %s X-Twilio-Signature", request.url.path,
                    "bad" if signature else "no")  # fmt: skip
        raise Forbidden("X-Twilio-Signature does not match this request", code="bad_signature")
    return {key: values[-1] for key, values in params.items()}


async def _in_transaction(
    runtime: Runtime, work: Callable[[Session, dict[str, str]], T], params: dict[str, str]
) -> T:
    """One write transaction, off the event loop."""

    def run() -> T:
        with runtime.db.write() as session:
            return work(session, params)

    try:
        return await run_in_threadpool(run)
    except NotFound:
        log.warning("webhook for an unknown call: CallSid=%s", params.get("CallSid"))
        raise


@router.post(
    "/status", status_code=204, response_class=Response, openapi_extra=_FORM, responses=_SIGNED
)
async def status_callback(request: Request) -> Response:
    """Twilio's StatusCallback: call progress, idempotent and order-proof."""
    runtime = get_runtime(request)
    params = await _verified(request, runtime)
    call_param = request.query_params.get("call")
    done = await asyncio.wrap_future(_batcher(runtime).submit(call_param=call_param, params=params))
    if done is not None:
        return Response(status_code=204)

    def apply() -> bool:
        with _sqlite_writer(runtime), runtime.db.write() as session:
            call = webhooks.find_call(
                session, call_param=call_param, call_sid=params.get("CallSid")
            )
            return webhooks.on_status(session, call=call, params=params, now_in=runtime.now_in)

    try:
        await run_in_threadpool(apply)
    except NotFound:
        log.warning("status callback for an unknown call: CallSid=%s", params.get("CallSid"))
        raise
    return Response(status_code=204)


@router.post(
    "/amd", status_code=204, response_class=Response, openapi_extra=_FORM, responses=_SIGNED
)
async def amd_callback(request: Request) -> Response:
    """Async answering-machine detection: a machine is hung up on, once its
    outcome is committed (off the event loop, like the transaction)."""
    runtime = get_runtime(request)
    params = await _verified(request, runtime)

    def apply(session: Session, params: dict[str, str]) -> None:
        call = webhooks.find_call(
            session, call_param=request.query_params.get("call"), call_sid=params.get("CallSid")
        )
        webhooks.on_amd(
            session, call=call, params=params, now_in=runtime.now_in, telephony=runtime.telephony
        )

    await _in_transaction(runtime, apply, params)
    return Response(status_code=204)


_TWIML: dict[int | str, dict[str, Any]] = {200: {"content": {"application/xml": {}}}, **_SIGNED}


def _held(value: str | None) -> int:
    """Seconds the customer has been held for the AMD verdict (our own Redirect
    adds it); anything else counts as the bound reached."""
    if value is None:
        return 0
    if value.isdigit() and len(value) < 4:
        return int(value)
    return webhooks.AMD_HOLD_SECONDS


@router.post("/voice", response_class=Response, openapi_extra=_FORM, responses=_TWIML)
async def voice(request: Request) -> Response:
    """The call was answered: TwiML holding the customer for the AMD verdict,
    bridging them to the agent, or reading the campaign's message."""
    runtime = get_runtime(request)
    params = await _verified(request, runtime)
    held = _held(request.query_params.get("held"))

    def answer(session: Session, params: dict[str, str]) -> str:
        call = webhooks.find_call(
            session, call_param=request.query_params.get("call"), call_sid=params.get("CallSid")
        )
        return webhooks.voice_twiml(
            session,
            call=call,
            now_in=runtime.now_in,
            agent_ring_timeout=runtime.settings.agent_ring_timeout_seconds,
            held=held,
        )

    twiml = await _in_transaction(runtime, answer, params)
    return Response(twiml, media_type="application/xml")


@router.post("/incoming", response_class=Response, openapi_extra=_FORM,
             responses={200: {"content": {"application/xml": {}}}, 403: _SIGNED[403]})  # fmt: skip
async def incoming(request: Request) -> Response:
    """A customer rings a campaign's caller id (`To`): TwiML bridging them to the
    promise's owner, the agent who last spoke with them, or any free agent of the
    campaign, who receives the lead; nobody free: the campaign's message, and a
    callback booked as soon as possible."""
    runtime = get_runtime(request)
    params = await _verified(request, runtime)

    def answer() -> str:
        with _sqlite_writer(runtime), runtime.db.work() as work:
            return webhooks.incoming_twiml(
                work,
                params=params,
                provider="twilio",
                now_in=runtime.now_in,
                region=runtime.settings.default_region,
                claim_ttl=runtime.claim_ttl,
                ring_timeout=runtime.settings.agent_ring_timeout_seconds,
            )

    twiml = await run_in_threadpool(answer)
    return Response(twiml, media_type="application/xml")


@router.post("/dial", response_class=Response, openapi_extra=_FORM, responses=_TWIML)
async def dial_action(request: Request) -> Response:
    """`<Dial action>`: how the bridge to the agent ended (`DialCallStatus`); an
    agent who did not pick up is set `not_answering` and the customer hears the
    campaign's message."""
    runtime = get_runtime(request)
    params = await _verified(request, runtime)

    def answer(session: Session, params: dict[str, str]) -> str:
        call = webhooks.find_call(
            session, call_param=request.query_params.get("call"), call_sid=params.get("CallSid")
        )
        return webhooks.on_dial(session, call=call, params=params, now_in=runtime.now_in)

    twiml = await _in_transaction(runtime, answer, params)
    return Response(twiml, media_type="application/xml")


@router.post("/fallback", response_class=Response, openapi_extra=_FORM, responses=_TWIML)
async def fallback(request: Request) -> Response:
    """Twilio's FallbackUrl, asked when the voice webhook fails: the campaign's
    message, in its language. Answers a message (200) even when the call cannot
    be found or recorded: the database is what failed, most likely."""
    runtime = get_runtime(request)
    params = await _verified(request, runtime)

    def answer(session: Session, params: dict[str, str]) -> str:
        call = webhooks.find_call(
            session, call_param=request.query_params.get("call"), call_sid=params.get("CallSid")
        )
        return webhooks.fallback_twiml(session, call=call, params=params, now_in=runtime.now_in)

    try:
        twiml = await _in_transaction(runtime, answer, params)
    except Exception:
        # Twilio would read its English "application error" on any failure here.
        log.exception(
            "fallback for call=%s could not be recorded", request.query_params.get("call")
        )
        twiml = webhooks.last_resort_message()
    return Response(twiml, media_type="application/xml")
