"""Predictive floor benchmark: the same seeded floors under three pacers.

Each run is `dialer simulate` (dialer.simulation.run_simulation): the real
queue, dial rounds, provider reports, dispositions, retry policy and promise
jobs on the simulated clock of a throw-away SQLite database. The pacers:

  progressive  one call per free agent (dial_mode "progressive")
  predictive   this dialer's pacer (dialer.calls.pacer.pace, dial_mode "predictive")
  vicidial     VICIdial's adaptive algorithm, re-implemented below from its
               published description, run as the predictive flow's pacer

Floors (an 8-hour day, 09:00-17:00 Tokyo, lognormal talk mean 180 s sd 90 s,
ring mean 10 s sd 5 s, wrap-up 20 s, unanswered calls end at 25 s):

  20 agents   25% answer rate
  5 agents    25% answer rate (small teams, where predictive is hardest)
  moving      20 agents, the answer rate moving by hour (15% to 40%)

Best hour: 5 agents for five days on a lead list small enough that retries
matter, the answer rate depending strongly on the hour; retry_timing "fixed"
vs "best_hour" under progressive dialing; figure: contacts per attempt.

Goals (issue 16): abandon rate <= 3% on every floor and every day; at 20
agents predictive occupancy >= 90% of talk/(talk+wrap-up), >= 1.25x
progressive, and above VICIdial's at an equal or lower abandon rate; best hour
contacts per attempt >= 1.15x the fixed ladder.

    python scripts/bench/floor.py --quick   # every floor, shorter (under a minute)
    python scripts/bench/floor.py           # the floors above; writes the plot

--quick runs the same floors for fewer minutes (QUICK_MINUTES: 20 agents 15
min, 5 agents 20 min, the moving day the half hour across noon where its
answer rate jumps from 25% to 40%) and a 2-day, 100-lead, 2-agent best-hour
floor; the runs go to one forked worker process per CPU (--jobs), longest
first.

The plot (occupancy and abandon rate per 15 minutes over the 20-agent day, per
pacer) goes to docs/screenshots/bench-floor.png (--plot). The last line printed
is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

# From the process's start: importing the dialer is part of what --quick costs.
STARTED = time.perf_counter()
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from dialer.simulation import SimConfig, SimResult, run_simulation  # noqa: E402

IMPORTED = time.perf_counter()

CAP = 0.03
MOVING = {9: 0.15, 10: 0.20, 11: 0.25, 12: 0.40, 13: 0.30, 14: 0.20, 15: 0.25, 16: 0.35}
# Best hour: lunch and the end of the day answer; mornings hardly.
BY_HOUR = {9: 0.08, 10: 0.10, 11: 0.12, 12: 0.50, 13: 0.15, 14: 0.10, 15: 0.12, 16: 0.45}


# --- VICIdial's adaptive dial level, as a Pacer --------------------------------------


@dataclass
class VicidialAdaptive:
    """VICIdial's "ADAPT_*" dial method as its manual describes it: every 15 s
    the dial level is multiplied by (1 + differential / agents), where
    differential = agents waiting - calls waiting; it stays within 1.0-3.0, and
    is halved whenever the day's drop (abandon) rate is over the drop limit.
    Calls to place = dial level x agents available or busy - calls in flight
    (ringing, waiting for an agent, or talking to one). Wrap-up counts as busy."""

    interval: float = 15.0
    low: float = 1.0
    high: float = 3.0
    level: float = 1.0
    last_at: Any = None

    def __call__(self, inputs: Any) -> Any:
        from dialer.calls.pacer import PacerDecision, PacerMode

        agents = inputs.agents_signed_in
        if agents <= 0:
            return PacerDecision(
                calls=0, mode=PacerMode.idle, expected_free=0.0, detail="no agent signed in"
            )
        now = inputs.now
        if self.last_at is None or (now - self.last_at).total_seconds() >= self.interval:
            self.last_at = now
            differential = inputs.agents_waiting - inputs.calls_waiting
            self.level *= 1 + differential / agents
            # The drop limit over the window the inputs give (the day, on these floors).
            answered = inputs.answered_by_person
            if answered and inputs.abandoned / answered > inputs.max_rate:
                self.level /= 2
            self.level = min(self.high, max(self.low, self.level))
        in_flight = inputs.calls_ringing + inputs.calls_waiting + len(inputs.talking_for)
        calls = max(0, min(inputs.max_calls, math.floor(self.level * agents) - in_flight))
        return PacerDecision(
            calls=calls,
            mode=PacerMode.predictive,
            expected_free=float(inputs.agents_waiting),
            detail=f"VICIdial adaptive: dial level {self.level:.2f}",
        )


# --- the floors -------------------------------------------------------------------


def floors(*, quick: bool, moving_file: Path | None = None) -> dict[str, SimConfig]:
    base = SimConfig(
        agents=20,
        days=1,
        answer_rate=0.25,
        talk=(180.0, 90.0),
        ring=(10.0, 5.0),
        wrapup=20,
        seed=16,
        # Four hours (09:00-13:00) of the 20-agent day: an 8-hour day of it
        # did not fit this shared machine's afternoon three times over.
        minutes=240,
    )
    found = {
        "20 agents": base,
        "5 agents": replace(base, agents=5, minutes=None),
        "moving": replace(base, agents=10, answer_rates=MOVING, minutes=None),
    }
    if quick:
        found = {
            "20 agents": replace(base, minutes=QUICK_MINUTES["20 agents"]),
            "5 agents": replace(base, agents=5, minutes=QUICK_MINUTES["5 agents"]),
            # Half an hour across noon, where the answer rate jumps from 25% to
            # 40% (MOVING): the pacer's hour turns with no data behind the new
            # hour, the moment a moving day is hardest for it. The calling hours
            # open at 11:45 (a copy of the built-in campaign, `moving_file`) and
            # still close at 17:00, so the pacer does not see closing time.
            "moving": replace(
                base,
                agents=10,
                answer_rates=MOVING,
                minutes=QUICK_MINUTES["moving"],
                campaign_file=moving_file,
            ),
        }
    return found


# --quick: minutes of each floor (from its opening). Long enough that the
# pacer is past its thin-data fallback (40 attempts, 10 ring and 10 talk times)
# for most of the floor.
QUICK_MINUTES = {"20 agents": 15, "5 agents": 20, "moving": 30}
QUICK_MOVING_OPENS = "11:45"


def _toml(value: Any) -> str:
    """The built-in campaign's values as TOML: strings, numbers, lists and
    tables of them are written alike in JSON and TOML but for the tables' `=`
    (there is no TOML writer among the dependencies, and this is all it needs)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)


