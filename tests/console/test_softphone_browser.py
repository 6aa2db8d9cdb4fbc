"""The Twilio softphone module (dialer/console/static/softphone-twilio.js) in a real
Chromium with the real SDK bundle the app serves (/static/vendor/twilio.min.js,
installed by scripts/setup-softphone), against the app in twilio mode.

A test page on the app's own origin (fulfilled by Playwright, not served by the
app) loads both scripts as the app serves them (the module at
/static/console/softphone-twilio.js) and drives `window.DialerTwilioPhone`; its `fetchToken`
asks the app's real `POST /api/agents/{id}/voice-token`. Twilio's signalling is
out of reach here: one test shows the Device reporting that (registering, then
error, no crash), the others use a local stand-in of the signalling server
(fake_signalling.py) to get as far as registered and a token refresh.

Skips, saying why, without Chromium (/usr/bin/chromium), Playwright, or the
installed SDK (npm missing: scripts/test could not run scripts/setup-softphone)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from helpers import LiveServer, live_twilio

from dialer.console.vendor import BUNDLE, CHECKOUT_DIR
from dialer.testing.browser import CHROMIUM as CHROMIUM_PATH
from dialer.testing.browser import CHROMIUM_ARGS

pytest.importorskip("playwright.sync_api")

CHROMIUM = Path(CHROMIUM_PATH)
PACKAGE = json.loads((CHECKOUT_DIR / "package.json").read_text())

if not CHROMIUM.exists():
    pytest.skip("no /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)
if not (CHECKOUT_DIR / BUNDLE).exists():
    pytest.skip(
        "the Twilio SDK is not installed: run scripts/setup-softphone (needs npm)",
        allow_module_level=True,
    )

ACCOUNT = "AC" + "1" * 32
KEY_SID = "SK" + "2" * 32
KEY_SECRET = "api-key-secret-for-tests-0123456"
APP_SID = "AP" + "3" * 32
TTL = 600

ARGS = [
    *CHROMIUM_ARGS,
    # checkMicrophone: a fake microphone, granted without a prompt.
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    # The test page is fulfilled by Playwright, so Chromium knows no address for it
    # and counts it as public; its WebSocket to the loopback signalling stand-in
    # would then be refused by Local Network Access (the console itself, served
    # from the app's address, is not affected).
    "--disable-features=LocalNetworkAccessChecks",
]
PAGE = "/__softphone_test__"
PAGE_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>softphone</title>
<script src="/static/vendor/twilio.min.js"></script>
<script src="/static/console/softphone-twilio.js"></script></head><body></body></html>"""

# Makes window.phone with every callback recorded in window.seen, and a fetchToken
# that asks the app (the agent's own bearer token) and keeps what it got.
SETUP = """async ([agentId, bearer, deviceOptions]) => {
  window.seen = {registration: [], call: [], error: [], tokens: []};
  window.phone = new window.DialerTwilioPhone({
    fetchToken: async () => {
      const r = await fetch(`/api/agents/${agentId}/voice-token`,
        {method: "POST", headers: {Authorization: "Bearer " + bearer}});
      if (!r.ok) throw new Error("voice-token " + r.status);
      const body = await r.json();
      seen.tokens.push(body);
      return body;
    },
    onRegistration: (state) => seen.registration.push(state),
    onCall: (state, info) => seen.call.push([state, info]),
    onError: (code, message) => seen.error.push([code, message]),
    deviceOptions,
  });
  return true;
}"""


@pytest.fixture(scope="module")
def server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    target = tmp_path_factory.mktemp("softphone") / "dialer.db"
    shutil.copy(sqlite_template, target)
    live: LiveServer = live_twilio(
        f"sqlite:///{target}",
        account=ACCOUNT,
        token="auth-token",
        api_base="http://127.0.0.1:9",  # never asked: nothing is dialled here
        TWILIO_API_KEY_SID=KEY_SID,
        TWILIO_API_KEY_SECRET=KEY_SECRET,
        TWILIO_TWIML_APP_SID=APP_SID,
        DIALER_VOICE_TOKEN_TTL_SECONDS=TTL,
    )
    yield live
    live.close()


@pytest.fixture(scope="module")
def softphone_chromium(chromium: Any) -> Iterator[Any]:
    """A Chromium of its own (a fake microphone, no Local Network Access checks),
    from the Playwright the console's tests run (conftest's `chromium`): one
    process holds one sync Playwright at a time."""
    browser = chromium.browser_type.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
    yield browser
    browser.close()


_agents = iter(range(1, 10_000))


