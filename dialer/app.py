"""The ASGI app (`dialer.app:app`): routers, error rendering, health and metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from dialer import __version__
from dialer.admin import router as admin_router
from dialer.agents.routes import router as agents_router
from dialer.calls.routes import router as calls_router
from dialer.campaign.routes import router as campaign_router
from dialer.conversions.routes import router as conversions_router
from dialer.dnc.routes import router as dnc_router
from dialer.errors import DialerError
from dialer.leads.routes import router as leads_router
from dialer.limits import install_body_limits
from dialer.metrics import HTTP_LATENCY, HTTP_REQUESTS, REGISTRY
from dialer.promises.routes import router as promises_router
from dialer.reports.routes import router as reports_router
from dialer.runtime import Runtime
from dialer.settings import Settings, get_settings
from dialer.telephony.routes import router as twilio_router

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


def _validation_body(exc: RequestValidationError) -> dict[str, Any]:
    errors = []
    for error in exc.errors():
        field = _field_path(tuple(error.get("loc", ())))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        errors.append({"field": field, "reason": message})
    first = errors[0] if errors else {"field": "body", "reason": "invalid request"}
    detail = f"{first['field']}: {first['reason']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return {"detail": detail, "code": "validation_error", "field": first["field"], "errors": errors}


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or Runtime(settings)
        rt.start()
        app.state.runtime = rt
        try:
            yield
        finally:
            if runtime is None:
                rt.close()

    app = FastAPI(
        title="Outbound campaign dialer",
        version=__version__,
        description="Lead lists, next-lead queue, kept callbacks, calls, credited conversions.",
        lifespan=lifespan,
    )

    @app.exception_handler(DialerError)
    async def _dialer_error(_request: Request, exc: DialerError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

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

    for router in (
        campaign_router,
        leads_router,
        agents_router,
        calls_router,
        conversions_router,
        dnc_router,
        promises_router,
        reports_router,
        admin_router,
        twilio_router,
    ):
        app.include_router(router)

    @app.get("/healthz", tags=["ops"])
    def healthz(request: Request) -> JSONResponse:
        rt: Runtime = request.app.state.runtime
        try:
            with rt.db.read() as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:
            log.error("health check failed: %s", exc)
            return JSONResponse({"status": "degraded", "db": "error"}, status_code=503)
        return JSONResponse({"status": "ok", "db": "ok"})

    @app.get("/metrics", tags=["ops"], response_class=Response)
    def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    install_body_limits(app, upload_limit=settings.max_upload_bytes)
    return app


def __getattr__(name: str) -> Any:
    # `dialer.app:app` is built on first access, so importing this module (tests,
    # the CLI) does not read the environment or open a database.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
