"""Browser sign-in over HTTP (both engines): passwords set by a manager and by
the agent itself, the session cookie and its flags, the cookie in place of a
bearer token on every route, CSRF and Origin refusals, back-off and lock-out
(counted per folded name, unknown names too), expiry (absolute and idle, on
the service's clock), and revocation by sign-out, a new password and
deactivation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import Request
from fastapi.testclient import TestClient
from helpers import CLOCK_START, Api, expect_error, make_settings
from sqlalchemy import text

from dialer.agents import passwords
from dialer.app import create_app
from dialer.web import PageSession, page_session

PASSWORD = "correct horse battery"
COOKIE = "dialer_session"


pytestmark = pytest.mark.usefixtures("cheap_hashing")


class SessionClock:
    """The runtime's session clock (real time in service) made a hand-moved one,
    starting where the simulated clock starts."""

    def __init__(self, client: TestClient) -> None:
        self.at = datetime.fromisoformat(CLOCK_START).astimezone(UTC)
        client.app.state.runtime.session_clock = lambda: self.at

    def advance(self, seconds: int) -> None:
        self.at += timedelta(seconds=seconds)


class Browser:
    """One browser: its own cookie, sent by hand so several can share a client."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.cookie: str | None = None
        self.csrf: str | None = None

    def sign_in(self, name: str, password: str = PASSWORD, **headers: str) -> Any:
        r = self.client.post("/api/session", json={"name": name, "password": password},
                             headers=headers)  # fmt: skip
        if r.status_code == 200:
            self.cookie = r.cookies[COOKIE]
            self.csrf = r.json()["csrf_token"]
        self.client.cookies.clear()
        return r

    def headers(self, *, csrf: bool = True, **extra: str) -> dict[str, str]:
        h = dict(extra)
        if self.cookie is not None:
            h["Cookie"] = f"{COOKIE}={self.cookie}"
        if csrf and self.csrf is not None:
            h["X-CSRF-Token"] = self.csrf
        return h

    def request(self, method: str, path: str, *, csrf: bool = True, **kw: Any) -> Any:
        headers = self.headers(csrf=csrf, **kw.pop("headers", {}))
        r = self.client.request(method, path, headers=headers, **kw)
        self.client.cookies.clear()
        return r

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)


def _agent(api: Api, name: str = "Sato", *, password: str | None = PASSWORD) -> dict[str, Any]:
    c = api.campaign()
    agent = api.agent([c["id"]], name=name)
    if password is not None:
        r = api.put(f"/api/agents/{agent['id']}/password", json={"password": password})
        assert r.status_code == 204, r.text
    return agent


def _history(api: Api, agent_id: int) -> list[dict[str, Any]]:
    r = api.get(f"/api/agents/{agent_id}/history")
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def _kinds(api: Api, agent_id: int) -> list[str]:
    return [e["kind"] for e in _history(api, agent_id)]


def test_sign_in_sets_an_http_only_cookie_and_the_session_reads_back(api: Api) -> None:
    agent = _agent(api)
    SessionClock(api.client)
    browser = Browser(api.client)
    r = browser.sign_in("Sato")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["agent"]["id"] == agent["id"] and body["agent"]["has_password"] is True
    assert "token" not in body["agent"]
    assert isinstance(body["csrf_token"], str) and len(body["csrf_token"]) >= 32
    # The idle end (120 min) comes before the absolute one (12 h).
    assert body["expires_at"].startswith("2026-12-01T03:00:00")
    set_cookie = r.headers["set-cookie"]
    assert set_cookie.startswith(f"{COOKIE}=")
    flags = [part.strip().lower() for part in set_cookie.split(";")]
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert "secure" not in flags  # served over plain http here

    again = browser.get("/api/session")
    assert again.status_code == 200, again.text
    assert again.json()["csrf_token"] == body["csrf_token"]
    assert again.json()["agent"]["name"] == "Sato"
    # The cookie alone acts as the account on the other routes.
    me = browser.get(f"/api/agents/{agent['id']}")
    assert me.status_code == 200 and me.json()["has_password"] is True
    assert "signed_in" in _kinds(api, agent["id"])


