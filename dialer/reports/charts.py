"""The reports' charts as SVG, drawn with matplotlib from a report's figures.

Text stays text (`svg.fonttype: none`): the browser draws the labels with its
own fonts, so Japanese titles need no font on the server, and the family list
ends in the generic `sans-serif` for the browser to pick one that has the
glyphs. Charts take the report's dict, never a session: the route renders them
after its transaction has closed. Matplotlib's object API only (no pyplot, which
keeps global figures): each request draws its own `Figure`."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

# Lines drawn at most in the promises chart: a legend and a plot stay readable,
# and the work stays bounded however many agents a campaign has.
MAX_AGENTS_DRAWN = 50
LANGS = ("en", "ja")

# Titles and axis labels, per language: the charts' own strings, apart from the
# consoles' catalogs (an API answer, read by any client).
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "hours_title": "Answer rate by hour of day",
        "hours_x": "Hour of day ({zone})",
        "hours_rate": "Answer rate",
        "hours_calls": "Calls",
        "hours_desc": "Bars: share of calls answered by a person, per local hour. "
        "Line: calls placed.",
        "promises_title": "Promises kept rate by day",
        "promises_x": "Due date",
        "promises_rate": "Kept rate",
        "promises_desc": "One line per agent: promises kept among those kept or missed, "
        "by the day they were due.",
        "promises_some": "{drawn} of {total} agents shown (most promises due)",
        "no_data": "No data in this period",
    },
    "ja": {
        "hours_title": "時間帯別の応答率",
        "hours_x": "時刻（{zone}）",
        "hours_rate": "応答率",
        "hours_calls": "発信数",
        "hours_desc": "棒：本人が応答した通話の割合（現地時刻の時間帯別）。線：発信数。",
        "promises_title": "約束の履行率（日別）",
        "promises_x": "約束の期日",
        "promises_rate": "履行率",
        "promises_desc": "エージェントごとの線：期日の日別に、履行と不履行のうち履行の割合。",
        "promises_some": "{total}人中{drawn}人を表示（期日の約束が多い順）",
        "no_data": "この期間のデータはありません",
    },
}
FONTS = [
    "Noto Sans CJK JP",
    "Hiragino Sans",
    "Yu Gothic",
    "Meiryo",
    "IPAexGothic",
    "DejaVu Sans",
    "sans-serif",
]
# Charts drawn lately, by language and figures: a console reloading the report
# page (or two managers on one campaign) gets the same bytes without drawing
# again. Drawing is the costly part (a few hundred ms); the key costs a hash.
CACHE_SIZE = 32
_drawn: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()
_drawn_lock = threading.Lock()
_BAR = "#2f6fb5"
_LINE = "#c2571a"


@cache
def _matplotlib() -> Any:
    """Matplotlib, set up once for the process on first use (its import costs
    half a second, which a process that never draws a chart need not pay)."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update(
        {
            "svg.fonttype": "none",
            # Stable element ids: the same figures give the same SVG.
            "svg.hashsalt": "dialer-reports",
            "font.family": ["sans-serif"],
            "font.sans-serif": FONTS,
            "font.size": 10,
        }
    )
    # Layout measures text with the server's fonts, which may lack Japanese
    # glyphs; the browser draws the text, so those notices say nothing useful.
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    from matplotlib import dates, figure, ticker

    return figure, ticker, dates


def _svg(fig: Any, *, title: str, desc: str, lang: str) -> bytes:
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None, "Title": title})
    text = out.getvalue()
    # A <title> (and <desc>) first in the root: what assistive technology names
    # the image by; matplotlib writes the title only into its RDF metadata.
    head = (
        f'<title id="chart-title">{escape(title)}</title>'
        f'<desc id="chart-desc">{escape(desc)}</desc>'
    )
    text = re.sub(
        r"<svg\b([^>]*)>",
        lambda m: (
            f'<svg{m.group(1)} role="img" xml:lang="{lang}" '
            f'aria-labelledby="chart-title chart-desc">{head}'
        ),
        text,
        count=1,
    )
    return text.encode("utf-8")


