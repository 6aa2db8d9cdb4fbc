"""Authentication, roles, error bodies, validation, and what the service documents
about itself (API.md, "General rules", "Simulation", "Health")."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import Api, expect_error, make_settings

from dialer.app import create_app


def _check_all(cases: list[tuple[str, Any, int, str | None]]) -> None:
    """Check many (label, response, status, code) at once and report every mismatch."""
    problems = []
    for label, response, status, code in cases:
        try:
            expect_error(response, status, code)
        except AssertionError as exc:
            problems.append(f"{label}: {exc}".splitlines()[0])
    assert not problems, "\n".join(problems)


def _campaigns(api: Api) -> list[dict[str, Any]]:
    r = api.get("/api/campaigns")
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


@pytest.fixture
def world(api: Api) -> dict[str, Any]:
    campaign = api.campaign(name="Kanto")
    r = api.import_csv(campaign["id"], "name,phone\nA,090-1111-0001\nB,090-1111-0002\n")
    assert r.status_code == 201, r.text
    leads = api.get(f"/api/campaigns/{campaign['id']}/leads").json()["items"]
    return {
        "campaign": campaign,
        "import_id": r.json()["id"],
        "leads": [lead["id"] for lead in leads],
        "agent": api.agent([campaign["id"]], name="Sato"),
        "other": api.agent([campaign["id"]], name="Suzuki"),
    }


# --- 401 -------------------------------------------------------------------------

PATHS_401 = [
    ("GET", "/api/campaigns", None),
    ("POST", "/api/campaigns", {"name": "No token"}),
    ("GET", "/api/leads/1", None),
    ("POST", "/api/agents/1/next", None),
    ("GET", "/api/dnc", None),
    ("POST", "/api/dnc", {"phone": "090-1234-5678"}),
    ("GET", "/api/admin/clock", None),
]


MALFORMED = ["Token abc", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearertoken", ""]


def test_missing_malformed_and_unknown_tokens_are_401(api: Api) -> None:
    cases = []
    for method, path, body in PATHS_401:
        r = api.client.request(method, path, json=body)
        cases.append((f"{method} {path} without token", r, 401, "missing_token"))
        r = api.client.request(method, path, json=body, headers={"Authorization": "Bearer nope"})
        cases.append((f"{method} {path} unknown token", r, 401, "unknown_token"))
        for header in MALFORMED:
            r = api.client.request(method, path, json=body, headers={"Authorization": header})
            cases.append((f"{method} {path} Authorization: {header!r}", r, 401, None))
            if r.status_code == 401:
                assert r.json()["code"] != "unknown_token", header
    _check_all(cases)


def test_rejected_token_writes_nothing(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}):
        r = api.client.post("/api/campaigns", json={"name": "Sneaky"}, headers=headers)
        expect_error(r, 401)
        r = api.client.post("/api/dnc", json={"phone": "090-1234-5678"}, headers=headers)
        expect_error(r, 401)
        r = api.client.post("/api/admin/clock", json={"advance_seconds": 600}, headers=headers)
        expect_error(r, 401)
    assert _campaigns(api) == []
    assert api.get("/api/dnc").json()["items"] == []
    assert api.get("/api/admin/clock").json()["now"] == "2026-12-01T01:00:00+00:00"


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer nope"}], ids=["missing", "unknown"]
)
def test_authentication_comes_before_body_validation(api: Api, headers: dict[str, str]) -> None:
    """An anonymous caller learns nothing about the request schema: 401, not 422."""
    r = api.client.post("/api/campaigns", json={"cps": 0}, headers=headers)
    expect_error(r, 401)
    r = api.client.post("/api/dnc", json={}, headers=headers)
    expect_error(r, 401)


def test_role_check_comes_before_body_validation(api: Api, world: dict[str, Any]) -> None:
    r = api.post("/api/campaigns", token=world["agent"]["token"], json={"cps": 0})
    expect_error(r, 403)


# --- no token needed -------------------------------------------------------------


def test_healthz_needs_no_token(api: Api) -> None:
    r = api.client.get("/healthz")
    assert r.status_code == 200, r.text
    # No scheduler has run on this database: reported, still 200 (tests/test_ops.py).
    assert r.json() == {
        "status": "degraded",
        "db": "ok",
        "scheduler": {"leader": None, "heartbeat_age_seconds": None, "status": "absent"},
        "dialing": {"status": "ok", "blocks": []},
    }


def _requests_total(text: str, route: str, status: str) -> float:
    pattern = re.compile(
        r"^dialer_http_requests_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$", re.MULTILINE
    )
    for match in pattern.finditer(text):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        if labels == {"method": "GET", "route": route, "status": status}:
            return float(match["value"])
    return 0.0


def test_metrics_need_no_token_and_count_requests(api: Api) -> None:
    api.client.get("/healthz")
    r = api.client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    assert "# TYPE dialer_http_requests_total counter" in r.text
    before = _requests_total(r.text, "/healthz", "200")
    assert before >= 1
    api.client.get("/healthz")
    after = _requests_total(api.client.get("/metrics").text, "/healthz", "200")
    assert after == before + 1


# --- 403 -------------------------------------------------------------------------


def _manager_only(world: dict[str, Any]) -> list[tuple[str, str, Any]]:
    cid = world["campaign"]["id"]
    lead = world["leads"][0]
    # An agent reads its own campaigns (tests/agents/test_agent_reads.py); never writes them.
    return [
        ("POST", "/api/campaigns", {"name": "By agent"}),
        ("PATCH", f"/api/campaigns/{cid}", {"status": "paused"}),
        ("GET", f"/api/campaigns/{cid}/leads", None),
        ("GET", f"/api/campaigns/{cid}/queue", None),
        ("GET", f"/api/leads/{lead}/eligibility", None),
        ("GET", f"/api/imports/{world['import_id']}", None),
        ("GET", f"/api/imports/{world['import_id']}/errors.csv", None),
        ("GET", "/api/agents", None),
        ("POST", "/api/agents", {"name": "Rogue", "campaign_ids": [cid]}),
        ("PATCH", f"/api/agents/{world['agent']['id']}", {"campaign_ids": []}),
        ("GET", "/api/dnc", None),
        ("POST", "/api/dnc", {"phone": "090-1111-0001"}),
        ("DELETE", "/api/dnc/090-1111-0001", None),
        ("GET", "/api/admin/clock", None),
        ("POST", "/api/admin/clock", {"advance_seconds": 600}),
        ("POST", "/api/admin/sim/outcomes", {"phone": "090-1111-0001", "outcomes": ["busy"]}),
    ]


def test_agent_token_on_manager_endpoints_is_403_and_changes_nothing(
    api: Api, world: dict[str, Any]
) -> None:
    token = world["agent"]["token"]
    for method, path, body in _manager_only(world):
        r = api.client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        expect_error(r, 403)
    assert [c["name"] for c in _campaigns(api)] == ["Kanto"]
    assert _campaigns(api)[0]["status"] == "active"
    assert [a["name"] for a in api.get("/api/agents").json()["items"]] == ["Sato", "Suzuki"]
    assert api.get("/api/agents").json()["items"][0]["campaign_ids"] == [world["campaign"]["id"]]
    assert api.get("/api/dnc").json()["items"] == []
    assert api.get("/api/admin/clock").json()["now"] == "2026-12-01T01:00:00+00:00"


def test_agent_may_not_act_for_another_agent(api: Api, world: dict[str, Any]) -> None:
    token = world["agent"]["token"]
    other = world["other"]["id"]
    expect_error(api.post(f"/api/agents/{other}/next", token=token), 403)
    expect_error(api.put(f"/api/agents/{other}/state", token=token, json={"state": "paused"}), 403)
    expect_error(api.get(f"/api/agents/{other}", token=token), 403)
    assert api.get(f"/api/agents/{other}").json()["state"] == "available"
    # Nor read a lead it does not hold.
    expect_error(api.get(f"/api/leads/{world['leads'][0]}", token=token), 403)
    got = api.next(world["agent"])
    assert got.status_code == 200, got.text
    held = got.json()["lead"]["id"]
    assert api.get(f"/api/leads/{held}", token=token).status_code == 200
    expect_error(api.get(f"/api/leads/{held}", token=world["other"]["token"]), 403)
    # The other agent may not dial it either.
    other_lead = next(i for i in world["leads"] if i != held)
    r = api.post(f"/api/leads/{held}/calls", token=world["other"]["token"], json={})
    assert r.status_code in (403, 409), r.text
    expect_error(r, r.status_code)
    assert api.get(f"/api/leads/{held}").json()["calls"] == []
    assert api.get(f"/api/leads/{other_lead}").json()["status"] == "new"


# --- 404 -------------------------------------------------------------------------

UNKNOWN = [
    ("GET", "/api/campaigns/999", None),
    ("PATCH", "/api/campaigns/999", {"name": "x"}),
    ("GET", "/api/campaigns/999/leads", None),
    ("GET", "/api/campaigns/999/queue", None),
    ("GET", "/api/leads/999", None),
    ("GET", "/api/leads/999/eligibility", None),
    ("GET", "/api/imports/999", None),
    ("GET", "/api/imports/999/errors.csv", None),
    ("GET", "/api/agents/999", None),
    ("PUT", "/api/agents/999/state", {"state": "paused"}),
    ("POST", "/api/agents/999/next", None),
    ("POST", "/api/leads/999/calls", {}),
    ("GET", "/api/calls/999", None),
    ("POST", "/api/calls/999/disposition", {"outcome": "converted"}),
    ("DELETE", "/api/dnc/+819012345678", None),
    ("GET", "/api/no-such-thing", None),
]


def test_unknown_ids_are_404(api: Api) -> None:
    cases = []
    for method, path, body in UNKNOWN:
        r = api.client.request(method, path, json=body, headers=api.manager)
        cases.append((f"{method} {path}", r, 404, None))
    _check_all(cases)


@pytest.mark.parametrize(
    "path",
    [
        "/api/campaigns/99999999999999999999",
        "/api/leads/9223372036854775808",
    ],
)
def test_ids_beyond_64_bits_are_4xx_not_500(api: Api, path: str) -> None:
    r = api.get(path)
    assert r.status_code in (404, 422), r.text
    expect_error(r, r.status_code)


def test_wrong_method_is_405_with_error_body(api: Api) -> None:
    expect_error(api.delete("/api/campaigns"), 405)


# --- 422 -------------------------------------------------------------------------

INVALID_CAMPAIGNS = [
    ({"timezone": "Mars/Base"}, "timezone"),
    ({"calling_hours": [{"days": "mon-fri", "start": "25:00", "end": "20:00"}]}, "calling_hours"),
    ({"calling_hours": [{"days": "someday", "start": "09:00", "end": "20:00"}]}, "calling_hours"),
    ({"retry_policy": {"no_answer": [-5]}}, "retry_policy.no_answer"),
    ({"retry_policy": {"max_attempts": 0}}, "retry_policy.max_attempts"),
    ({"promise_policy": {"on_missed": "forget"}}, "promise_policy.on_missed"),
    ({"cps": 0}, "cps"),
    ({"cps": "fast"}, "cps"),
    ({"status": "archived"}, "status"),
    ({"dial_mode": "autodial"}, "dial_mode"),
    ({"default_region": "XX"}, "default_region"),
    ({"caller_id": "not a number"}, "caller_id"),
    ({"contract_number_pattern": "(unclosed"}, "contract_number_pattern"),
    ({"name": ""}, "name"),
    ({"nmae": "typo"}, "nmae"),
    ({"retry_policy": {"no_anwser": [60]}}, "retry_policy.no_anwser"),
]


def test_invalid_campaigns_are_422_naming_the_field_and_create_nothing(api: Api) -> None:
    problems = []
    for fields, field in INVALID_CAMPAIGNS:
        r = api.post("/api/campaigns", json={"name": "Bad", **fields})
        try:
            out = expect_error(r, 422)
            assert field in out["detail"], out
        except AssertionError as exc:
            problems.append(f"{fields}: {exc}".splitlines()[0])
    assert not problems, "\n".join(problems)
    assert _campaigns(api) == []


def test_missing_name_is_422(api: Api) -> None:
    out = expect_error(api.post("/api/campaigns", json={"cps": 2}), 422)
    assert "name" in out["detail"]
    assert _campaigns(api) == []


def test_invalid_patch_changes_nothing(api: Api) -> None:
    campaign = api.campaign(name="Kanto")
    cid = campaign["id"]
    before = api.get(f"/api/campaigns/{cid}").json()
    r = api.patch(f"/api/campaigns/{cid}", json={"status": "paused", "timezone": "Mars/Base"})
    assert "timezone" in expect_error(r, 422)["detail"]
    r = api.patch(f"/api/campaigns/{cid}", json={"status": "paused", "unknown": 1})
    assert "unknown" in expect_error(r, 422)["detail"]
    assert api.get(f"/api/campaigns/{cid}").json() == before


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"name": ', "application/json"),
        (b"{'name': 'x'}", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"null", "application/json"),
        (b"name=x", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\x00", "application/json"),
    ],
    ids=["truncated", "single-quotes", "array", "null", "form", "binary"],
)
def test_malformed_body_is_4xx_not_500(api: Api, content: bytes, content_type: str) -> None:
    r = api.client.post(
        "/api/campaigns",
        content=content,
        headers={**api.manager, "Content-Type": content_type},
    )
    assert 400 <= r.status_code < 500, r.text
    expect_error(r, r.status_code)
    assert _campaigns(api) == []


def test_malformed_json_error_does_not_name_a_character_offset_as_field(api: Api) -> None:
    r = api.client.post(
        "/api/campaigns",
        content=b'{"name": ',
        headers={**api.manager, "Content-Type": "application/json"},
    )
    out = expect_error(r, r.status_code)
    assert not re.match(r"^\d+:", out["detail"]), out
    assert not str(out.get("field", "body")).isdigit(), out


@pytest.mark.parametrize(
    "fields",
    [{"name": "a\u0000b"}, {"name": "ok", "script": "opening\u0000"}],
    ids=["name", "script"],
)
def test_nul_character_in_a_string_field_is_not_a_server_error(
    api: Api, fields: dict[str, Any]
) -> None:
    """PostgreSQL text cannot hold NUL: refuse it (422) or store it, never 500."""
    r = api.post("/api/campaigns", json=fields)
    assert r.status_code in (201, 422), r.text
    if r.status_code == 422:
        expect_error(r, 422)
        assert _campaigns(api) == []
    else:
        assert {k: r.json()[k] for k in fields} == fields


def test_non_integer_id_is_422_naming_it(api: Api) -> None:
    out = expect_error(api.get("/api/campaigns/abc"), 422)
    assert "campaign_id" in out["detail"]


# --- what the service documents --------------------------------------------------

# API.md paths (with their methods) that this version implements.
CONTRACT_PATHS = {
    "/api/campaigns": {"get", "post"},
    "/api/campaigns/{}": {"get", "patch"},
    "/api/campaigns/{}/imports": {"get", "post"},
    "/api/imports/{}": {"get"},
    "/api/imports/{}/errors.csv": {"get"},
    "/api/campaigns/{}/leads": {"get"},
    "/api/leads": {"get"},
    "/api/leads/{}": {"get"},
    "/api/leads/{}/eligibility": {"get"},
    "/api/campaigns/{}/queue": {"get"},
    "/api/agents": {"get", "post"},
    "/api/agents/{}/state": {"put"},
    "/api/agents/{}/next": {"post"},
    "/api/agents/{}/events": {"get"},
    "/api/agents/{}/events/ticket": {"post"},
    "/api/agents/{}/queue": {"get"},
    "/api/agents/{}/stats": {"get"},
    "/api/leads/{}/calls": {"post"},
    "/api/calls": {"get"},
    "/api/calls/{}": {"get"},
    "/api/calls/{}/disposition": {"post"},
    "/api/dnc": {"get", "post"},
    "/api/dnc/{}": {"delete"},
    "/api/admin/clock": {"get", "post"},
    "/api/admin/sim/outcomes": {"post"},
    "/healthz": {"get"},
    "/metrics": {"get"},
}


def test_openapi_lists_every_contract_path(api: Api) -> None:
    r = api.client.get("/openapi.json")
    assert r.status_code == 200, r.text
    paths = r.json()["paths"]
    documented = {re.sub(r"\{[^}]+\}", "{}", p): set(ops) for p, ops in paths.items()}
    for path, methods in CONTRACT_PATHS.items():
        assert path in documented, path
        assert methods <= documented[path], (path, documented[path])
    # Status codes the contract names.
    assert "201" in paths["/api/campaigns"]["post"]["responses"]
    assert "201" in paths["/api/campaigns/{campaign_id}/imports"]["post"]["responses"]
    assert "204" in paths["/api/agents/{agent_id}/next"]["post"]["responses"]
    assert "204" in paths["/api/dnc/{phone}"]["delete"]["responses"]
    # The upload is a multipart field named `file`.
    upload = paths["/api/campaigns/{campaign_id}/imports"]["post"]["requestBody"]["content"]
    assert list(upload) == ["multipart/form-data"]


def test_docs_serve_html(api: Api) -> None:
    r = api.client.get("/docs")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in r.text


def test_clock_is_served_in_simulated_mode(api: Api) -> None:
    r = api.get("/api/admin/clock")
    assert r.status_code == 200, r.text
    assert r.json() == {"now": "2026-12-01T01:00:00+00:00", "mode": "simulated"}


def test_clock_endpoints_are_404_with_the_system_clock(db_url: str) -> None:
    settings = make_settings(db_url, DIALER_CLOCK="system")
    with TestClient(create_app(settings)) as client:
        api = Api(client)
        expect_error(api.get("/api/admin/clock"), 404)
        expect_error(api.post("/api/admin/clock", json={"advance_seconds": 600}), 404)
        # The rest of the API is there.
        assert api.get("/api/campaigns").status_code == 200
        health = client.get("/healthz").json()
        assert health["db"] == "ok" and health["scheduler"]["status"] == "absent"


def test_sim_outcomes_are_404_with_twilio_telephony(db_url: str) -> None:
    """POST /api/admin/sim/outcomes → 404 when DIALER_TELEPHONY=twilio."""
    settings = make_settings(
        db_url,
        DIALER_TELEPHONY="twilio",
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_AUTH_TOKEN="token",
        TWILIO_API_BASE="http://127.0.0.1:9",  # never asked: nothing is dialled here
        DIALER_PUBLIC_URL="https://dialer.example.com",
    )
    with TestClient(create_app(settings)) as client:
        api = Api(client)
        r = api.post(
            "/api/admin/sim/outcomes", json={"phone": "090-1234-5678", "outcomes": ["busy"]}
        )
        expect_error(r, 404)
        assert api.get("/api/campaigns").status_code == 200


def test_a_constraint_refusing_a_racing_write_is_409_not_500(api: Api) -> None:
    """The unique keys are the last guard against races (two imports of one phone,
    two claims of one lead): whatever write they refuse answers 409, never 500.
    A throw-away route raises the refusal, since a real race cannot be timed here."""
    from sqlalchemy.exc import IntegrityError

    app = api.client.app

    @app.get("/api/_test/integrity")  # type: ignore[attr-defined,untyped-decorator]
    def _raise() -> None:
        raise IntegrityError("INSERT INTO phone ...", {}, Exception("duplicate key"))

    expect_error(api.get("/api/_test/integrity"), 409, "concurrent_change")