def test_the_cookie_is_secure_when_the_service_is_public_over_https(db_url: str) -> None:
    settings = make_settings(db_url, DIALER_PUBLIC_URL="https://dialer.example.com")
    with TestClient(create_app(settings)) as client:
        api = Api(client)
        _agent(api)
        r = Browser(client).sign_in("Sato")
        assert r.status_code == 200, r.text
        flags = [part.strip().lower() for part in r.headers["set-cookie"].split(";")]
        assert "secure" in flags and "httponly" in flags


def test_accounts_say_whether_they_have_a_password(api: Api) -> None:
    c = api.campaign()
    agent = api.agent([c["id"]], name="Sato")
    assert agent["has_password"] is False
    listed = api.get("/api/agents").json()["items"]
    assert [a["has_password"] for a in listed] == [False]
    assert (
        api.put(f"/api/agents/{agent['id']}/password", json={"password": PASSWORD}).status_code
        == 204
    )
    assert api.get(f"/api/agents/{agent['id']}").json()["has_password"] is True


def test_an_account_is_created_with_its_password_or_not_at_all(api: Api) -> None:
    c = api.campaign()
    made = api.post(
        "/api/agents", json={"name": "Sato", "campaign_ids": [c["id"]], "password": PASSWORD}
    )
    assert made.status_code == 201, made.text
    assert made.json()["has_password"] is True
    assert Browser(api.client).sign_in("sato").status_code == 200
    kinds = [e["kind"] for e in api.get(f"/api/agents/{made.json()['id']}/history").json()["items"]]
    assert "password_set" in kinds and "created" in kinds
    # Refused passwords (too short, the name itself, a sign-in name taken) create nobody.
    for name, password, status in (
        ("Suzuki", "short", 422),
        ("Tanaka Ichiro", "tanaka ichiro", 422),
        ("SATO", PASSWORD, 409),
    ):
        r = api.post("/api/agents", json={"name": name, "password": password})
        assert r.status_code == status, (name, r.text)
        assert r.json().get("field") in ("password", "name"), r.text
    names = [a["name"] for a in api.get("/api/agents?role=any").json()["items"]]
    assert "Suzuki" not in names and "Tanaka Ichiro" not in names and "SATO" not in names


def test_names_are_matched_folded(api: Api) -> None:
    _agent(api, name="Sato Ichiro")
    for typed in ("sato ichiro", "  SATO ICHIRO ", "ＳＡＴＯ　ＩＣＨＩＲＯ"):
        assert Browser(api.client).sign_in(typed).status_code == 200, typed


def test_wrong_password_unknown_name_and_no_password_get_the_same_answer(api: Api) -> None:
    _agent(api, name="Sato")
    _agent(api, name="Suzuki", password=None)
    answers = [
        expect_error(Browser(api.client).sign_in(name, password), 401, "bad_credentials")
        for name, password in [("Sato", "wrong password!"), ("Nobody", PASSWORD), ("Suzuki", "x")]
    ]
    assert len({a["detail"] for a in answers}) == 1
    r = api.client.post("/api/session", json={"name": "Sato", "password": PASSWORD})
    assert r.status_code == 200, r.text


def test_a_deactivated_account_is_told_so_with_the_right_password(api: Api) -> None:
    agent = _agent(api)
    assert api.post(f"/api/agents/{agent['id']}/deactivate").status_code == 200
    expect_error(Browser(api.client).sign_in("Sato"), 401, "account_deactivated")
    expect_error(Browser(api.client).sign_in("Sato", "not the password"), 401, "bad_credentials")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "", "password": PASSWORD}, "name"),
        ({"name": "x" * 201, "password": PASSWORD}, "name"),
        ({"name": "Sato", "password": "p" * 129}, "password"),
        ({"name": "Sato", "password": PASSWORD, "remember": True}, "remember"),
    ],
)
def test_sign_in_input_is_bounded(api: Api, body: dict[str, Any], field: str) -> None:
    r = api.client.post("/api/session", json=body)
    assert expect_error(r, 422)["field"] == field