@pytest.fixture
def agent(server: LiveServer) -> dict[str, Any]:
    r = server.http.post("/api/campaigns", json={"name": f"Softphone {next(_agents)}"})
    assert r.status_code == 201, r.text
    name = f"Sato{next(_agents)}"
    r = server.http.post(
        "/api/agents",
        json={"name": name, "campaign_ids": [r.json()["id"]], "endpoint": f"client:{name.lower()}"},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


@pytest.fixture
def page(softphone_chromium: Any, server: LiveServer) -> Iterator[Any]:
    # Certificate errors ignored for the local signalling stand-in's own certificate.
    context = softphone_chromium.new_context(ignore_https_errors=True)
    tab = context.new_page()
    crashes: list[str] = []
    tab.on("pageerror", lambda exc: crashes.append(str(exc)))
    tab.route(
        server.url + PAGE,
        lambda route: route.fulfill(body=PAGE_HTML, content_type="text/html"),
    )
    tab.goto(server.url + PAGE)
    yield tab
    context.close()
    assert crashes == [], f"uncaught errors in the page: {crashes}"


def _setup(page: Any, agent: dict[str, Any], **device_options: Any) -> None:
    page.evaluate(SETUP, [agent["id"], agent["token"], device_options])


def _seen(page: Any) -> dict[str, Any]:
    return dict(page.evaluate("window.seen"))


def _wait(what: Callable[[], bool], *, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, KEY_SECRET, algorithms=["HS256"])
    return claims


def test_the_real_sdk_bundle_loads_from_the_app(page: Any) -> None:
    got = page.evaluate(
        "({device: typeof Twilio.Device, supported: Twilio.Device.isSupported,"
        " version: Twilio.Device.version, phone: typeof DialerTwilioPhone})"
    )
    assert got == {
        "device": "function",
        "supported": True,
        "version": PACKAGE["dependencies"]["@twilio/voice-sdk"],
        "phone": "function",
    }


def test_the_microphone_check_opens_the_fake_microphone(page: Any, agent: dict[str, Any]) -> None:
    _setup(page, agent)
    assert page.evaluate("phone.checkMicrophone()") is True
    assert _seen(page)["error"] == []


def test_without_twilios_signalling_it_reports_registering_then_error(
    page: Any, agent: dict[str, Any]
) -> None:
    """The SDK's own endpoint (wss://voice-js.roaming.twilio.com) cannot be reached
    from this closed network (elsewhere it refuses the test account): start()
    settles false, the indicator says so, nothing throws."""
    _setup(page, agent)
    # Started twice at once (a double click): one token, one Device, one answer.
    assert page.evaluate("Promise.all([phone.start(), phone.start()])") == [False, False]
    seen = _seen(page)
    assert seen["registration"][:2] == ["registering", "error"]
    assert [code for code, _ in seen["error"]][:1] == ["device"]
    # A real token from the app, for this agent's client endpoint.
    (got,) = seen["tokens"]
    assert _claims(got["token"])["grants"]["identity"] == agent["endpoint"].removeprefix("client:")
    assert page.evaluate("phone.registered") is False
    # The SDK keeps retrying with back-off; the same errors are told once.
    page.wait_for_timeout(1500)
    codes = [code for code, _ in _seen(page)["error"]]
    messages = [m for _, m in _seen(page)["error"]]
    assert len(messages) == len(set(messages)), codes
    page.evaluate("phone.stop()")
    assert _seen(page)["registration"][-1] == "unregistered"


def test_it_registers_and_refreshes_the_token_before_expiry(
    page: Any, agent: dict[str, Any]
) -> None:
    """With a signalling server to talk to: registered, and when the server says the
    token has little time left the Device's tokenWillExpire makes the module
    fetch a new token from the app and hand it over (a second `listen`)."""
    from fake_signalling import FakeSignalling

    identity = agent["endpoint"].removeprefix("client:")
    # ttl 1 s: tokenWillExpire fires at once (ttl minus the module's refresh margin).
    signalling = FakeSignalling(identity=identity, first_ttl=1)
    try:
        _setup(page, agent, chunderw=signalling.address)
        assert page.evaluate("phone.start()") is True
        assert page.evaluate("phone.registered") is True
        _wait(lambda: len(signalling.messages("listen")) >= 2)
        _wait(lambda: len(_seen(page)["tokens"]) >= 2)
        seen = _seen(page)
        assert seen["registration"][:2] == ["registering", "registered"]
        assert "error" not in seen["registration"], seen
        first, second = (m["payload"]["token"] for m in signalling.messages("listen")[:2])
        assert _claims(first)["grants"]["identity"] == identity
        # The Device carries the token the module fetched the second time.
        assert second == seen["tokens"][1]["token"]
        assert _claims(second)["grants"]["identity"] == identity
        assert signalling.messages("register")[0]["payload"] == {"media": {"audio": True}}
        # Exactly one refresh: the later answers give an hour.
        page.wait_for_timeout(500)
        assert len(_seen(page)["tokens"]) == 2
        page.evaluate("phone.stop()")
        assert page.evaluate("phone.registered") is False
        assert _seen(page)["registration"][-1] == "unregistered"
    finally:
        signalling.close()


def test_controls_without_a_call_refuse_digits_and_keep_the_mute_setting(
    page: Any, agent: dict[str, Any]
) -> None:
    _setup(page, agent)
    assert page.evaluate("phone.muted") is False
    page.evaluate("phone.setMuted(true)")
    assert page.evaluate("phone.muted") is True
    assert page.evaluate("phone.sendDigits('12#')") is False
    assert page.evaluate("phone.sendDigits('1; drop')") is False
    page.evaluate("phone.hangUp()")  # nothing to hang up: no error
    codes = [code for code, _ in _seen(page)["error"]]
    assert codes == ["digits", "digits"]
    assert page.evaluate("phone.registered") is False


def test_a_token_the_app_refuses_is_reported_not_thrown(page: Any, agent: dict[str, Any]) -> None:
    _setup(page, {**agent, "token": "not-a-token"})
    assert page.evaluate("phone.start()") is False
    seen = _seen(page)
    assert seen["registration"] == ["error"]
    assert seen["error"][0][0] == "token" and "401" in seen["error"][0][1]


# The customer's side of a bridge: a peer connection in another tab whose offer goes
# to the Device in an `invite`, and which takes the Device's answer.
OFFER = """async () => {
  const mic = await navigator.mediaDevices.getUserMedia({audio: true});
  window.peer = new RTCPeerConnection();
  mic.getTracks().forEach((t) => peer.addTrack(t, mic));
  await peer.setLocalDescription(await peer.createOffer());
  await new Promise((done) => {
    if (peer.iceGatheringState === "complete") return done();
    peer.addEventListener("icegatheringstatechange", () => {
      if (peer.iceGatheringState === "complete") done();
    });
  });
  return peer.localDescription.sdp;
}"""


def test_an_incoming_bridge_is_accepted_at_once_and_driven_by_the_controls(
    page: Any, agent: dict[str, Any]
) -> None:
    """The bridge of a customer who answered rings the Device: the module accepts it
    without a click (ringing, then talking), mute and DTMF reach the call, hang-up
    ends it at Twilio's side (`hangup`) and reports ended."""
    from fake_signalling import FakeSignalling

    identity = agent["endpoint"].removeprefix("client:")
    signalling = FakeSignalling(identity=identity, first_ttl=3600)
    customer = page.context.new_page()
    try:
        customer.goto(page.url)
        _setup(page, agent, chunderw=signalling.address)
        assert page.evaluate("phone.start()") is True
        sid = "CA" + "4" * 32
        signalling.send(
            "invite",
            {
                "callsid": sid,
                "sdp": customer.evaluate(OFFER),
                "parameters": {
                    "CallSid": sid,
                    "From": "+81312345678",
                    "To": agent["endpoint"],
                    "Params": "lead_id=7",
                },
            },
        )
        _wait(lambda: bool(signalling.messages("answer")))
        (answer,) = signalling.messages("answer")
        assert answer["payload"]["callsid"] == sid
        customer.evaluate(
            "(sdp) => peer.setRemoteDescription({type: 'answer', sdp})", answer["payload"]["sdp"]
        )
        _wait(lambda: [s for s, _ in _seen(page)["call"]] == ["ringing", "talking"])
        info = _seen(page)["call"][0][1]
        assert info == {
            "callSid": sid,
            "from": "+81312345678",
            "to": agent["endpoint"],
            "direction": "incoming",
            "parameters": {"lead_id": "7"},
        }
        page.evaluate("phone.setMuted(true)")
        assert page.evaluate("phone.muted") is True
        assert page.evaluate("phone._call.isMuted()") is True
        assert page.evaluate("phone.sendDigits('1#')") is True
        page.evaluate("phone.hangUp()")
        _wait(lambda: [s for s, _ in _seen(page)["call"]][-1:] == ["ended"])
        assert signalling.messages("hangup")[0]["payload"]["callsid"] == sid
        # The next customer is not greeted muted.
        assert page.evaluate("phone.muted") is False
        assert [code for code, _ in _seen(page)["error"]] == []
    finally:
        customer.close()
        signalling.close()


def test_a_token_twilio_refuses_is_replaced_once_not_in_a_loop(
    page: Any, agent: dict[str, Any]
) -> None:
    """Twilio says the token expired (20104): the module fetches a new one; the same
    refusal again at once (a key Twilio keeps refusing) asks no further token."""
    from fake_signalling import FakeSignalling

    identity = agent["endpoint"].removeprefix("client:")
    signalling = FakeSignalling(identity=identity, first_ttl=3600)
    try:
        _setup(page, agent, chunderw=signalling.address)
        assert page.evaluate("phone.start()") is True
        expired = {"error": {"code": 20104, "message": "Access Token expired"}}
        signalling.send("error", expired)
        _wait(lambda: len(_seen(page)["tokens"]) == 2)
        _wait(lambda: len(signalling.messages("listen")) == 2)
        signalling.send("error", expired)
        page.wait_for_timeout(500)
        seen = _seen(page)
        assert len(seen["tokens"]) == 2
        # Told once (the same code is not repeated), and still registered.
        assert [(c, m.split(" ")[0]) for c, m in seen["error"]] == [("device", "20104")]
        assert seen["registration"] == ["registering", "registered"]
    finally:
        signalling.close()


# The console builds its DialerTwilioPhone with no Device options; this points the
# Device it makes at the signalling stand-in, leaving everything else as served.
POINT_AT = """(address) => {
  let Phone;
  Object.defineProperty(window, "DialerTwilioPhone", {
    configurable: true,
    get: () => Phone,
    set: (Served) => {
      Phone = class extends Served {
        constructor(options) { super({ ...options, deviceOptions: { chunderw: address } }); }
      };
    },
  });
}"""


def test_the_console_in_twilio_mode_registers_and_takes_the_bridge(
    softphone_chromium: Any, server: LiveServer, agent: dict[str, Any]
) -> None:
    """The agent console itself (`/`, twilio mode) with the served SDK and module:
    signed in with a password, its softphone gets the token, registers (the
    indicator says so, the microphone check passes), and a customer's bridge is
    taken without a click and shown as talking, then ended."""
    from fake_signalling import FakeSignalling
    from playwright.sync_api import expect

    password = "softphone-console-password"
    r = server.http.put(f"/api/agents/{agent['id']}/password", json={"password": password})
    assert r.status_code == 204, r.text
    identity = agent["endpoint"].removeprefix("client:")
    signalling = FakeSignalling(identity=identity, first_ttl=3600)
    context = softphone_chromium.new_context(
        ignore_https_errors=True, viewport={"width": 1366, "height": 768}, locale="en-US"
    )
    context.set_default_timeout(15_000)
    crashes: list[str] = []
    try:
        context.add_init_script(f"({POINT_AT})({json.dumps(signalling.address)})")
        signed = context.request.post(
            f"{server.url}/api/session", data={"name": agent["name"], "password": password}
        )
        assert signed.status == 200, signed.text()
        console = context.new_page()
        console.on("pageerror", lambda exc: crashes.append(str(exc)))
        console.goto(f"{server.url}/")
        expect(console.locator("#reg-state")).to_have_attribute("data-state", "registered")
        expect(console.locator("#reg-state")).to_have_text("Registered")
        expect(console.locator("#mic-state")).to_have_attribute("data-state", "ok")
        (listen,) = signalling.messages("listen")
        assert _claims(listen["payload"]["token"])["grants"]["identity"] == identity

        customer = context.new_page()
        # Any page of the app's origin: a secure context, so the microphone opens.
        customer.goto(f"{server.url}/healthz")
        sid = "CA" + "5" * 32
        signalling.send(
            "invite",
            {
                "callsid": sid,
                "sdp": customer.evaluate(OFFER),
                "parameters": {"CallSid": sid, "From": "+81312345678", "To": agent["endpoint"]},
            },
        )
        _wait(lambda: bool(signalling.messages("answer")))
        answer = signalling.messages("answer")[0]["payload"]["sdp"]
        customer.evaluate("(sdp) => peer.setRemoteDescription({type: 'answer', sdp})", answer)
        expect(console.locator("#call-status")).to_have_text("Talking")
        # The customer hangs up (Twilio's `hangup` for the call).
        signalling.send("hangup", {"callsid": sid})
        expect(console.locator("#call-status")).to_have_text("Ended")
        assert crashes == []
    finally:
        context.close()
        signalling.close()
