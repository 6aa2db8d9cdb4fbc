"""The report charts as drawn from a report's figures: SVG that parses, its
<title> and labels in the asked language as text, the bound on lines drawn,
and the same figures giving the same bytes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dialer.reports import charts, rules

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [date(2026, 11, 1) + timedelta(days=n) for n in range(30)]


def _texts(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def _agents(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(1, n + 1):
        trend = [
            {"date": d, "kept": i % 3, "missed": 1, "kept_rate": rules.rate(i % 3, i % 3 + 1)}
            for d in DAYS
        ]
        kept = sum(t["kept"] for t in trend)
        out.append(
            {"agent_id": i, "name": f"担当{i:03d}", "made": 0, "kept": kept, "missed": 30,
             "kept_rate": rules.rate(kept, kept + 30), "trend": trend}
        )  # fmt: skip
    return out


@pytest.mark.parametrize("lang", charts.LANGS)
def test_every_label_has_both_languages(lang: str) -> None:
    assert set(charts.LABELS[lang]) == set(charts.LABELS["en"])


def test_promises_chart_draws_50_agents_of_60_and_says_so() -> None:
    svg = charts.promises_svg({"days": DAYS, "agents": _agents(60)}, lang="ja")
    texts = _texts(svg)
    drawn = [t for t in texts if t.startswith("担当")]
    assert len(drawn) == charts.MAX_AGENTS_DRAWN
    assert "60人中50人を表示（期日の約束が多い順）" in texts
    assert ET.fromstring(svg).find(f"{SVG}title").text == "約束の履行率（日別）"  # type: ignore[union-attr]
    english = _texts(charts.promises_svg({"days": DAYS, "agents": _agents(60)}, lang="en"))
    assert "50 of 60 agents shown (most promises due)" in english


def test_charts_with_no_data_say_so() -> None:
    hours = rules.local_hours([], tz=ZoneInfo("Asia/Tokyo"))
    assert "この期間のデータはありません" in _texts(
        charts.hours_svg({"hours": hours, "timezone": "Asia/Tokyo"}, lang="ja")
    )
    assert "No data in this period" in _texts(
        charts.promises_svg({"days": [], "agents": _agents(0)}, lang="en")
    )


def test_the_same_figures_draw_the_same_svg_and_are_drawn_once() -> None:
    report = {"days": DAYS, "agents": _agents(3)}
    assert charts._promises_svg(report, lang="en") == charts._promises_svg(report, lang="en")
    first = charts.promises_svg(report, lang="en")
    assert charts.promises_svg(report, lang="en") is first  # from the cache
    assert charts.promises_svg(report, lang="ja") != first
    changed = {"days": DAYS, "agents": _agents(4)}
    assert charts.promises_svg(changed, lang="en") != first


def test_the_cache_is_bounded() -> None:
    tz = ZoneInfo("Asia/Tokyo")
    for n in range(charts.CACHE_SIZE + 5):
        hours = rules.local_hours([(0, n + 1, 0)], tz=tz)
        charts.hours_svg({"hours": hours, "timezone": "Asia/Tokyo"}, lang="en")
    assert len(charts._drawn) == charts.CACHE_SIZE


NAN = float("nan")


@pytest.mark.parametrize(
    ("values", "alone"),
    [
        ([], []),
        ([0.5], [0]),
        ([0.5, 0.6], []),
        ([NAN, 0.5, NAN], [1]),
        ([0.5, NAN, 0.5, 0.6, NAN, 1.0], [0, 5]),
        ([NAN, NAN], []),
    ],
)
def test_isolated_points_get_a_marker(values: list[float], alone: list[int]) -> None:
    assert charts.isolated(values) == alone


def test_charts_drawn_at_once_in_threads_are_the_charts_drawn_alone() -> None:
    """Requests draw in the server's thread pool: each draws its own Figure."""
    from concurrent.futures import ThreadPoolExecutor

    reports = [{"days": DAYS, "agents": _agents(n)} for n in range(1, 7)]
    alone = [charts._promises_svg(r, lang="ja") for r in reports]
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(lambda r: charts._promises_svg(r, lang="ja"), reports))
    assert together == alone


def test_names_are_text_never_markup() -> None:
    """The SVG is served from the service's own origin: a name must not become
    an element (a script) when the chart is opened on its own."""
    agents = _agents(1)
    agents[0]["name"] = '<script>alert("x")</script>&'
    svg = charts.promises_svg({"days": DAYS, "agents": agents}, lang="en")
    root = ET.fromstring(svg)
    assert not list(root.iter(f"{SVG}script"))
    assert '<script>alert("x")</script>&' in _texts(svg)