def test_state_changes_with_the_cookie_need_the_csrf_token(api: Api) -> None:
    agent = _agent(api)
    browser = Browser(api.client)
    assert browser.sign_in("Sato").status_code == 200
    path = f"/api/agents/{agent['id']}/state"
    r = browser.request("PUT", path, json={"state": "paused"}, csrf=False)
    expect_error(r, 403, "csrf_missing")
    r = browser.request("PUT", path, json={"state": "paused"}, csrf=False,
                        headers={"X-CSRF-Token": "not-the-token"})  # fmt: skip
    expect_error(r, 403, "csrf_mismatch")
    # Refused before the body is validated, and nothing changed.
    expect_error(
        browser.request("PUT", path, json={"state": "no"}, csrf=False), 403, "csrf_missing"
    )
    assert api.get(f"/api/agents/{agent['id']}").json()["state"] == "available"
    r = browser.request("PUT", path, json={"state": "paused"})
    assert r.status_code == 200 and r.json()["state"] == "paused"
    # Reads need no token.
    assert browser.get(f"/api/agents/{agent['id']}/queue", csrf=False).status_code == 200


def test_another_sites_origin_is_refused_with_the_cookie_and_at_sign_in(api: Api) -> None:
    agent = _agent(api)
    browser = Browser(api.client)
    evil = {"Origin": "https://evil.example"}
    expect_error(browser.sign_in("Sato", **evil), 403, "cross_origin")
    assert browser.sign_in("Sato", Origin="http://testserver").status_code == 200
    path = f"/api/agents/{agent['id']}/state"
    r = browser.request("PUT", path, json={"state": "paused"}, headers=evil)
    expect_error(r, 403, "cross_origin")
    expect_error(browser.request("PUT", path, json={"state": "paused"},
                                 headers={"Origin": "null"}), 403, "cross_origin")  # fmt: skip
    r = browser.request("PUT", path, json={"state": "paused"},
                        headers={"Origin": "http://testserver"})  # fmt: skip
    assert r.status_code == 200, r.text
    # A bearer token is a program's: no cookie rules for it.
    bearer = {"Authorization": f"Bearer {agent['token']}", **evil}
    r = api.client.put(path, json={"state": "available"}, headers=bearer)
    assert r.status_code == 200, r.text


def test_a_bearer_header_wins_over_the_cookie(api: Api) -> None:
    agent = _agent(api)
    browser = Browser(api.client)
    browser.cookie = "not-a-session"
    r = browser.get(
        f"/api/agents/{agent['id']}", headers={"Authorization": f"Bearer {agent['token']}"}
    )
    assert r.status_code == 200, r.text
    expect_error(browser.get(f"/api/agents/{agent['id']}"), 401, "no_session")
    expect_error(browser.get("/api/session"), 401, "no_session")
    # No credential at all: the bearer rule's answer, as before.
    expect_error(api.client.get(f"/api/agents/{agent['id']}"), 401, "missing_token")
    # The session's routes take the cookie only.
    expect_error(api.get("/api/session", token=agent["token"]), 401, "no_session")


def test_agent_with_cookie_is_still_an_agent(api: Api) -> None:
    agent = _agent(api)
    other = _agent(api, name="Suzuki")
    browser = Browser(api.client)
    assert browser.sign_in("Sato").status_code == 200
    expect_error(browser.get(f"/api/agents/{other['id']}"), 403, "not_your_resource")
    expect_error(browser.get("/api/agents"), 403, "manager_only")
    assert browser.get(f"/api/agents/{agent['id']}").status_code == 200


def test_sign_out_ends_the_session_and_clears_the_cookie(api: Api) -> None:
    agent = _agent(api)
    browser = Browser(api.client)
    assert browser.sign_in("Sato").status_code == 200
    expect_error(browser.request("DELETE", "/api/session", csrf=False), 403, "csrf_missing")
    r = browser.request("DELETE", "/api/session")
    assert r.status_code == 204, r.text
    cleared = r.headers["set-cookie"]
    assert cleared.startswith(f'{COOKIE}=""') or f"{COOKIE}=;" in cleared
    assert "max-age=0" in cleared.lower()
    expect_error(browser.get("/api/session"), 401, "no_session")
    expect_error(browser.request("DELETE", "/api/session"), 401, "no_session")
    assert _kinds(api, agent["id"])[-2:] == ["signed_in", "signed_out"]