def moving_campaign(path: Path) -> Path:
    """The built-in campaign with its calling hours opening at 11:45."""
    from dialer.simulation import BUILTIN_CAMPAIGN

    data = dict(BUILTIN_CAMPAIGN)
    data["calling_hours"] = [
        {**rule, "start": QUICK_MOVING_OPENS} for rule in BUILTIN_CAMPAIGN["calling_hours"]
    ]
    path.write_text("".join(f"{k} = {_toml(v)}\n" for k, v in data.items()), encoding="utf-8")
    return path


def best_hour_floor(*, quick: bool) -> SimConfig:
    return SimConfig(
        agents=2 if quick else 3,
        days=2 if quick else 5,
        leads=100 if quick else 600,
        answer_rate=0.1,
        answer_rates=BY_HOUR,
        talk=(120.0, 60.0),
        wrapup=10,
        seed=16,
        pacer="progressive",
        minutes=None,
    )


PACERS = ("progressive", "predictive", "vicidial")


def run_pacer(config: SimConfig, pacer: str) -> SimResult:
    if pacer == "progressive":
        return run_simulation(replace(config, pacer="progressive"))
    if pacer == "predictive":
        return run_simulation(replace(config, pacer="predictive"))
    return run_simulation(replace(config, pacer="predictive"), pacer=VicidialAdaptive())


