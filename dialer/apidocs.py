"""The API's documentation as the service serves it: `/docs` and `/redoc` from the
assets of an installed package (fastapi-offline ships Swagger UI and ReDoc, so the
pages work on a machine with no internet), and `/openapi.json` whose error
responses are the `{detail, code}` body every handler in app.py really sends.

Error responses are derived from what the generated document already says
about each operation, so a new route needs only a docstring (its description)
and, for what the route alone knows, `responses={409: {"description": "..."}}`:

- a bearer token (the `web.ctx` / `web.manager_ctx` dependency): 401, 403, 503;
- a path parameter: 404 (no such id) and 422 (not a valid id);
- query or header parameters: 422, and 400 for a `cursor` this server did not give;
- a JSON body: 400 (not JSON) and 422 (a field is invalid);
- a file upload: 400 (not CSV), 413 (over DIALER_MAX_UPLOAD_MB), 415 (not text);
- every 4xx/5xx a route declares in `responses=`: its description, this body.

FastAPI's own 422 schema (`HTTPValidationError`, which the service never sends)
is replaced and dropped from the document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field

REF = "#/components/schemas/"
_FASTAPI_DEFAULTS = ("HTTPValidationError", "ValidationError")


class FieldError(BaseModel):
    field: str = Field(description="the input at fault, as a dotted path (`retry_policy.busy`)")
    reason: str = Field(description="what is wrong with it, for a person")


class ErrorOut(BaseModel):
    """Every error answer: a sentence for a person and a code for a program.
    Some errors add fields of their own (a refused promise's `suggestions`)."""

    model_config = ConfigDict(extra="allow", title="ErrorOut")

    detail: str = Field(description="a sentence for a person")
    code: str = Field(description="a machine-readable code: `not_found`, `slot_taken`, …")
    field: str | None = Field(
        default=None, description="the input at fault, when one is (422 and most 400s)"
    )
    errors: list[FieldError] | None = Field(
        default=None, description="422: every invalid input, the first one is `field`"
    )
    suggestions: list[str] | None = Field(
        default=None,
        description="409 `slot_taken` / `outside_calling_hours`: the nearest bookable times",
    )


def offline_app(**kwargs: Any) -> FastAPI:
    """A FastAPI app whose /docs and /redoc load their scripts and styles from
    this server (fastapi-offline's packaged Swagger UI and ReDoc), never a CDN."""
    return FastAPIOffline(**kwargs)


def document_errors(app: FastAPI) -> None:
    """Makes `app.openapi()` (and so /openapi.json) document every operation's
    error responses with `ErrorOut`. FastAPI rebuilds its document when routes
    change; each new document is completed once."""
    build: Callable[[], dict[str, Any]] = app.openapi
    completed: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        document = build()
        if not completed or completed[0] is not document:
            add_errors(document)
            completed[:] = [document]
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _schema(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(REF):
        found: dict[str, Any] = document["components"]["schemas"][ref.removeprefix(REF)]
        return found
    return node


def _is_file(schema: dict[str, Any]) -> bool:
    # OpenAPI 3.1 (FastAPI >= 0.99) marks an upload with contentMediaType, 3.0 with binary.
    return "contentMediaType" in schema or schema.get("format") == "binary"


def derived_errors(document: dict[str, Any], operation: dict[str, Any]) -> dict[int, str]:
    """The error statuses an operation can answer, with why, from its description."""
    errors: dict[int, str] = {}
    if operation.get("security"):
        errors[401] = "no bearer token (`missing_token`), or an unknown one (`unknown_token`)"
        errors[403] = "a manager's endpoint (`manager_only`), or another agent's resource"
        errors[503] = "the database is busy or unreachable (`db_unavailable`); see Retry-After"
    parameters = operation.get("parameters", [])
    path = [p["name"] for p in parameters if p.get("in") == "path"]
    other = [p["name"] for p in parameters if p.get("in") in ("query", "header")]
    if path:
        errors[404] = "no such " + " or ".join(_noun(name) for name in path)
        errors[422] = ", ".join(f"`{n}`" for n in path) + " is not valid (`validation_error`)"
    if other:
        errors[422] = "a parameter is not valid (`validation_error`; `field` names it)"
        if "cursor" in other:
            errors[400] = "`cursor` is not one this server gave (`bad_input`)"
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        errors[400] = "the body is not valid JSON (`invalid_json`)"
        errors[422] = "a body field is not valid (`validation_error`; `field`, `errors`)"
        errors[413] = "the body is larger than 1 MiB (`too_large`), refused as it crosses it"
        errors[415] = "the body is not `application/json` (`unsupported_media_type`)"
    if "application/x-www-form-urlencoded" in content:
        errors[413] = "the body is larger than 64 KiB (`too_large`)"
        errors[415] = "the body is not form-encoded (`unsupported_media_type`)"
    form = content.get("multipart/form-data")
    if form is not None:
        fields = _schema(document, form.get("schema", {})).get("properties", {})
        errors[422] = "a form field is missing or not valid (`validation_error`)"
        if any(_is_file(_schema(document, f)) for f in fields.values()):
            errors[400] = "the file is not CSV this service can read (`bad_input`, `empty_file`)"
            errors[413] = "the file is larger than DIALER_MAX_UPLOAD_MB (`too_large`)"
            errors[415] = "not `multipart/form-data`, or the file is not text (`not_text`)"
    return errors


def _noun(name: str) -> str:
    return name.removesuffix("_id").replace("_", " ")


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"{REF}ErrorOut"}}},
    }


def add_errors(document: dict[str, Any]) -> None:
    """Completes a generated OpenAPI document in place (see the module's docstring)."""
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorOut.model_json_schema(ref_template=REF + "{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorOut"] = error_schema
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            # FastAPI's 422 names a schema the service never sends: ours replaces it.
            fastapi_422 = responses.pop("422", None)
            errors = derived_errors(document, operation)
            if fastapi_422 is not None:
                errors.setdefault(422, "a parameter is not valid (`validation_error`)")
            for key, response in list(responses.items()):
                if key.isdigit() and int(key) >= 400:
                    # Declared by the route: its own words, the real body.
                    errors[int(key)] = str(response.get("description") or errors.get(int(key)))
            operation["responses"] = {
                **{k: v for k, v in responses.items() if not (k.isdigit() and int(k) >= 400)},
                **{str(status): _error_response(errors[status]) for status in sorted(errors)},
            }
    for name in _FASTAPI_DEFAULTS:
        schemas.pop(name, None)