def test_sessions_end_when_idle_and_after_their_hours(db_url: str) -> None:
    settings = make_settings(db_url, DIALER_SESSION_HOURS=1, DIALER_SESSION_IDLE_MINUTES=5)
    with TestClient(create_app(settings)) as client:
        api = Api(client)
        _agent(api)
        clock = SessionClock(client)
        idle = Browser(client)
        busy = Browser(client)
        assert idle.sign_in("Sato").status_code == 200
        assert busy.sign_in("Sato").status_code == 200
        # Used every 4 minutes, a session lives to its absolute end; unused, 5 minutes.
        for _ in range(14):
            clock.advance(4 * 60)
            assert busy.get("/api/session").status_code == 200
        expect_error(idle.get("/api/session"), 401, "no_session")
        assert busy.get("/api/session").json()["expires_at"].startswith("2026-12-01T02:00:00")
        clock.advance(4 * 60)  # 60 minutes since sign-in
        expect_error(busy.get("/api/session"), 401, "no_session")


def test_sessions_keep_real_time_when_the_simulated_clock_moves(api: Api) -> None:
    """The demo's clock moved through a day signs nobody out; real time does."""
    _agent(api)
    clock = SessionClock(api.client)
    browser = Browser(api.client)
    assert browser.sign_in("Sato").status_code == 200
    api.advance(24 * 3600)
    assert browser.get("/api/session").status_code == 200
    clock.advance(121 * 60)  # idle past DIALER_SESSION_IDLE_MINUTES (120)
    expect_error(browser.get("/api/session"), 401, "no_session")


def test_manager_sets_a_password_and_ends_the_accounts_sessions(api: Api) -> None:
    agent = _agent(api)
    first, second = Browser(api.client), Browser(api.client)
    assert first.sign_in("Sato").status_code == 200
    assert second.sign_in("Sato").status_code == 200
    new = "another good password"
    assert api.put(f"/api/agents/{agent['id']}/password", json={"password": new}).status_code == 204
    expect_error(first.get("/api/session"), 401, "no_session")
    expect_error(second.get("/api/session"), 401, "no_session")
    expect_error(Browser(api.client).sign_in("Sato"), 401, "bad_credentials")
    assert Browser(api.client).sign_in("Sato", new).status_code == 200
    set_ = [e for e in _history(api, agent["id"]) if e["kind"] == "password_set"]
    assert [e["actor"] for e in set_] == ["manager:1", "manager:1"]
    assert set_[-1]["detail"] == {"sessions_ended": 2}
    assert "hash" not in str(_history(api, agent["id"]))


def test_agent_changes_its_own_password_with_the_current_one(api: Api) -> None:
    agent = _agent(api)
    here, elsewhere = Browser(api.client), Browser(api.client)
    assert here.sign_in("Sato").status_code == 200
    assert elsewhere.sign_in("Sato").status_code == 200
    path = f"/api/agents/{agent['id']}/password"
    new = "my own new password"
    r = here.request("PUT", path, json={"password": new})
    assert expect_error(r, 403, "wrong_password")["field"] == "current_password"
    r = here.request("PUT", path, json={"password": new, "current_password": "guess guess"})
    expect_error(r, 403, "wrong_password")
    r = here.request("PUT", path, json={"password": new, "current_password": PASSWORD})
    assert r.status_code == 204, r.text
    # This browser stays signed in; the other one is signed out.
    assert here.get("/api/session").status_code == 200
    expect_error(elsewhere.get("/api/session"), 401, "no_session")
    assert _history(api, agent["id"])[-1]["actor"] == f"agent:{agent['id']}"
    # With its bearer token too, but never without the current password.
    r = api.put(
        path, token=agent["token"], json={"password": "third password!", "current_password": new}
    )
    assert r.status_code == 204, r.text
    expect_error(here.get("/api/session"), 401, "no_session")


