"""Logging for every process (web workers, the scheduler, the CLI): one format,
secrets and phone numbers masked, a request id on every line a request causes,
and one access line per request (uvicorn's own access log is turned off).

- `DIALER_LOG_FORMAT=json`: one JSON object per line, by python-json-logger (it
  serialises extras, exceptions and stack traces the way collectors expect; a
  hand-written formatter would have to redo each of those). `text` otherwise.
- `MaskFilter` sits on every handler this module configures, so every logger's
  records pass through it, uvicorn's and the libraries' included: bearer tokens,
  `token=` / `ticket=` values and phone numbers are masked before any formatter
  sees the message.
- `request_log` is plain ASGI middleware, not `BaseHTTPMiddleware`: an event
  stream's line is written when the stream ends, with its real duration, and
  nothing is buffered."""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from dialer.settings import LogFormat

access_log = logging.getLogger("dialer.access")

# The id of the request being served, on every record logged while serving it.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

# --- masking ---

_SECRET_PARAMS = ("token", "ticket")
# `token=…` / `ticket=…` in a URL or a message (also `access_token=`): the value
# up to the next separator. `Bearer …` in a logged header.
_SECRET_VALUE = re.compile(r"(?i)\b(\w*(?:token|ticket))=([^&\s\"'<>]+)")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
# A phone number: E.164 (`+` and 8-15 digits) or a national format of 10-15
# digits, each digit followed by at most two of `-. ()`. Not part of a longer
# word or number (a Twilio SID, an id) and not a time (`2026-12-01 10:00`).
_PHONE = re.compile(
    r"(?:(?<![\w+])\+(?:\d[-. ()]{0,2}){7,14}\d"
    r"|(?<![\w:+])\(?(?:\d[-. ()]{0,2}){9,14}\d)(?![\w:])"
)
MASK = "***"


def _mask_phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    keep = 4
    out = []
    for ch in text:
        if ch.isdigit():
            out.append(ch if digits <= keep else "*")
            digits -= 1
        else:
            out.append(ch)
    return "".join(out)


def mask(text: str) -> str:
    """Secrets replaced by `***`, phone numbers by their last 4 digits."""
    text = _SECRET_VALUE.sub(lambda m: f"{m.group(1)}={MASK}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _PHONE.sub(_mask_phone, text)


def masked_query(query: str) -> str:
    """A query string with the values of its secret parameters masked."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    shown = [(key, MASK if key.lower().endswith(_SECRET_PARAMS) else value) for key, value in pairs]
    return mask(urlencode(shown, safe="*:/+@,"))


class MaskFilter(logging.Filter):
    """Masks the message, its arguments and any traceback, in place: the record
    then reads the same to every handler and formatter."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "_dialer_masked", False):
            record.msg = mask(record.getMessage())
            record.args = None
            if record.exc_info:
                record.exc_text = mask(self._formatter.formatException(record.exc_info))
                record.exc_info = None
            elif record.exc_text:
                record.exc_text = mask(record.exc_text)
            if record.stack_info:
                record.stack_info = mask(record.stack_info)
            record._dialer_masked = True
        request_id = request_id_var.get()
        record.request_id = request_id
        # The text format's tail: nothing outside a request.
        record.request_tail = f" request_id={request_id}" if request_id else ""
        return True


class RepeatLimit(logging.Filter):
    """At most one record per key per `every` seconds for messages starting with
    `prefix`; the next one let through says how many were held back. For
    APScheduler's "skipped: maximum number of running instances reached", logged
    on every missed run of a job (four a second at the default tick) while a
    slow tick runs; the runs themselves are counted in a metric."""

    def __init__(self, prefix: str, *, every: float, clock: Callable[[], float]) -> None:
        super().__init__()
        self.prefix = prefix
        self.every = every
        self.clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.msg, str) or not record.msg.startswith(self.prefix):
            return True
        # The job, by its id: its text carries its next run time, new every run.
        subject = record.args[0] if isinstance(record.args, tuple) and record.args else ""
        key = str(getattr(subject, "id", subject))
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.every:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            record.msg = f"{record.getMessage()} ({held} more like it held back)"
            record.args = None
        return True


# --- configuration ---

_TEXT = "%(asctime)s %(levelname)s %(name)s %(message)s%(request_tail)s"
_JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.core import RESERVED_ATTRS
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        _JSON_FIELDS,
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        # MaskFilter's bookkeeping is not a field of the line.
        reserved_attrs=[*RESERVED_ATTRS, "_dialer_masked", "request_tail"],
    )


def config_dict(*, log_format: LogFormat, level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` dict: also handed to uvicorn as its
    `log_config`, which applies it in every worker process it starts."""
    if log_format == LogFormat.json:
        formatter: dict[str, Any] = {"()": "dialer.logs.json_formatter"}
    else:
        formatter = {"format": _TEXT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"mask": {"()": "dialer.logs.MaskFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["mask"],
            }
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            # uvicorn's own records go to the root handler; its access log is
            # replaced by request_log's line.
            "uvicorn": {"handlers": [], "propagate": True, "level": level},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": level},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
            # One line per job run is noise at a tick a second; failures still log.
            "apscheduler": {"level": "WARNING"},
            "alembic.runtime.plugins": {"level": "WARNING"},
            # "Context impl SQLiteImpl" at every schema check; `db upgrade` and the
            # start-up check say what happened in their own one line.
            "alembic.runtime.migration": {"level": "WARNING"},
        },
    }


def configure(*, log_format: LogFormat, level: str = "INFO") -> None:
    import logging.config

    logging.config.dictConfig(config_dict(log_format=log_format, level=level))


# --- request ids and the access line ---

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's X-Request-ID when it is short plain text (a proxy's or a
    client's id then joins up with ours); otherwise a new one."""
    for name, value in headers:
        if name.lower() == b"x-request-id":
            try:
                given = value.decode("ascii")
            except UnicodeDecodeError:
                break
            if _SANE_REQUEST_ID.fullmatch(given):
                return given
            break
    return uuid.uuid4().hex


class RequestLog:
    """ASGI middleware: a request id for every HTTP request (in the
    `X-Request-ID` response header and on every record logged meanwhile), and one
    `dialer.access` line when the response ends."""

    def __init__(self, app: ASGIApp, *, clock: Callable[[], float] = time.perf_counter) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope.get("headers", []))
        token = request_id_var.set(request_id)
        started = self.clock()
        status = 500  # what the server answers if the app fails before starting

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("ascii")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                self._log(scope, status=status, seconds=self.clock() - started)
            request_id_var.reset(token)

    @staticmethod
    def _log(scope: Scope, *, status: int, seconds: float) -> None:
        path = scope.get("path", "")
        query = masked_query(scope.get("query_string", b"").decode("latin-1"))
        target = mask(f"{path}?{query}" if query else path)
        duration_ms = round(seconds * 1000, 1)
        method = scope.get("method", "?")
        access_log.info(
            "%s %s %s %.1fms",
            method,
            target,
            status,
            duration_ms,
            extra={"method": method, "path": target, "status": status, "duration_ms": duration_ms},
        )