def summary(result: SimResult) -> dict[str, Any]:
    days = [d.abandon_rate for d in result.per_day if d.abandon_rate is not None]
    return {
        "occupancy": result.occupancy,
        "occupancy_limit": result.occupancy_limit,
        "abandon_rate": result.abandon_rate,
        "worst_day_abandon_rate": max(days) if days else None,
        "abandoned": result.abandoned,
        "answered_by_person": result.answered_by_person,
        "contacts_per_agent_hour": result.contacts_per_agent_hour,
        "mean_wait_seconds": result.mean_wait_seconds,
        "calls_placed": result.calls_placed,
        "contacts_per_attempt": result.contacts_per_attempt,
        "run_seconds": result.timing.get("total"),
        "timing": result.timing,
    }


def fmt(x: float | None, pct: bool = True) -> str:
    if x is None:
        return "-"
    return f"{x:.1%}" if pct else f"{x:.2f}"


def goals(figures: dict[str, Any], best: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def goal(name: str, met: bool | None, value: str) -> None:
        out.append({"goal": name, "met": met, "value": value})

    for floor, by_pacer in figures.items():
        p = by_pacer.get("predictive")
        if p is None:
            continue
        worst = p["worst_day_abandon_rate"] or 0.0
        goal(f"{floor}: predictive abandon <= 3% every day", worst <= CAP, fmt(worst))
    twenty = figures.get("20 agents", {})
    prog, p, vici = (twenty.get(k) for k in ("progressive", "predictive", "vicidial"))
    if p and prog and vici and p["occupancy"] is not None:
        limit = p["occupancy_limit"] or 1.0
        goal(
            "20 agents: occupancy >= 90% of talk/(talk+wrap-up)",
            p["occupancy"] >= 0.9 * limit,
            f"{fmt(p['occupancy'])} vs {fmt(0.9 * limit)}",
        )
        ratio = p["occupancy"] / prog["occupancy"] if prog["occupancy"] else None
        goal(
            "20 agents: occupancy >= 1.25x progressive",
            ratio is not None and ratio >= 1.25,
            f"{fmt(ratio, pct=False)}x",
        )
        goal(
            "20 agents: occupancy above VICIdial at an equal or lower abandon rate",
            p["occupancy"] > (vici["occupancy"] or 0)
            and (p["abandon_rate"] or 0) <= (vici["abandon_rate"] or 0),
            f"{fmt(p['occupancy'])} at {fmt(p['abandon_rate'])} abandon vs VICIdial "
            f"{fmt(vici['occupancy'])} at {fmt(vici['abandon_rate'])}",
        )
    if best.get("fixed") and best.get("best_hour"):
        a, b = best["fixed"]["contacts_per_attempt"], best["best_hour"]["contacts_per_attempt"]
        ratio = b / a if a else None
        goal(
            "best hour: contacts per attempt >= 1.15x fixed",
            ratio is not None and ratio >= 1.15,
            f"{fmt(ratio, pct=False)}x ({fmt(b)} vs {fmt(a)})",
        )
    return out


def ratios(figures: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Per floor: predictive's occupancy and contacts per agent-hour over
    progressive's and over VICIdial's."""
    out: dict[str, dict[str, float | None]] = {}
    for floor, by_pacer in figures.items():
        p = by_pacer.get("predictive")
        if p is None:
            continue
        row: dict[str, float | None] = {}
        for other in ("progressive", "vicidial"):
            o = by_pacer.get(other)
            for figure in ("occupancy", "contacts_per_agent_hour"):
                a, b = (p or {}).get(figure), (o or {}).get(figure)
                row[f"{figure}_vs_{other}"] = round(a / b, 3) if a and b else None
        out[floor] = row
    return out


def plot(series: dict[str, SimResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (occ, ab) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    for pacer, result in series.items():
        xs = [p.at.strftime("%H:%M") for p in result.series]
        occ.plot(xs, [p.occupancy or 0 for p in result.series], label=pacer, marker=".")
        ab.plot(xs, [p.abandon_rate or 0 for p in result.series], label=pacer, marker=".")
    limit = next(iter(series.values())).occupancy_limit
    if limit:
        occ.axhline(limit, color="grey", linestyle=":", label="talk/(talk+wrap-up)")
    ab.axhline(CAP, color="red", linestyle=":", label="3% cap")
    occ.set_ylabel("occupancy")
    ab.set_ylabel("abandon rate")
    occ.set_ylim(0, 1)
    occ.legend(loc="lower right", fontsize="small")
    ab.legend(loc="upper right", fontsize="small")
    ab.set_xlabel("local time (Asia/Tokyo), 15-minute buckets")
    for label in ab.get_xticklabels():
        label.set_rotation(60)
    fig.suptitle("20 agents, 25% answer, talk 180 s, wrap-up 20 s: occupancy and abandon rate")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def profile(config: SimConfig, pacer: str) -> int:
    """cProfile over one run: the dialer's functions by cumulative time."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    result = run_pacer(config, pacer)
    prof.disable()
    print(json.dumps(result.timing))
    stats = pstats.Stats(prof)
    stats.sort_stats("cumulative").print_stats(r"dialer/", 40)
    return 0


def _save(path: Path | None, floor: str, how: str, result: SimResult) -> None:
    if path is not None:
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"floor": floor, "how": how, "result": result.to_json()}) + "\n")