def test_an_agent_cannot_set_another_accounts_password(api: Api) -> None:
    agent = _agent(api)
    other = _agent(api, name="Suzuki")
    r = api.put(f"/api/agents/{other['id']}/password", token=agent["token"],
                json={"password": "x" * 12, "current_password": PASSWORD})  # fmt: skip
    expect_error(r, 403, "not_your_resource")


@pytest.mark.parametrize(
    ("password", "field"),
    [
        ("short", "password"),
        ("p" * 129, "password"),
        ("sato ichiro", "password"),  # the name, folded
        ("ＳＡＴＯ ＩＣＨＩＲＯ", "password"),
    ],
)
def test_password_rules_over_http(api: Api, password: str, field: str) -> None:
    agent = _agent(api, name="Sato Ichiro", password=None)
    r = api.put(f"/api/agents/{agent['id']}/password", json={"password": password})
    assert expect_error(r, 422)["field"] == field
    assert api.get(f"/api/agents/{agent['id']}").json()["has_password"] is False
    assert "password_set" not in _kinds(api, agent["id"])


def test_two_accounts_with_passwords_cannot_share_a_sign_in_name(api: Api) -> None:
    first = _agent(api, name="Sato")
    second = _agent(api, name="SATO", password=None)
    r = api.put(f"/api/agents/{second['id']}/password", json={"password": PASSWORD})
    assert expect_error(r, 409, "name_taken")["field"] == "name"
    # Without a password it may keep that name; renamed, it may have one.
    assert api.patch(f"/api/agents/{second['id']}", json={"name": "Sato Jiro"}).status_code == 200
    assert (
        api.put(f"/api/agents/{second['id']}/password", json={"password": PASSWORD}).status_code
        == 204
    )
    # An account with a password renamed onto another's sign-in name: refused.
    r = api.patch(f"/api/agents/{second['id']}", json={"name": " ｓａｔｏ "})
    assert expect_error(r, 409, "name_taken")["field"] == "name"
    assert api.get(f"/api/agents/{second['id']}").json()["name"] == "Sato Jiro"
    # Renamed, it signs in by its new name only.
    assert api.patch(f"/api/agents/{first['id']}", json={"name": "Sato Taro"}).status_code == 200
    expect_error(Browser(api.client).sign_in("Sato"), 401, "bad_credentials")
    assert Browser(api.client).sign_in("sato taro").status_code == 200


def test_back_off_after_three_failures(api: Api) -> None:
    _agent(api)
    browser = Browser(api.client)
    for _ in range(3):
        expect_error(browser.sign_in("Sato", "wrong password"), 401, "bad_credentials")
    # The fourth attempt, at once: held back, even with the right password.
    r = browser.sign_in("Sato")
    body = expect_error(r, 429, "sign_in_backoff")
    assert body["retry_after"] == 1 and r.headers["retry-after"] == "1"
    api.advance(1)
    expect_error(browser.sign_in("Sato", "wrong password"), 401, "bad_credentials")
    r = browser.sign_in("Sato")
    assert expect_error(r, 429, "sign_in_backoff")["retry_after"] == 2
    api.advance(2)
    # The right password then: in, and the count starts again.
    assert browser.sign_in("Sato").status_code == 200
    for _ in range(3):
        expect_error(browser.sign_in("Sato", "wrong password"), 401, "bad_credentials")
    expect_error(browser.sign_in("Sato"), 429, "sign_in_backoff")


def _fail_until_locked(api: Api, name: str) -> dict[str, Any]:
    browser = Browser(api.client)
    for _ in range(9):
        expect_error(browser.sign_in(name, "wrong password"), 401, "bad_credentials")
        api.advance(60)
    return expect_error(browser.sign_in(name, "wrong password"), 423, "account_locked")


def test_ten_failures_lock_the_name(api: Api) -> None:
    agent = _agent(api)
    body = _fail_until_locked(api, "Sato")
    assert body["locked_until"].startswith("2026-12-01T01:39:00")  # 10:09 JST + 30 min
    # The right password changes nothing while locked.
    expect_error(Browser(api.client).sign_in("sato"), 423, "account_locked")
    locked = [e for e in _history(api, agent["id"]) if e["kind"] == "sign_in_locked"]
    assert len(locked) == 1 and locked[0]["actor"] == "system"
    assert locked[0]["detail"]["failures"] == 10
    api.advance(29 * 60)
    expect_error(Browser(api.client).sign_in("Sato"), 423, "account_locked")
    api.advance(60)
    assert Browser(api.client).sign_in("Sato").status_code == 200


