"""The ASGI app (`dialer.app:app`): routers, error rendering, health and metrics."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dialer import __version__
from dialer.admin import router as admin_router
from dialer.agents.routes import floor_router, session_router
from dialer.agents.routes import router as agents_router
from dialer.apidocs import document_errors, offline_app
from dialer.calls.routes import router as calls_router
from dialer.campaign.routes import account_router
from dialer.campaign.routes import router as campaign_router
from dialer.clock import wall_now
from dialer.console.manage import router as manage_router
from dialer.console.routes import router as console_router
from dialer.console.vendor import router as softphone_router
from dialer.conversions.routes import router as conversions_router
from dialer.dnc.routes import router as dnc_router
from dialer.errors import DialerError
from dialer.leads.routes import router as leads_router
from dialer.limits import install_body_limits
from dialer.logs import RequestLog
from dialer.metrics import HTTP_LATENCY, HTTP_REQUESTS, scrape, worker_exited
from dialer.migrations import SchemaNotCurrent
from dialer.promises.routes import router as promises_router
from dialer.reports.routes import router as reports_router
from dialer.runtime import Runtime
from dialer.settings import Settings, SettingsRefused, get_settings
from dialer.telephony import blocks
from dialer.telephony.routes import router as twilio_router
from dialer.views.ops import (
    DueBacklog,
    SchedulerHealth,
    SchedulerStatus,
    dialing_health,
    due_backlog,
    scheduler_health,
)

log = logging.getLogger("dialer")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
}


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


# A list's validator that judges its items together (pause codes given twice)
# names the item at fault as "[2]: …": the field becomes the item's path.
_ITEM_AT_FAULT = re.compile(r"^\[(\d+)\]: ")


def _field_and_message(error: Any) -> tuple[str, str]:
    field = _field_path(tuple(error.get("loc", ())))
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    item = _ITEM_AT_FAULT.match(message)
    if item is not None:
        field = f"{field}.{item.group(1)}" if field != "body" else item.group(1)
        message = message[item.end() :]
    return field, message


def _validation_body(exc: RequestValidationError) -> dict[str, Any]:
    errors = []
    for error in exc.errors():
        field, message = _field_and_message(error)
        errors.append({"field": field, "reason": message})
    first = errors[0] if errors else {"field": "body", "reason": "invalid request"}
    detail = f"{first['field']}: {first['reason']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return {"detail": detail, "code": "validation_error", "field": first["field"], "errors": errors}


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or get_settings()

    startup_refusal: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or Runtime(settings)
        try:
            rt.start()
        except (SchemaNotCurrent, SettingsRefused) as exc:
            startup_refusal.append(str(exc))
            raise
        app.state.runtime = rt
        try:
            yield
        finally:
            if runtime is None:
                rt.close()
            worker_exited(os.getpid())

    # /docs and /redoc from packaged assets, no CDN (dialer/apidocs.py).
    app = offline_app(
        title="Outbound campaign dialer",
        version=__version__,
        description="Lead lists, next-lead queue, kept callbacks, calls, credited conversions.",
        lifespan=lifespan,
    )

    @app.exception_handler(DialerError)
    async def _dialer_error(_request: Request, exc: DialerError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.response_headers())

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        broken = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
        if broken is not None:
            where = broken.get("loc", ("body", "?"))[-1]
            return JSONResponse(
                {
                    "detail": f"body: not valid JSON (at character {where})",
                    "code": "invalid_json",
                    "field": "body",
                },
                status_code=400,
            )
        return JSONResponse(_validation_body(exc), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, str) else code
        return JSONResponse(
            {"detail": detail, "code": code}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(IntegrityError)
    async def _concurrent_change(_request: Request, exc: IntegrityError) -> JSONResponse:
        # The constraints are the last line against races (a phone imported twice at
        # once, a lead claimed twice): the loser's whole transaction was rolled back.
        log.warning("constraint refused a write: %s", exc.orig)
        return JSONResponse(
            {
                "detail": "a concurrent change conflicted with this request; nothing was "
                "written, retry it",
                "code": "concurrent_change",
            },
            status_code=409,
        )

    @app.exception_handler(OperationalError)
    async def _db_unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", exc)
        return JSONResponse(
            {
                "detail": "the database is busy or unreachable; retry shortly",
                "code": "db_unavailable",
            },
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"detail": "internal error", "code": "internal"}, status_code=500)

    @app.middleware("http")
    async def _measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        HTTP_REQUESTS.labels(request.method, path, str(response.status_code)).inc()
        HTTP_LATENCY.labels(request.method, path).observe(time.perf_counter() - started)
        return response

    app.add_middleware(_StartupRefusalInOneLine, refusal=startup_refusal)

    for router in (
        campaign_router,
        account_router,
        leads_router,
        agents_router,
        session_router,
        floor_router,
        calls_router,
        conversions_router,
        dnc_router,
        promises_router,
        reports_router,
        admin_router,
        twilio_router,
        softphone_router,
        console_router,
        manage_router,
    ):
        app.include_router(router)

    install_ops(app)
    # Outside every other middleware but the request log (which reads no body):
    # a body is bounded before anything reads it.
    install_body_limits(app, upload_limit=settings.max_upload_bytes)
    install_request_log(app)
    # Last: every route is in by now, the ops ones included.
    document_errors(app)
    return app


def install_request_log(app: FastAPI) -> None:
    """Outermost: the request id is set before anything else runs, and the access
    line covers every other middleware's time too (dialer.logs.RequestLog)."""
    app.add_middleware(RequestLog)


