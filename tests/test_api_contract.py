"""docs/API.md and /openapi.json agree, and /openapi.json tells the truth about errors.

The page's convention (stated at its top): an endpoint is documented by a line
that starts, after an optional list marker, with the method and path in
backticks, `GET /api/campaigns/{id}`; every such backticked method and path on
that line counts too. Path parameter names do not matter (`{id}` is
`{campaign_id}`) and a query string (`?status=`) is ignored. The section
"## Planned (not yet served)" is skipped: what it lists is not served yet.

The OpenAPI document: every operation has a description (its route function's
docstring), documents its error responses with the `{detail, code}` body the
service really sends (`ErrorOut`), and nothing refers to FastAPI's default
`HTTPValidationError`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import make_settings

from dialer.app import create_app

API_MD = Path(__file__).resolve().parent.parent / "docs" / "API.md"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
SKIPPED_SECTION = "## Planned (not yet served)"
_ENDPOINT = re.compile(rf"`({'|'.join(METHODS)}) (/[^`\s]*)`")
_LINE_START = re.compile(rf"^\s*(?:[-*+]\s+|\d+\.\s+)?`({'|'.join(METHODS)}) /")

Endpoint = tuple[str, str]


def _normal(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path.split("?", 1)[0])


def documented(text: str) -> dict[Endpoint, int]:
    """Each documented endpoint with the first line that documents it."""
    found: dict[Endpoint, int] = {}
    skipping = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("## "):
            skipping = line.strip() == SKIPPED_SECTION
        if skipping or not _LINE_START.match(line):
            continue
        for method, path in _ENDPOINT.findall(line):
            found.setdefault((method, _normal(path)), number)
    return found


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    # No lifespan: the document needs no database.
    app = create_app(make_settings("sqlite://"))
    response = TestClient(app).get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def served(openapi: dict[str, Any]) -> set[Endpoint]:
    return {
        (method.upper(), _normal(path))
        for path, operations in openapi["paths"].items()
        for method in operations
        if method.upper() in METHODS
    }


def operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, ops in openapi["paths"].items()
        for method, op in ops.items()
        if method.upper() in METHODS
    ]


def test_the_convention_reads_lines_that_start_with_an_endpoint() -> None:
    text = "\n".join(
        [
            "# Title",
            "`GET /api/things/{id}` → a thing; `DELETE /api/things/{thing_id}` removes it.",
            "- `POST /api/things?dry_run=` creates one",
            "A mention of `PUT /api/mentioned` in passing does not document it.",
            "1. `PATCH /api/things/{id}` in a numbered list",
            SKIPPED_SECTION,
            "- `POST /api/planned`",
            "## Later",
            "`GET /api/after`",
        ]
    )
    assert set(documented(text)) == {
        ("GET", "/api/things/{}"),
        ("DELETE", "/api/things/{}"),
        ("POST", "/api/things"),
        ("PATCH", "/api/things/{}"),
        ("GET", "/api/after"),
    }


def test_every_documented_endpoint_is_served(openapi: dict[str, Any]) -> None:
    docs = documented(API_MD.read_text(encoding="utf-8"))
    serving = served(openapi)
    missing = [f"API.md:{line}: {m} {p}" for (m, p), line in docs.items() if (m, p) not in serving]
    assert missing == [], "documented in docs/API.md but not served:\n" + "\n".join(missing)


def test_every_served_endpoint_is_documented(openapi: dict[str, Any]) -> None:
    docs = documented(API_MD.read_text(encoding="utf-8"))
    undocumented = sorted(f"{m} {p}" for m, p in served(openapi) - set(docs))
    assert undocumented == [], (
        "served but not documented in docs/API.md (a line starting with the method "
        "and path in backticks):\n" + "\n".join(undocumented)
    )


def test_every_operation_has_a_description(openapi: dict[str, Any]) -> None:
    bare = [f"{m} {p}" for m, p, op in operations(openapi) if not op.get("description", "").strip()]
    assert bare == [], "give these route functions a docstring:\n" + "\n".join(bare)


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


ERROR_OUT = "#/components/schemas/ErrorOut"


def test_every_error_response_is_the_real_error_body(openapi: dict[str, Any]) -> None:
    wrong = []
    for method, path, op in operations(openapi):
        errors = {s: r for s, r in op["responses"].items() if s[0] in "45"}
        takes_input = op.get("parameters") or op.get("requestBody") or op.get("security")
        if takes_input and not any(s.startswith("4") for s in errors):
            wrong.append(f"{method} {path}: takes input but documents no 4xx response")
        for status, response in errors.items():
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if schema != {"$ref": ERROR_OUT}:
                wrong.append(f"{method} {path} {status}: {schema}")
            if not response.get("description", "").strip():
                wrong.append(f"{method} {path} {status}: no description")
    assert wrong == [], "\n".join(wrong)


def test_nothing_refers_to_fastapis_default_validation_error(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    refs = _refs(openapi)
    assert not any(r.endswith(("/HTTPValidationError", "/ValidationError")) for r in refs)
    # The body the handlers send: detail and code always; field and errors on a 422.
    error = schemas["ErrorOut"]
    assert set(error["required"]) == {"detail", "code"}
    assert {"detail", "code", "field", "errors"} <= set(error["properties"])


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        # Manager-only, path id, JSON body.
        ("PATCH", "/api/campaigns/{campaign_id}", {"400", "401", "403", "404", "422"}),
        # Any principal, no body: 401/403, 404 for the id, 422 for a bad id.
        ("GET", "/api/leads/{lead_id}", {"401", "403", "404", "422"}),
        # An upload: too large, and the lead list's own 400/415.
        (
            "POST",
            "/api/campaigns/{campaign_id}/imports",
            {"400", "401", "403", "404", "413", "415"},
        ),
        # A state conflict the route declares.
        ("POST", "/api/calls/{call_id}/disposition", {"409"}),
        # A signed webhook: 403 on a bad signature, 404 for an unknown call.
        ("POST", "/webhooks/twilio/status", {"403", "404"}),
    ],
)
def test_error_responses_follow_from_the_route(
    openapi: dict[str, Any], method: str, path: str, statuses: set[str]
) -> None:
    responses = openapi["paths"][path][method.lower()]["responses"]
    assert statuses <= set(responses), sorted(responses)


def test_a_real_error_body_fits_the_documented_schema(client: TestClient) -> None:
    """What the validation handler sends is what ErrorOut describes."""
    from dialer.apidocs import ErrorOut

    r = client.post(
        "/api/campaigns",
        json={"name": "x", "cps": "fast"},
        headers={"Authorization": "Bearer manager-token-for-tests"},
    )
    assert r.status_code == 422
    body = ErrorOut.model_validate(r.json())
    assert body.field == "cps" and body.errors and body.errors[0].field == "cps"
    r = client.get("/api/campaigns")
    assert r.status_code == 401
    assert ErrorOut.model_validate(r.json()).code == "missing_token"
