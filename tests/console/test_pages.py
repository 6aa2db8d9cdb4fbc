"""The console's pages without a browser: catalogs with one key set, each page wholly
in one language, the language choice, the redirect to sign-in, the static files."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers import MANAGER_TOKEN, make_settings

from dialer.app import create_app
from dialer.console.i18n import LANGUAGES, catalog, choose_language, from_accept_language

OTHER = {"en": "ja", "ja": "en"}
# Every page the console serves; `/` for a signed-in agent.
PAGES = ["/login", "/"]
PASSWORD = "a long enough password"


@pytest.fixture
def web(tmp_path: Path, sqlite_template: Path) -> Iterator[TestClient]:
    # The pages read no table: one engine is enough.
    target = tmp_path / "dialer.db"
    shutil.copy(sqlite_template, target)
    with TestClient(create_app(make_settings(f"sqlite:///{target}"))) as client:
        yield client


def sign_in(client: TestClient) -> None:
    manager = {"Authorization": f"Bearer {MANAGER_TOKEN}"}
    agent = client.post("/api/agents", json={"name": "sato"}, headers=manager).json()
    r = client.put(
        f"/api/agents/{agent['id']}/password", json={"password": PASSWORD}, headers=manager
    )
    assert r.status_code == 204, r.text
    r = client.post("/api/session", json={"name": "sato", "password": PASSWORD})
    assert r.status_code == 200, r.text


def test_catalogs_have_one_key_set_and_no_empty_string() -> None:
    en, ja = catalog("en"), catalog("ja")
    assert set(en) == set(ja), set(en) ^ set(ja)
    for lang in LANGUAGES:
        empty = [k for k, v in catalog(lang).items() if not v.strip()]
        assert not empty, (lang, empty)
        # The same fields in both: a sentence that drops `{time}` would show no time.
        for key, text in catalog(lang).items():
            other = catalog(OTHER[lang])[key]
            assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", other)), key


class _Text(HTMLParser):
    """What a person reads or a screen reader says: text and labelling attributes,
    not scripts (the page's catalog is checked apart)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("aria-label", "title", "placeholder", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def _pieces(text: str) -> list[str]:
    # The fixed words of a catalog string, without its `{fields}`; short pieces
    # (a dash, a colon) belong to no language.
    return [p.strip() for p in re.split(r"\{\w+\}", text) if len(p.strip()) >= 3]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_wholly_in_one_language(web: TestClient, lang: str, path: str) -> None:
    sign_in(web)
    r = web.get(path, params={"lang": lang}, follow_redirects=False)
    assert r.status_code == 200, r.text
    assert r.headers["content-language"] == lang
    html = r.text
    assert f'<html lang="{lang}">' in html
    shown = "\n".join(_read(html))
    foreign = [
        piece
        for value in catalog(OTHER[lang]).values()
        for piece in _pieces(value)
        if piece not in catalog(lang).values() and piece in shown
    ]
    assert not foreign, foreign
    embedded = re.search(
        r'<script type="application/json" id="console-catalog">(.*?)</script>', html, re.S
    )
    assert embedded is not None
    # The agent console's own strings, not the manager console's.
    assert json.loads(embedded.group(1)) == catalog(lang, ())


def _read(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    # The language switch names each language in itself on every page.
    return [p for p in parser.parts if p not in ("English", "日本語")]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("ja", "ja"),
        ("ja-JP,ja;q=0.9,en;q=0.8", "ja"),
        ("en-US,en;q=0.9,ja;q=0.8", "en"),
        ("fr-FR,fr;q=0.9", None),
        ("fr,ja;q=0.5,en;q=0.7", "en"),
        ("en;q=0,ja", "ja"),
        ("ja;q=bad,en", "en"),
        ("*", None),
    ],
)
def test_accept_language(header: str | None, expected: str | None) -> None:
    assert from_accept_language(header) == expected


@pytest.mark.parametrize(
    ("asked", "cookie", "accept", "expected"),
    [
        (None, None, None, "en"),
        (None, None, "ja-JP", "ja"),
        (None, "en", "ja-JP", "en"),
        ("ja", "en", "en", "ja"),
        (None, "xx", "ja", "ja"),
    ],
)
def test_choice_order(asked: str | None, cookie: str | None, accept: str, expected: str) -> None:
    assert choose_language(asked=asked, cookie=cookie, accept_language=accept) == expected