def test_unknown_names_lock_like_known_ones(api: Api) -> None:
    _fail_until_locked(api, "Nobody")
    expect_error(Browser(api.client).sign_in("NOBODY", "anything at all"), 423, "account_locked")


def test_a_manager_setting_the_password_unlocks(api: Api) -> None:
    agent = _agent(api)
    _fail_until_locked(api, "Sato")
    r = api.put(f"/api/agents/{agent['id']}/password", json={"password": "a fresh password"})
    assert r.status_code == 204
    assert Browser(api.client).sign_in("Sato", "a fresh password").status_code == 200


def test_deactivation_ends_the_sessions(api: Api) -> None:
    agent = _agent(api)
    browser = Browser(api.client)
    assert browser.sign_in("Sato").status_code == 200
    r = api.post(f"/api/agents/{agent['id']}/deactivate")
    assert r.status_code == 200, r.text
    expect_error(browser.get("/api/session"), 401, "no_session")
    expect_error(browser.get(f"/api/agents/{agent['id']}"), 401, "no_session")
    # Reactivated, the old cookie stays dead; a new sign-in works.
    assert api.post(f"/api/agents/{agent['id']}/reactivate").status_code == 200
    expect_error(browser.get("/api/session"), 401, "no_session")
    assert browser.sign_in("Sato").status_code == 200


def test_a_manager_signs_in_and_manages_with_the_cookie(api: Api) -> None:
    manager = api.post("/api/agents", json={"name": "Boss", "role": "manager"}).json()
    assert (
        api.put(f"/api/agents/{manager['id']}/password", json={"password": PASSWORD}).status_code
        == 204
    )
    browser = Browser(api.client)
    assert browser.sign_in("boss").status_code == 200
    assert browser.get("/api/agents").status_code == 200
    r = browser.request("POST", "/api/campaigns", json={"name": "From the browser"})
    assert r.status_code == 201, r.text


def test_last_use_is_written_at_most_once_a_minute(api: Api) -> None:
    _agent(api)
    clock = SessionClock(api.client)
    browser = Browser(api.client)
    assert browser.sign_in("Sato").status_code == 200
    first = browser.get("/api/session").json()["expires_at"]
    assert first.startswith("2026-12-01T03:00:00")  # signed in at 01:00Z, idle 120 min
    clock.advance(30)
    assert browser.get("/api/session").json()["expires_at"] == first
    clock.advance(31)
    later = browser.get("/api/session").json()["expires_at"]
    assert later.startswith("2026-12-01T03:01:01")


def test_workers_share_sessions_and_failure_counts(settings: Any) -> None:
    with (
        TestClient(create_app(settings)) as one,
        TestClient(create_app(settings)) as two,
    ):
        _agent(Api(one))
        signed = Browser(one)
        assert signed.sign_in("Sato").status_code == 200
        elsewhere = Browser(two)
        elsewhere.cookie, elsewhere.csrf = signed.cookie, signed.csrf
        assert elsewhere.get("/api/session").status_code == 200
        for _ in range(3):
            expect_error(Browser(one).sign_in("Sato", "wrong password"), 401, "bad_credentials")
        expect_error(Browser(two).sign_in("Sato"), 429, "sign_in_backoff")


def test_old_failures_are_forgotten(api: Api) -> None:
    _agent(api)
    for _ in range(9):
        expect_error(Browser(api.client).sign_in("Sato", "wrong password"), 401, "bad_credentials")
        expect_error(Browser(api.client).sign_in("Guessed", "wrong password"), 401)
        api.advance(60)
    api.advance(24 * 3600)
    # The tenth failure a day later starts a new count: no lock-out.
    expect_error(Browser(api.client).sign_in("Sato", "wrong password"), 401, "bad_credentials")
    runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.db.read() as session:
        rows = session.execute(text("SELECT name, failures FROM sign_in_failure")).all()
    assert [tuple(r) for r in rows] == [("sato", 1)]  # the guessed name's row is gone
    assert Browser(api.client).sign_in("Sato").status_code == 200


