"""Request bodies bounded before they are read, and media types refused before
they are parsed: a pure ASGI middleware around the whole app.

Each path has one rule: JSON endpoints take `application/json` up to 1 MiB,
Twilio webhooks take form-encoded bodies up to 64 KiB, and the upload endpoints
(dialer.uploads) take `DIALER_MAX_UPLOAD_MB` plus room for the multipart framing.
A `Content-Length` over the limit is answered 413 before anything is read. A body
sent without one (chunked) is counted as it arrives, and the read that crosses the
limit raises, so the route stops there with 413 and nothing past the limit
is buffered, spooled or parsed.

Uploads check their own media type (dialer.uploads), after the caller is
authenticated: an anonymous upload is answered 401 before its body is read.

Starlette has `RequestBodyLimitMiddleware`, but it has one limit for the whole app
and answers in plain text. This API answers `{detail, code}` and needs a limit per
kind of endpoint, so the counting is done here (a dozen lines)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dialer.web import app_path

JSON_LIMIT = 1 << 20
WEBHOOK_LIMIT = 64 << 10
# An upload's form fields (dialer.uploads.FIELD_LIMIT each, a few of them) and its
# multipart framing, on top of the file's own limit, which dialer.uploads applies
# to the file part exactly.
UPLOAD_ENVELOPE = 256 << 10

# The upload endpoints; tests/test_limits.py holds this to the routes that read
# multipart bodies, so a new upload route cannot be left under the JSON limit.
UPLOAD_PATHS = re.compile(
    r"/api/campaigns/[^/]+/imports(?:/preview)?|/api/dnc/imports|/api/campaigns/[^/]+/conversions/imports"
)
WEBHOOK_PREFIX = "/webhooks/"

JSON_TYPES = "application/json (or a +json type)"
FORM_TYPE = "application/x-www-form-urlencoded"


class BodyTooLarge(HTTPException):
    """Raised from `receive` as the body crosses its limit. An HTTPException, so
    FastAPI's body reading passes it through to the app's handler (`{detail, code}`,
    413) instead of turning it into a 400 parse error."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=too_large_detail(limit))


def too_large_detail(limit: int) -> str:
    return f"the request body is larger than this endpoint's limit of {limit} bytes"


@dataclass(frozen=True, slots=True)
class BodyRule:
    limit: int
    # The media type wanted, checked here; None: the endpoint checks it itself.
    media: str | None


def media_type(headers: Headers) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _is_json(media: str) -> bool:
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _media_ok(media: str, wanted: str) -> bool:
    return _is_json(media) if wanted == JSON_TYPES else media == wanted


def _content_length(headers: Headers) -> int | None:
    value = headers.get("content-length")
    if value is None or not value.strip().isdigit():
        return None  # the server refuses a malformed one before we see it
    return int(value)


def _has_body(headers: Headers, length: int | None) -> bool:
    if length is not None:
        return length > 0
    return "chunked" in headers.get("transfer-encoding", "").lower()


class BodyLimits:
    def __init__(self, app: ASGIApp, *, upload_limit: int) -> None:
        self.app = app
        self.upload = BodyRule(limit=upload_limit + UPLOAD_ENVELOPE, media=None)
        self.webhook = BodyRule(limit=WEBHOOK_LIMIT, media=FORM_TYPE)
        self.json = BodyRule(limit=JSON_LIMIT, media=JSON_TYPES)

    def rule_for(self, path: str) -> BodyRule:
        if UPLOAD_PATHS.fullmatch(path):
            return self.upload
        if path.startswith(WEBHOOK_PREFIX):
            return self.webhook
        return self.json

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        rule = self.rule_for(app_path(scope))
        length = _content_length(headers)
        if length is not None and length > rule.limit:
            await _refuse(scope, receive, send, 413, "too_large", too_large_detail(rule.limit))
            return
        media = media_type(headers)
        wanted = rule.media
        if wanted is not None and _has_body(headers, length) and not _media_ok(media, wanted):
            got = f"{media!r}" if media else "none"
            detail = f"Content-Type must be {wanted} for this endpoint (got {got})"
            await _refuse(scope, receive, send, 415, "unsupported_media_type", detail)
            return

        received = 0
        over = False

        async def counted() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > rule.limit:
                    over = True
                    raise BodyTooLarge(rule.limit)
            return message

        started = replaced = False

        async def watched(message: Message) -> None:
            nonlocal started, replaced
            if replaced:
                return  # the app's own answer to a body it could not finish
            if message["type"] == "http.response.start":
                started = True
                if over:
                    # Whatever the app made of the cut body (a middleware between
                    # may have wrapped our exception in a group, and FastAPI then
                    # answers 400 "error parsing the body"): the answer is 413.
                    replaced = True
                    await _refuse(
                        scope, receive, send, 413, "too_large", too_large_detail(rule.limit)
                    )
                    return
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except Exception:
            # Raised through the app unhandled (BodyTooLarge itself, or inside an
            # ExceptionGroup): answered here, not as a 500.
            if not over or started:
                raise
            await _refuse(scope, receive, send, 413, "too_large", too_large_detail(rule.limit))


async def _refuse(
    scope: Scope, receive: Receive, send: Send, status: int, code: str, detail: str
) -> None:
    await JSONResponse({"detail": detail, "code": code}, status_code=status)(scope, receive, send)


def install_body_limits(app: Starlette, *, upload_limit: int) -> None:
    """Outside every other middleware added before it: nothing reads a body first."""
    app.add_middleware(BodyLimits, upload_limit=upload_limit)