def _cached(kind: str, report: dict[str, Any], lang: str, draw: Callable[[], bytes]) -> bytes:
    digest = hashlib.sha256(
        json.dumps(report, sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()
    key = (kind, lang, digest)
    with _drawn_lock:
        if key in _drawn:
            _drawn.move_to_end(key)
            return _drawn[key]
    svg = draw()
    with _drawn_lock:
        _drawn[key] = svg
        while len(_drawn) > CACHE_SIZE:
            _drawn.popitem(last=False)
    return svg


def hours_svg(report: dict[str, Any], *, lang: str) -> bytes:
    """Bars: answer rate per local hour (0–23); line on a second axis: calls."""
    return _cached("hours", report, lang, lambda: _hours_svg(report, lang=lang))


def promises_svg(report: dict[str, Any], *, lang: str) -> bytes:
    """One line per agent: the kept rate per due day (gaps on days with none due)."""
    return _cached("promises", report, lang, lambda: _promises_svg(report, lang=lang))


def _hours_svg(report: dict[str, Any], *, lang: str) -> bytes:
    figure, ticker, _ = _matplotlib()
    words = LABELS[lang]
    hours = report["hours"]
    fig = figure.Figure(figsize=(8, 3.6))
    fig.subplots_adjust(left=0.1, right=0.9, bottom=0.15, top=0.88)
    ax = fig.add_subplot()
    x = [h["hour"] for h in hours]
    ax.bar(x, [h["answer_rate"] or 0 for h in hours], color=_BAR, label=words["hours_rate"])
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(ticker.PercentFormatter(1.0))
    ax.set_xticks(range(0, 24, 2))
    ax.set_xlim(-0.6, 23.6)
    ax.set_xlabel(words["hours_x"].format(zone=report["timezone"]))
    ax.set_ylabel(words["hours_rate"])
    calls_ax = ax.twinx()
    calls_ax.plot(x, [h["calls"] for h in hours], color=_LINE, marker="o", markersize=3)
    calls_ax.set_ylabel(words["hours_calls"], color=_LINE)
    calls_ax.set_ylim(bottom=0, top=max([h["calls"] for h in hours] + [1]) * 1.1)
    calls_ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_title(words["hours_title"])
    if not any(h["calls"] for h in hours):
        ax.text(0.5, 0.5, words["no_data"], transform=ax.transAxes, ha="center", va="center")
    return _svg(fig, title=words["hours_title"], desc=words["hours_desc"], lang=lang)


def drawn_agents(agents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The agents the promises chart draws: those with promises due (kept or
    missed), most first (then by id), at most `MAX_AGENTS_DRAWN`."""
    due = [a for a in agents if a["kept"] + a["missed"]]
    due.sort(key=lambda a: (-(a["kept"] + a["missed"]), a["agent_id"]))
    return due[:MAX_AGENTS_DRAWN]


def isolated(values: list[float]) -> list[int]:
    """Indexes of the points with no neighbour drawn (NaN or none on both sides):
    a line alone does not show them, so they get a marker."""

    def drawn(i: int) -> bool:
        return 0 <= i < len(values) and not math.isnan(values[i])

    return [i for i in range(len(values)) if drawn(i) and not drawn(i - 1) and not drawn(i + 1)]


def _promises_svg(report: dict[str, Any], *, lang: str) -> bytes:
    figure, ticker, dates = _matplotlib()
    words = LABELS[lang]
    agents = drawn_agents(report["agents"])
    days: list[date] = list(report["days"])
    # Fixed margins rather than a layout engine (which measures every text again),
    # the legend's columns to the right of a plot of constant width.
    columns = 1 + (len(agents) - 1) // 20 if agents else 0
    width = 6.4 + 1.5 * columns
    fig = figure.Figure(figsize=(width, 4.2))
    fig.subplots_adjust(left=0.9 / width, right=6.1 / width, bottom=0.15, top=0.86)
    ax = fig.add_subplot()
    for agent in agents:
        values = [math.nan if d["kept_rate"] is None else d["kept_rate"] for d in agent["trend"]]
        (line,) = ax.plot(days, values, linewidth=1.2, label=agent["name"])
        alone = isolated(values)
        if alone:
            ax.plot(
                [days[i] for i in alone],
                [values[i] for i in alone],
                linestyle="none",
                marker="o",
                markersize=3,
                color=line.get_color(),
            )
    ax.set_ylim(-0.02, 1.02)
    ax.yaxis.set_major_formatter(ticker.PercentFormatter(1.0))
    ax.set_ylabel(words["promises_rate"])
    ax.set_xlabel(words["promises_x"])
    if days:
        # A tick a day, or every few days: at most 8 labels, none past the data.
        ax.xaxis.set_major_locator(dates.DayLocator(interval=math.ceil(len(days) / 8)))
        # Numeric dates read the same in both languages.
        ax.xaxis.set_major_formatter(dates.DateFormatter("%m-%d"))
        half_day = timedelta(hours=12)
        ax.set_xlim(
            datetime.combine(days[0], time()) - half_day,
            datetime.combine(days[-1], time()) + half_day,
        )
    title = words["promises_title"]
    due_agents = sum(1 for a in report["agents"] if a["kept"] + a["missed"])
    if due_agents > len(agents):
        fig.suptitle(title)
        ax.set_title(words["promises_some"].format(drawn=len(agents), total=due_agents), fontsize=8)
    else:
        ax.set_title(title)
    if agents:
        ax.legend(
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            fontsize=7,
            ncols=columns,
            frameon=False,
        )
    else:
        ax.text(0.5, 0.5, words["no_data"], transform=ax.transAxes, ha="center", va="center")
    return _svg(fig, title=title, desc=words["promises_desc"], lang=lang)