def test_signing_in_ends_the_session_the_browser_had(api: Api) -> None:
    _agent(api)
    _agent(api, name="Suzuki")
    before = Browser(api.client)
    assert before.sign_in("Sato").status_code == 200
    # The next person at the same computer signs in: Sato's session there ends.
    r = api.client.post(
        "/api/session",
        json={"name": "Suzuki", "password": PASSWORD},
        headers={"Cookie": f"{COOKIE}={before.cookie}"},
    )
    api.client.cookies.clear()
    assert r.status_code == 200 and r.json()["agent"]["name"] == "Suzuki"
    expect_error(before.get("/api/session"), 401, "no_session")


def test_a_hash_with_old_parameters_is_redone_at_sign_in(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = _agent(api)
    stronger = PasswordHasher(time_cost=2, memory_cost=128)
    monkeypatch.setattr(passwords, "HASHER", stronger)
    runtime = api.client.app.state.runtime  # type: ignore[attr-defined]

    def stored() -> str:
        with runtime.db.read() as session:
            query = text("SELECT password_hash FROM agent WHERE id = :id")
            return str(session.execute(query, {"id": agent["id"]}).scalar_one())

    assert stronger.check_needs_rehash(stored())
    assert Browser(api.client).sign_in("Sato").status_code == 200
    assert not stronger.check_needs_rehash(stored())
    assert Browser(api.client).sign_in("Sato").status_code == 200


def test_a_console_page_learns_who_is_signed_in(api: Api) -> None:
    agent = _agent(api)
    browser = Browser(api.client)
    assert browser.sign_in("Sato").status_code == 200

    def page(cookie: str | None) -> PageSession | None:
        headers = [] if cookie is None else [(b"cookie", f"{COOKIE}={cookie}".encode())]
        scope = {"type": "http", "method": "GET", "path": "/", "headers": headers,
                 "app": api.client.app}  # fmt: skip
        return page_session(Request(scope))

    got = page(browser.cookie)
    assert got == PageSession(agent_id=agent["id"], name="Sato", role="agent",
                              csrf_token=browser.csrf or "")  # fmt: skip
    assert page(None) is None and page("forged") is None
    assert browser.request("DELETE", "/api/session").status_code == 204
    assert page(browser.cookie) is None


def test_an_upload_with_the_cookie_needs_the_csrf_token_before_its_body(api: Api) -> None:
    manager = api.post("/api/agents", json={"name": "Boss", "role": "manager"}).json()
    r = api.put(f"/api/agents/{manager['id']}/password", json={"password": PASSWORD})
    assert r.status_code == 204
    c = api.campaign()
    browser = Browser(api.client)
    assert browser.sign_in("Boss").status_code == 200
    files = {"file": ("leads.csv", b"name,phone\nYamada,090-7777-0001\n", "text/csv")}
    path = f"/api/campaigns/{c['id']}/imports"
    expect_error(browser.request("POST", path, files=files, csrf=False), 403, "csrf_missing")
    assert api.get(f"/api/campaigns/{c['id']}/imports").json()["items"] == []
    r = browser.request("POST", path, files=files)
    assert r.status_code == 201, r.text


def test_a_name_that_folds_longer_than_its_column_signs_in_and_fails_cleanly(api: Api) -> None:
    """`ß` folds to `ss`: a 190-character name folds to 380, past the stored width.
    It is matched (cut to the width), never a database error (PostgreSQL's
    VARCHAR(200) refused it with a 500)."""
    long_name = "ß" * 190  # with the test helper's endpoint, at its 200 limit
    _agent(api, long_name)
    assert Browser(api.client).sign_in(long_name).status_code == 200
    expect_error(Browser(api.client).sign_in(long_name, "wrong password"), 401, "bad_credentials")
    expect_error(Browser(api.client).sign_in("ﷺ" * 200, "wrong password"), 401, "bad_credentials")