def _from_json(data: dict[str, Any]) -> SimResult:
    from datetime import datetime

    from dialer.simulation import DayFigures, SeriesPoint

    data = dict(data)
    data["per_day"] = [DayFigures(**d) for d in data["per_day"]]
    data["series"] = [
        SeriesPoint(**{**p, "at": datetime.fromisoformat(p["at"])}) for p in data["series"]
    ]
    return SimResult(**data)


def _task(task: tuple[str, str, SimConfig]) -> tuple[str, str, SimResult]:
    """One run, in a worker process (--jobs) or here."""
    floor, how, config = task
    if floor == "best hour":
        return floor, how, run_simulation(replace(config, retry_timing=how))
    return floor, how, run_pacer(config, how)


def _line(floor: str, how: str, result: SimResult) -> str:
    s = summary(result)
    if floor == "best hour":
        return (
            f"best hour  {how:12} contacts/attempt {fmt(result.contacts_per_attempt)}  "
            f"contacts {result.contacts:,} of {result.calls_placed:,} attempts  "
            f"ran {result.timing.get('total', 0):.1f} s (cpu {result.timing.get('cpu', 0):.1f} s)"
        )
    return (
        f"{floor:10} {how:12} occupancy {fmt(s['occupancy']):>6}  "
        f"abandon {fmt(s['abandon_rate']):>6} (worst day "
        f"{fmt(s['worst_day_abandon_rate'])})  contacts/agent-h "
        f"{s['contacts_per_agent_hour']:6.2f}  wait {fmt(s['mean_wait_seconds'], False):>7}"
        f" s  calls {s['calls_placed']:6,}  ran {s['run_seconds']:6.1f} s "
        f"(cpu {result.timing.get('cpu', 0):.1f} s)"
    )


def _cost(task: tuple[str, str, SimConfig]) -> float:
    """A run's rough CPU, for handing out the longest first (so that the last
    to finish is a short one): agent-minutes, predictive rounds dearer; the
    best-hour floor's days are mostly agents waiting for a lead to be due, so
    a small share of its agent-minutes."""
    floor, how, c = task
    minutes = c.minutes or 8 * 60
    cost = c.agents * minutes * c.days
    if floor == "best hour":
        return cost / 4
    return cost * (1.0 if how == "progressive" else 1.4)


