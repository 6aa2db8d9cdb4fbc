"""/docs and /redoc work on a machine with no internet: every script, style sheet,
icon and document they load comes from this server, and each of them answers."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from helpers import make_settings

from dialer.app import create_app

# What each kind of asset must be served as, for a browser to use it.
CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
    ".json": ("application/json",),
}


class _References(HTMLParser):
    """Every URL the page makes the browser load: src, href, ReDoc's spec-url."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "spec-url") and value:
                self.urls.append(value)


def references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    # Swagger UI is told where the document is in its script: `url: '/openapi.json'`.
    return parser.urls + re.findall(r"""\burl:\s*['"]([^'"]+)['"]""", html)


@pytest.fixture(scope="module")
def client() -> TestClient:
    # No lifespan: the pages and their assets need no database.
    return TestClient(create_app(make_settings("sqlite://")))


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_page_loads_only_same_origin_assets_and_each_answers(
    client: TestClient, page: str
) -> None:
    r = client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", r.text, re.I), r.text
    urls = references(r.text)
    scripts = [u for u in urls if u.endswith(".js")]
    assert scripts, f"{page} loads no script: {urls}"
    assert any(u.endswith("/openapi.json") for u in urls), urls
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        suffix = re.search(r"\.[a-z]+$", parts.path)
        assert suffix is not None, url
        kind = asset.headers["content-type"].split(";")[0].strip()
        assert kind in CONTENT_TYPES[suffix.group(0)], (url, kind)
        assert len(asset.content) > 0, url


def test_the_scripts_are_the_real_bundles(client: TestClient) -> None:
    """Not placeholders: Swagger UI's and ReDoc's own code, as packaged."""
    for page, marker in (("/docs", "SwaggerUIBundle"), ("/redoc", "Redoc")):
        [script] = [u for u in references(client.get(page).text) if u.endswith(".js")]
        body = client.get(script).text
        assert len(body) > 100_000 and marker in body, script
