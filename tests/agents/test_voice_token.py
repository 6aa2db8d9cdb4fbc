"""POST /api/agents/{id}/voice-token: the browser softphone's Twilio Access Token,
its claims read back with PyJWT, and every refusal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from helpers import Api, expect_error, jst, make_settings
from pydantic import ValidationError

from dialer.app import create_app
from dialer.telephony.twilio import voice_access_token

ACCOUNT = "AC" + "1" * 32
KEY_SID = "SK" + "2" * 32
KEY_SECRET = "api-key-secret-for-tests-0123456"  # a real secret is 32 characters
APP_SID = "AP" + "3" * 32
TTL = 900

TWILIO = {
    "DIALER_TELEPHONY": "twilio",
    "TWILIO_ACCOUNT_SID": ACCOUNT,
    "TWILIO_AUTH_TOKEN": "auth-token",
    "TWILIO_API_BASE": "http://127.0.0.1:9",  # never asked: nothing is dialled here
    "DIALER_PUBLIC_URL": "https://dialer.example.com",
    "TWILIO_API_KEY_SID": KEY_SID,
    "TWILIO_API_KEY_SECRET": KEY_SECRET,
    "TWILIO_TWIML_APP_SID": APP_SID,
    "DIALER_VOICE_TOKEN_TTL_SECONDS": TTL,
}


def _api(db_url: str, **env: Any) -> Iterator[Api]:
    settings = make_settings(db_url, **{**TWILIO, **env})
    with TestClient(create_app(settings)) as client:
        yield Api(client)


@pytest.fixture
def twilio(db_url: str) -> Iterator[Api]:
    yield from _api(db_url)


def _decode(token: str, **options: bool) -> dict[str, Any]:
    """Checks the signature with the API key's secret (and, by default, exp/nbf)."""
    claims: dict[str, Any] = jwt.decode(
        token, KEY_SECRET, algorithms=["HS256"], options=dict(options)
    )
    return claims


def _token(api: Api, agent: dict[str, Any], *, token: str | None = None) -> Any:
    return api.post(f"/api/agents/{agent['id']}/voice-token", token=token)


def test_the_token_carries_the_agents_identity_and_a_voice_grant(twilio: Api) -> None:
    c = twilio.campaign()
    agent = twilio.agent([c["id"]], name="Sato")  # endpoint client:sato
    before = int(datetime.now(UTC).timestamp())
    r = _token(twilio, agent, token=agent["token"])
    after = int(datetime.now(UTC).timestamp())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["identity"] == "sato"
    claims = _decode(body["token"])
    assert jwt.get_unverified_header(body["token"])["cty"] == "twilio-fpa;v=1"
    assert claims["iss"] == KEY_SID and claims["sub"] == ACCOUNT
    assert claims["jti"].startswith(KEY_SID + "-")
    assert claims["grants"]["identity"] == "sato"
    assert claims["grants"]["voice"] == {
        "incoming": {"allow": True},
        "outgoing": {"application_sid": APP_SID},
    }
    # Issued now (real time: Twilio checks it on its own clock), valid for the TTL.
    assert before <= claims["nbf"] <= after
    assert claims["exp"] - claims["nbf"] == TTL
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert expires_at.utcoffset() is not None and expires_at.utcoffset().total_seconds() == 0
    assert int(expires_at.timestamp()) == claims["exp"]


def test_a_manager_gets_an_agents_token_another_agent_does_not(twilio: Api) -> None:
    c = twilio.campaign()
    sato = twilio.agent([c["id"]], name="Sato")
    suzuki = twilio.agent([c["id"]], name="Suzuki")
    r = _token(twilio, sato)  # the manager
    assert r.status_code == 200, r.text
    assert _decode(r.json()["token"])["grants"]["identity"] == "sato"
    expect_error(_token(twilio, sato, token=suzuki["token"]), 403, "not_your_resource")
    expect_error(twilio.post("/api/agents/999999/voice-token"), 404, "agent_not_found")


@pytest.mark.parametrize(
    ("endpoint", "code"),
    [("+81312345678", "no_client_endpoint"), (None, "no_client_endpoint")],
)
def test_an_agent_without_a_client_endpoint_is_refused(
    twilio: Api, endpoint: str | None, code: str
) -> None:
    c = twilio.campaign()
    r = twilio.post(
        "/api/agents", json={"name": "Tanaka", "campaign_ids": [c["id"]], "endpoint": endpoint}
    )
    agent = r.json()
    body = expect_error(_token(twilio, agent, token=agent["token"]), 409, code)
    assert "client:" in body["detail"]


def test_a_deactivated_agent_gets_no_token(twilio: Api) -> None:
    c = twilio.campaign()
    agent = twilio.agent([c["id"]])
    assert twilio.post(f"/api/agents/{agent['id']}/deactivate").status_code == 200
    expect_error(_token(twilio, agent), 409, "account_deactivated")


def test_without_a_twiml_app_the_browser_only_receives_calls(db_url: str) -> None:
    for api in _api(db_url, TWILIO_TWIML_APP_SID=None):
        agent = api.agent([api.campaign()["id"]])
        r = _token(api, agent, token=agent["token"])
        assert r.status_code == 200, r.text
        assert _decode(r.json()["token"])["grants"]["voice"] == {"incoming": {"allow": True}}


@pytest.mark.parametrize("missing", ["TWILIO_API_KEY_SID", "TWILIO_API_KEY_SECRET"])
def test_without_the_api_key_the_token_is_refused(db_url: str, missing: str) -> None:
    for api in _api(db_url, **{missing: None}):
        agent = api.agent([api.campaign()["id"]])
        body = expect_error(_token(api, agent, token=agent["token"]), 409, "voice_keys_missing")
        assert missing in body["detail"]


def test_outside_twilio_mode_the_token_is_refused(api: Api) -> None:
    agent = api.agent([api.campaign()["id"]])
    body = expect_error(_token(api, agent, token=agent["token"]), 409, "not_twilio_mode")
    assert "DIALER_TELEPHONY" in body["detail"]


@pytest.mark.parametrize(
    ("now", "ttl"),
    [
        (jst(2026, 12, 1, 10), 3600),
        (jst(2026, 12, 1, 23, 59, 59), 60),
        (datetime(2030, 1, 1, tzinfo=UTC), 86400),
    ],
)
def test_the_token_runs_from_the_instant_given(now: datetime, ttl: int) -> None:
    """The SDK reads time.time() unless told: the adapter gives `nbf` and `exp`."""
    got = voice_access_token(
        account_sid=ACCOUNT,
        api_key_sid=KEY_SID,
        api_key_secret=KEY_SECRET,
        identity="sato",
        twiml_app_sid=None,
        ttl_seconds=ttl,
        now=now,
    )
    claims = _decode(got.token, verify_exp=False, verify_nbf=False)
    assert claims["nbf"] == int(now.timestamp())
    assert claims["exp"] == int(now.timestamp()) + ttl
    assert got.expires_at == datetime.fromtimestamp(claims["exp"], tz=UTC)
    assert got.identity == claims["grants"]["identity"] == "sato"


@pytest.mark.parametrize(("ttl", "ok"), [(59, False), (60, True), (86400, True), (86401, False)])
def test_the_token_lifetime_is_bounded(ttl: int, ok: bool) -> None:
    if ok:
        assert make_settings("sqlite://", DIALER_VOICE_TOKEN_TTL_SECONDS=ttl)
        return
    with pytest.raises(ValidationError, match="DIALER_VOICE_TOKEN_TTL_SECONDS"):
        make_settings("sqlite://", DIALER_VOICE_TOKEN_TTL_SECONDS=ttl)