def _run_all(
    args: argparse.Namespace, all_floors: dict[str, SimConfig]
) -> dict[tuple[str, str], SimResult]:
    only = set(args.only.split(",")) if args.only else None
    # `--only "20 agents:progressive,moving"`: a floor, or one pacer of it.
    tasks: list[tuple[str, str, SimConfig]] = [
        (floor, pacer, config)
        for floor, config in all_floors.items()
        for pacer in PACERS
        if only is None or floor in only or f"{floor}:{pacer}" in only
    ]
    if only is None or "best" in only:
        config = best_hour_floor(quick=args.quick)
        tasks += [("best hour", timing, config) for timing in ("fixed", "best_hour")]
    tasks.sort(key=_cost, reverse=True)
    done: dict[tuple[str, str], SimResult] = {}
    save = Path(args.save) if args.save else None
    if args.replot:
        for name in args.replot.split(","):
            for line in Path(name).read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                done[(row["floor"], row["how"])] = _from_json(row["result"])
        tasks = []
    if args.jobs > 1 and len(tasks) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        from dialer.migrations import head_revision

        # Forked workers start with the dialer already imported (a second
        # and more of CPU per process otherwise, on a 2-core machine), and
        # with the migrations' script directory read once (each run's schema
        # check asks for the head).
        head_revision()
        context = multiprocessing.get_context("fork")
        jobs = min(args.jobs, len(tasks))
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            for future in as_completed([pool.submit(_task, t) for t in tasks]):
                floor, how, result = future.result()
                done[(floor, how)] = result
                print(_line(floor, how, result), flush=True)
                _save(save, floor, how, result)
    else:
        for task in tasks:
            floor, how, result = _task(task)
            done[(floor, how)] = result
            print(_line(floor, how, result), flush=True)
            _save(save, floor, how, result)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--plot", default=None, help="PNG path (default in full runs: docs/…)")
    parser.add_argument(
        "--only", default=None, help="comma-separated floors or 'best' (default: all)"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="runs at once, in worker processes (default: one per CPU)",
    )
    parser.add_argument(
        "--save", default=None, help="append each run's result to this JSON-lines file"
    )
    parser.add_argument(
        "--replot", default=None, help="no runs: figures and plot from --save files (a,b)"
    )
    parser.add_argument(
        "--profile",
        default=None,
        metavar="PACER",
        help="profile one run of the first floor under PACER and print where the time goes",
    )
    args = parser.parse_args(argv)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        moving_file = moving_campaign(Path(tmp) / "moving.toml") if args.quick else None
        all_floors = floors(quick=args.quick, moving_file=moving_file)
        if args.profile:
            return profile(next(iter(all_floors.values())), args.profile)
        done = _run_all(args, all_floors)
    runs = time.perf_counter() - began
    figures: dict[str, dict[str, Any]] = {}
    best: dict[str, Any] = {}
    for (floor, how), result in done.items():
        if floor == "best hour":
            best[how] = summary(result)
        else:
            figures.setdefault(floor, {})[how] = summary(result)
    kept = {how: r for (floor, how), r in done.items() if floor == "20 agents"}
    results = goals(figures, best)
    for g in results:
        print(f"  {'MET   ' if g['met'] else 'MISSED'}  {g['goal']}: {g['value']}")
    versus = ratios(figures)
    for floor, row in versus.items():
        print(
            f"  {floor}: predictive occupancy {fmt(row['occupancy_vs_progressive'], False)}x "
            f"progressive, {fmt(row['occupancy_vs_vicidial'], False)}x VICIdial; contacts "
            f"per agent-hour {fmt(row['contacts_per_agent_hour_vs_progressive'], False)}x "
            f"progressive, {fmt(row['contacts_per_agent_hour_vs_vicidial'], False)}x VICIdial"
        )
    default_plot = None if args.quick else str(REPO / "docs/screenshots/bench-floor.png")
    plot_path = args.plot or default_plot
    if plot_path and kept:
        plot({p: kept[p] for p in PACERS if p in kept}, Path(plot_path))
        print(f"plot: {plot_path}")
    elapsed = time.perf_counter() - began
    ran = [r.timing for r in done.values()]
    spent = {k: round(sum(t.get(k, 0.0) for t in ran), 1) for k in ("set_up", "total", "cpu")}
    print(
        f"total {time.perf_counter() - STARTED:.1f} s: importing the dialer "
        f"{IMPORTED - STARTED:.1f} s, the runs {runs:.1f} s ({len(ran)} runs in "
        f"{min(args.jobs, max(len(ran), 1))} processes: {spent['total']} s of run wall time, "
        f"{spent['cpu']} s CPU, of which set-up {spent['set_up']} s), the rest "
        f"{elapsed - runs:.1f} s"
    )
    series = {
        how: [{"at": p.at.isoformat(), "occupancy": p.occupancy, "abandon_rate": p.abandon_rate}
              for p in r.series]
        for how, r in kept.items()
    }  # fmt: skip
    print(
        json.dumps(
            {"quick": args.quick, "floors": figures, "best_hour": best, "goals": results,
             "ratios": versus, "series_20_agents": series, "seconds": round(elapsed, 1)}
        )
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