def _health_body(rt: Runtime) -> tuple[dict[str, Any], int]:
    try:
        with rt.db.read() as session:
            session.execute(text("SELECT 1"))
            scheduler = scheduler_health(session, wall=wall_now())
            dialing = dialing_health(session)
    except Exception as exc:
        log.error("health check failed: %s", exc)
        return {"status": "degraded", "db": "error", "scheduler": None, "dialing": None}, 503
    # A stale scheduler or blocked dialing is reported but answered with 200:
    # load balancers route by this status, and taking every web replica out of
    # rotation would fix neither; alert on the body or on the metrics.
    ok = scheduler.status == SchedulerStatus.ok and dialing["status"] == "ok"
    body = {
        "status": "ok" if ok else "degraded",
        "db": "ok",
        "scheduler": scheduler.public(),
        "dialing": dialing,
    }
    return body, 200


_DB_UP = "1 when this scrape could read the database"


class _SchedulerCollector:
    """Scrape-time figures from the database: the scheduler's heartbeat (it may
    run on another host) and the due work waiting for it."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def collect(self) -> list[Metric]:
        try:
            with self.rt.db.read() as session:
                health = scheduler_health(session, wall=wall_now())
                backlog = due_backlog(session, now=self.rt.now_in(session))
                standing = blocks.all_blocks(session)
        except Exception as exc:
            log.error("metrics: the database could not be read: %s", exc)
            up = GaugeMetricFamily("dialer_db_up", _DB_UP)
            up.add_metric([], 0)
            return [up]
        up = GaugeMetricFamily("dialer_db_up", _DB_UP)
        up.add_metric([], 1)
        return [
            up,
            *_scheduler_metrics(health),
            *_backlog_metrics(backlog),
            _blocked_metric(standing),
        ]


def _blocked_metric(standing: list[blocks.Block]) -> Metric:
    blocked = GaugeMetricFamily(
        "dialer_dialing_blocked",
        "1 per dialing block standing (a provider fault of the account or a campaign's set-up)",
        labels=["scope", "campaign_id", "code"],
    )
    for b in standing:
        blocked.add_metric([b.scope, str(b.campaign_id or ""), b.code], 1)
    return blocked


def _scheduler_metrics(health: SchedulerHealth) -> list[Metric]:
    leader = GaugeMetricFamily(
        "dialer_scheduler_leader",
        "1 for the holder of the unexpired leader lease",
        labels=["holder"],
    )
    if health.leader is not None:
        leader.add_metric([health.leader], 1)
    found: list[Metric] = [leader]
    if health.heartbeat_age_seconds is not None:
        age = GaugeMetricFamily(
            "dialer_scheduler_heartbeat_age_seconds", "Seconds since the leader's last heartbeat"
        )
        age.add_metric([], health.heartbeat_age_seconds)
        found.append(age)
    holder = [health.holder or ""]
    for name, doc, value in (
        (
            "dialer_scheduler_tick_seconds",
            "The longest tick between the leader's last two heartbeats",
            health.tick_seconds,
        ),
        (
            "dialer_scheduler_tick_lag_seconds",
            "The latest a tick started after it was planned, between the last two heartbeats",
            health.tick_lag_seconds,
        ),
    ):
        if value is not None:
            gauge = GaugeMetricFamily(name, doc, labels=["holder"])
            gauge.add_metric(holder, value)
            found.append(gauge)
    if health.holder is not None:
        ticks = CounterMetricFamily(
            "dialer_scheduler_leader_ticks", "Ticks run by the leader", labels=["holder"]
        )
        ticks.add_metric(holder, health.ticks)
        skipped = CounterMetricFamily(
            "dialer_scheduler_leader_skipped_runs",
            "Runs the leader's APScheduler skipped: the previous tick was still running",
            labels=["holder"],
        )
        skipped.add_metric(holder, health.skipped_runs)
        found += [ticks, skipped]
    return found


def _backlog_metrics(backlog: list[DueBacklog]) -> list[Metric]:
    rows = GaugeMetricFamily(
        "dialer_due_rows",
        "Rows due now that no tick has handled yet, by due job (counted up to 10000)",
        labels=["job"],
    )
    oldest = GaugeMetricFamily(
        "dialer_due_oldest_seconds",
        "How long the oldest due row has waited (domain clock), by due job; 0 when none",
        labels=["job"],
    )
    for item in backlog:
        rows.add_metric([item.job], item.rows)
        oldest.add_metric([item.job], item.waited_seconds)
    return [rows, oldest]


def install_ops(app: FastAPI) -> None:
    """/healthz and /metrics: no token, for load balancers and Prometheus."""

    @app.get("/healthz", tags=["ops"])
    def healthz(request: Request) -> JSONResponse:
        """Liveness, the database and the scheduler leader's heartbeat: 200 with
        `status` `ok`, or `degraded` when the heartbeat is stale; 503 when the
        database does not answer."""
        body, status = _health_body(request.app.state.runtime)
        return JSONResponse(body, status_code=status)

    @app.get("/metrics", tags=["ops"], response_class=Response)
    def metrics(request: Request) -> Response:
        """Prometheus text exposition: requests, the scheduler's health and due
        work, the dialer's own counters, summed over every worker."""
        collector = _SchedulerCollector(request.app.state.runtime)
        return Response(scrape(extra=[collector]), media_type=CONTENT_TYPE_LATEST)


class _StartupRefusalInOneLine:
    """A worker started on a schema it was not written for, or with settings it
    refuses, says so in one line (found, needed, what to run or set) instead of
    the lifespan's traceback."""

    def __init__(self, app: ASGIApp, *, refusal: list[str]) -> None:
        self.app = app
        self.refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_one_line(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed" and self.refusal:
                message = {"type": message["type"], "message": self.refusal[-1]}
            await send(message)

        await self.app(scope, receive, send_one_line)


def __getattr__(name: str) -> Any:
    # `dialer.app:app` is built on first access, so importing this module (tests,
    # the CLI) does not read the environment or open a database.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
