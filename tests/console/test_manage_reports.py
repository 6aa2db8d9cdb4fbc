"""The reports page (/manage/reports) in a real browser: a day's work of an agent,
then the manager reads it: the leaderboard downloaded as CSV and parsed, the
answer-rate chart loaded (issue 15, test 4's first half), both languages."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path
from typing import Any

from conftest import STEP_MS, Service, live_manager, live_sign_in, shift
from playwright.sync_api import expect

from dialer.console.i18n import catalog

expect.set_options(timeout=STEP_MS)

TABLES = {
    "en": [
        "Leaderboard",
        "Funnel",
        "Promises kept",
        "Conversions by channel",
        "Answer rate by hour",
    ],
    "ja": ["成績", "ファネル", "約束の履行率", "チャネル別の成約", "時間帯別の応答率"],
}
DOWNLOAD = {"en": "Download CSV: {table}", "ja": "CSVをダウンロード: {table}"}


def _a_day_of_work(service: Service) -> dict[str, Any]:
    """Sato calls 山田 (who answers) and converts him: one call, one contact, one
    conversion on the campaign's 1 December."""
    campaign, agent = shift(service)
    auth = {"Authorization": f"Bearer {agent['token']}"}
    lead = service.ok(service.http.post(f"/api/agents/{agent['id']}/next", headers=auth))["lead"]
    call = service.ok(
        service.http.post(f"/api/leads/{lead['id']}/calls", json={}, headers=auth), 201
    )
    # The simulated customer answers within a tick of the dialer: wait for it.
    deadline = time.monotonic() + STEP_MS / 1000
    while service.ok(service.http.get(f"/api/calls/{call['id']}"))["status"] != "in-progress":
        assert time.monotonic() < deadline, "the call was never answered"
        time.sleep(0.1)
    service.ok(
        service.http.post(
            f"/api/calls/{call['id']}/disposition", json={"outcome": "converted"}, headers=auth
        )
    )
    return campaign


def _chart_loaded(page: Any, img_id: str) -> None:
    img = page.locator(f"#{img_id}")
    expect(img).to_be_visible()
    page.wait_for_function(
        "id => { const i = document.getElementById(id); return i.complete && i.naturalWidth > 0; }",
        arg=img_id,
        timeout=STEP_MS,
    )
    assert img.get_attribute("alt")


def test_4_the_report_page_leaderboard_csv_downloaded_and_the_chart_present(
    service: Service, browser: Any, tmp_path: Path
) -> None:
    campaign = _a_day_of_work(service)
    live_manager(service)
    page = browser.new_page()
    live_sign_in(
        page,
        service,
        name="suzuki",
        path=f"/manage/reports?campaign_id={campaign['id']}&since=2026-12-01&until=2026-12-01",
    )
    for table in TABLES["en"]:
        expect(page.get_by_role("heading", name=table, exact=True)).to_be_visible()
    expect(page.get_by_label("From", exact=True)).to_have_value("2026-12-01")
    expect(page.get_by_label("To", exact=True)).to_have_value("2026-12-01")
    leaderboard = page.get_by_role("region", name="Leaderboard")
    sato = leaderboard.get_by_role("row").filter(has=page.get_by_role("rowheader", name="sato"))
    expect(sato).to_have_count(1)
    expect(sato.get_by_role("cell").nth(0)).to_have_text("1")  # calls

    button = page.get_by_role("button", name="Download CSV: Leaderboard", exact=True)
    expect(button).to_be_enabled()
    with page.expect_download() as got:
        button.click()
    saved = tmp_path / "leaderboard.csv"
    got.value.save_as(saved)
    assert got.value.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(saved.read_bytes().decode("utf-8-sig"))))
    assert [r["name"] for r in rows] == ["sato"], rows
    assert rows[0]["calls"] == "1" and rows[0]["contacts"] == "1", rows

    # Answered at 10:00 Tokyo time: the chart is drawn, its figures in the table beside.
    _chart_loaded(page, "hours-chart")
    hours = page.get_by_role("region", name="Answer rate by hour")
    ten = hours.get_by_role("row").filter(has=page.get_by_role("rowheader", name="10:00"))
    expect(ten.get_by_role("cell")).to_have_text(["1", "1", re.compile("100")])
    _chart_loaded(page, "promises-chart")
    expect(page.get_by_role("region", name="Funnel")).to_contain_text("Converted")
    expect(page.get_by_role("region", name="Conversions by channel")).to_contain_text("Phone")
    # Every table has its own download, named after it.
    for table in TABLES["en"]:
        expect(
            page.get_by_role("button", name=f"Download CSV: {table}", exact=True)
        ).to_be_enabled()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366


def test_the_report_page_in_both_languages(service: Service, browser: Any) -> None:
    campaign = _a_day_of_work(service)
    live_manager(service)
    page = browser.new_page()
    path = f"/manage/reports?campaign_id={campaign['id']}&since=2026-12-01&until=2026-12-01"
    live_sign_in(page, service, name="suzuki", path=path, lang="ja")
    for lang in ("ja", "en"):
        if lang == "en":
            page.goto(f"{service.url}{path}&lang=en")
        assert page.locator("html").get_attribute("lang") == lang
        for table in TABLES[lang]:
            expect(page.get_by_role("heading", name=table, exact=True)).to_be_visible()
            name = DOWNLOAD[lang].format(table=table)
            expect(page.get_by_role("button", name=name, exact=True)).to_be_enabled()
        expect(page.get_by_label("開始日" if lang == "ja" else "From", exact=True)).to_be_visible()
        _chart_loaded(page, "hours-chart")
        alt = page.locator("#hours-chart").get_attribute("alt") or ""
        assert ("グラフ" in alt) == (lang == "ja"), alt
        shown = page.locator("body").inner_text()
        other = catalog("en" if lang == "ja" else "ja")
        own = set(catalog(lang).values())
        foreign = sorted(
            {
                piece.strip()
                for text in other.values()
                for piece in re.split(r"\{\w+\}", text)
                if len(piece.strip()) >= 3 and piece.strip() not in own and piece.strip() in shown
            }
        )
        assert not foreign, (lang, foreign)