def test_language_from_header_then_switch_remembered(web: TestClient) -> None:
    r = web.get("/login", headers={"Accept-Language": "ja-JP,ja;q=0.9"})
    assert 'lang="ja"' in r.text and "ログイン" in r.text
    r = web.get("/login", params={"lang": "en"}, headers={"Accept-Language": "ja"})
    assert r.cookies.get("dialer_lang") == "en"
    r = web.get("/login", headers={"Accept-Language": "ja"})
    assert '<html lang="en">' in r.text and "Sign in" in r.text


def test_a_language_we_do_not_have_is_refused_naming_the_field(web: TestClient) -> None:
    r = web.get("/login", params={"lang": "fr"})
    assert r.status_code == 422
    assert r.json()["field"] == "lang"


def test_console_without_a_live_session_goes_to_sign_in(web: TestClient) -> None:
    web.cookies.clear()
    for cookie in (None, "not-a-session", "x" * 300):
        if cookie is not None:
            web.cookies.set("dialer_session", cookie)
        r = web.get("/", follow_redirects=False)
        assert r.status_code == 303, cookie
        assert r.headers["location"] == "/login"
    r = web.get("/", params={"lang": "ja"}, follow_redirects=False)
    assert r.headers["location"] == "/login?lang=ja"
    # Signed out: the cookie no longer opens the console.
    web.cookies.clear()
    sign_in(web)
    assert web.get("/", follow_redirects=False).status_code == 200
    csrf = web.get("/api/session").json()["csrf_token"]
    assert web.delete("/api/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert web.get("/", follow_redirects=False).status_code == 303


def test_console_renders_the_mode_and_its_controls(web: TestClient) -> None:
    sign_in(web)
    html = web.get("/", params={"lang": "en"}).text
    config = re.search(r'id="console-config">(.*?)</script>', html, re.S)
    assert config is not None
    assert json.loads(config.group(1)) == {"base": "", "lang": "en", "mode": "simulated"}
    for name in ("Next lead", "Dial", "Hang up", "Converted", "Answering machine", "+10 min"):
        assert name in html
    # Simulated telephony loads no softphone bundle.
    assert "twilio.min.js" not in html


def test_static_files(web: TestClient) -> None:
    r = web.get("/static/console/console.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert web.get("/static/console/console.css").headers["content-type"].startswith("text/css")
    for bad in ("nope.js", "..%2Fi18n.py", "console.py", "a" * 100 + ".js"):
        r = web.get(f"/static/console/{bad}")
        assert r.status_code == 404, bad
        assert r.json()["code"] == "not_found"


def test_pages_are_not_in_the_api_schema(web: TestClient) -> None:
    paths = web.get("/openapi.json").json()["paths"]
    assert "/" not in paths and "/login" not in paths
    assert not [p for p in paths if p.startswith("/static")]


def test_twilio_mode_loads_the_sdk_bundle_and_the_softphone_module(
    tmp_path: Path, sqlite_template: Path
) -> None:
    target = tmp_path / "twilio.db"
    shutil.copy(sqlite_template, target)
    settings = make_settings(
        f"sqlite:///{target}",
        DIALER_TELEPHONY="twilio",
        TWILIO_ACCOUNT_SID="AC" + "1" * 32,
        TWILIO_AUTH_TOKEN="auth-token",
        TWILIO_API_BASE="http://127.0.0.1:9",  # never asked: nothing is dialled here
        DIALER_PUBLIC_URL="https://dialer.example.com",
    )
    # The session cookie is Secure with an https public URL: the client speaks https.
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        sign_in(client)
        for lang in LANGUAGES:
            html = client.get("/", params={"lang": lang}).text
            assert '"mode": "twilio"' in html
            sdk = html.index('src="/static/vendor/twilio.min.js"')
            module = html.index('src="/static/console/softphone-twilio.js"')
            assert sdk < module < html.index('src="/static/console/console.js"')
            assert 'id="reg-state"' in html and 'id="mic-state"' in html
