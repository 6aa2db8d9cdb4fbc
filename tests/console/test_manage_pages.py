"""The manager console's pages without a browser: who gets which page (sign-in,
the agent's 403, the manager's `/` → `/manage`), every page wholly in one
language with the whole catalog and its config embedded, ids bounded, and the
pages kept out of the API schema."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers import MANAGER_TOKEN, make_settings
from test_pages import OTHER, _pieces, _read

from dialer.app import create_app
from dialer.console.i18n import LANGUAGES, catalog

PASSWORD = "a long enough password"
MANAGER = {"Authorization": f"Bearer {MANAGER_TOKEN}"}
# Every manager page with the config its script is given (besides base, lang, mode).
PAGES = {
    "/manage": {"page": "floor"},
    "/manage/reports": {"page": "reports"},
    "/manage/campaigns": {"page": "campaigns"},
    "/manage/campaigns/new": {"page": "campaign_new"},
    "/manage/campaigns/7": {"page": "campaign", "campaign_id": 7},
    "/manage/campaigns/7/lists": {"page": "lists", "campaign_id": 7},
    "/manage/leads": {"page": "leads"},
    "/manage/leads/42": {"page": "lead", "lead_id": 42},
    "/manage/conversions": {"page": "conversions"},
    "/manage/dnc": {"page": "dnc"},
    "/manage/people": {"page": "people"},
}
NAV = ["Floor", "Campaigns", "Leads", "Conversions", "Do-not-call", "People", "Reports"]
NAV_JA = ["フロア", "キャンペーン", "リード", "成約", "架電禁止", "ユーザー", "レポート"]


@pytest.fixture
def web(tmp_path: Path, sqlite_template: Path) -> Iterator[TestClient]:
    # The pages read only the session: one engine is enough.
    target = tmp_path / "dialer.db"
    shutil.copy(sqlite_template, target)
    with TestClient(create_app(make_settings(f"sqlite:///{target}"))) as client:
        yield client


def sign_in(client: TestClient, *, role: str, name: str) -> None:
    r = client.post("/api/agents", json={"name": name, "role": role}, headers=MANAGER)
    assert r.status_code == 201, r.text
    agent_id = r.json()["id"]
    r = client.put(f"/api/agents/{agent_id}/password", json={"password": PASSWORD}, headers=MANAGER)
    assert r.status_code == 204, r.text
    r = client.post("/api/session", json={"name": name, "password": PASSWORD})
    assert r.status_code == 200, r.text


def _json_script(html: str, element_id: str) -> object:
    pattern = rf'<script type="application/json" id="{element_id}">(.*?)</script>'
    found = re.search(pattern, html, re.S)
    assert found is not None, element_id
    return json.loads(found.group(1))


@pytest.mark.parametrize("path", PAGES)
def test_without_a_session_every_page_goes_to_sign_in(web: TestClient, path: str) -> None:
    r = web.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login"
    r = web.get(path, params={"lang": "ja"}, follow_redirects=False)
    assert r.headers["location"] == "/login?lang=ja"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_agent_gets_a_403_page_in_its_language_with_a_link_home(
    web: TestClient, lang: str
) -> None:
    sign_in(web, role="agent", name="sato")
    for path in PAGES:
        r = web.get(path, params={"lang": lang}, follow_redirects=False)
        assert r.status_code == 403, path
        assert r.headers["content-language"] == lang
        assert catalog(lang)["manage.forbidden"] in r.text
        assert f'<a href="/">{catalog(lang)["manage.forbidden_back"]}</a>' in r.text
        assert "manage-catalog" not in r.text  # nothing of the console is handed out
    # The agent's own console is still its home.
    assert web.get("/", follow_redirects=False).status_code == 200


def test_a_manager_opening_the_agent_console_is_sent_to_the_floor(web: TestClient) -> None:
    sign_in(web, role="manager", name="boss")
    r = web.get("/", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/manage"
    r = web.get("/", params={"lang": "ja"}, follow_redirects=False)
    assert r.headers["location"] == "/manage?lang=ja"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_wholly_in_one_language_with_its_config(
    web: TestClient, lang: str, path: str
) -> None:
    sign_in(web, role="manager", name="boss")
    r = web.get(path, params={"lang": lang})
    assert r.status_code == 200, r.text
    assert r.headers["content-language"] == lang
    assert r.headers["cache-control"] == "no-store"
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
    assert _json_script(html, "manage-catalog") == catalog(lang)
    assert _json_script(html, "manage-config") == {
        "base": "",
        "lang": lang,
        "mode": "simulated",
        **PAGES[path],
    }
    # The shared module first, then the page's own script.
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts[0] == "/static/console/manage.js"
    # The nav names every section, in the page's language; the signed-in name shows.
    names = re.findall(r'<nav class="manage-nav"[^>]*>(.*?)</nav>', html, re.S)[0]
    assert re.findall(r">([^<]+)</a>", names) == (NAV if lang == "en" else NAV_JA)
    assert ">boss</span>" in html


def test_the_section_of_the_page_is_marked_current(web: TestClient) -> None:
    sign_in(web, role="manager", name="boss")
    for path, current in [
        ("/manage", "/manage"),
        ("/manage/campaigns/7/lists", "/manage/campaigns"),
        ("/manage/leads/42", "/manage/leads"),
        ("/manage/people", "/manage/people"),
    ]:
        html = web.get(path, params={"lang": "en"}).text
        assert re.findall(r'<a href="([^"]+)" aria-current="page">', html) == [current], path


@pytest.mark.parametrize(
    "path", ["/manage/campaigns/0", "/manage/campaigns/x", "/manage/leads/-1",
             f"/manage/leads/{2**63}", "/manage/campaigns/0/lists"]
)  # fmt: skip
def test_ids_are_bounded(web: TestClient, path: str) -> None:
    sign_in(web, role="manager", name="boss")
    r = web.get(path)
    assert r.status_code == 422
    assert r.json()["code"] == "validation_error"


def test_manager_pages_and_scripts_are_served_and_not_in_the_schema(web: TestClient) -> None:
    paths = web.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/manage")]
    for name in ("manage.js", "manage.css"):
        r = web.get(f"/static/console/{name}")
        assert r.status_code == 200, name
    scripts = re.compile(r'src="/static/console/([a-z-]+\.js)"')
    sign_in(web, role="manager", name="boss")
    for path in PAGES:
        for name in scripts.findall(web.get(path).text):
            if name in ("manage-floor.js", "manage-reports.js"):
                continue  # the floor and reports pages' own (another part's)
            assert web.get(f"/static/console/{name}").status_code == 200, (path, name)


def test_the_new_campaign_form_starts_from_what_a_campaign_gets_by_default(
    web: TestClient,
) -> None:
    sign_in(web, role="manager", name="boss")
    html = web.get("/manage/campaigns/new").text
    defaults = _json_script(html, "campaign-defaults")
    assert isinstance(defaults, dict)
    created = web.post("/api/campaigns", json={"name": "plain"}, headers=MANAGER).json()
    assert defaults == {key: created[key] for key in defaults}
    # Every field of the form but the name and the status (its own button).
    assert set(created) - set(defaults) >= {"id", "name", "status"}
    assert set(created) - set(defaults) - {"id", "name", "status"} <= {
        "dialing_blocked",
        "created_at",
        "updated_at",
    }
