"""GET /static/vendor/twilio.min.js: the SDK bundle from where scripts/setup-softphone
installed it (or DIALER_SOFTPHONE_DIR), revalidated by ETag, and a one-line 404
naming the set-up step when it is not installed; the npm package pinned exactly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers import make_settings

from dialer.app import create_app
from dialer.console.vendor import BUNDLE, CHECKOUT_DIR

URL = "/static/vendor/twilio.min.js"
SOURCE = "/* twilio bundle stand-in */ window.Twilio = {};\n"


def _client(db_url: str, softphone_dir: Path) -> Iterator[TestClient]:
    settings = make_settings(db_url, DIALER_SOFTPHONE_DIR=str(softphone_dir))
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def installed(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    bundle = tmp_path / BUNDLE
    bundle.parent.mkdir(parents=True)
    bundle.write_text(SOURCE)
    yield from _client(db_url, tmp_path)


@pytest.fixture
def missing(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(db_url, tmp_path / "nothing-here")


def test_the_bundle_is_served_as_javascript_without_a_token(installed: TestClient) -> None:
    r = installed.get(URL)
    assert r.status_code == 200, r.text
    assert r.text == SOURCE
    assert r.headers["content-type"].startswith("text/javascript")
    # No version in the URL: browsers must revalidate, and an unchanged bundle
    # costs a 304.
    assert r.headers["cache-control"] == "no-cache"
    etag = r.headers["etag"]
    again = installed.get(URL, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert installed.get(URL, headers={"If-None-Match": '"other"'}).status_code == 200


def test_not_installed_is_a_one_line_404_naming_the_set_up_step(missing: TestClient) -> None:
    r = missing.get(URL)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text.endswith("\n") and "\n" not in r.text[:-1], r.text
    assert "scripts/setup-softphone" in r.text and "DIALER_SOFTPHONE_DIR" in r.text


def test_the_route_is_not_in_the_api_schema(installed: TestClient) -> None:
    assert URL not in installed.get("/openapi.json").json()["paths"]


def test_the_sdk_is_pinned_to_one_version_in_the_package_and_its_lock() -> None:
    package = json.loads((CHECKOUT_DIR / "package.json").read_text())
    lock = json.loads((CHECKOUT_DIR / "package-lock.json").read_text())
    # The only npm dependency, at an exact version (no range), the one the lock holds.
    assert list(package["dependencies"]) == ["@twilio/voice-sdk"]
    assert "devDependencies" not in package
    pinned = package["dependencies"]["@twilio/voice-sdk"]
    assert pinned[0].isdigit() and all(c.isdigit() or c == "." for c in pinned), pinned
    assert lock["packages"][""]["dependencies"] == {"@twilio/voice-sdk": pinned}
    assert lock["packages"]["node_modules/@twilio/voice-sdk"]["version"] == pinned
    # Every package in the lock comes with its integrity hash.
    for name, entry in lock["packages"].items():
        if name:
            assert entry.get("integrity", "").startswith("sha512-"), name
