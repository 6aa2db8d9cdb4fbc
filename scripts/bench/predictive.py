"""Predictive round benchmark (issue 16): what one campaign's round costs per tick.

The data set is the claim benchmark's campaign (scripts/bench/claim.py: N leads,
one phone each, calling hours round the clock), made predictive, with `--agents`
agents signed in and the compliance benchmark's call history
(scripts/bench/compliance.py: `--calls` calls over the last 30 days, a quarter
answered by a person, 2% of those abandoned).

Measured, the median of `--repeat` runs:

- `abandon_standing`: the abandon window's count (what a manual dial and the
  reports read), in one read transaction; and `standing_now`, the dials' and
  the round's (dialer.calls.standing: the window's part older than two hours
  counted once a minute): warm, and cold (its minute's count due);
- `gather_inputs` (the pacer's snapshot, its round standing included): warm
  (ring/talk times, hour rates, old counts cached) and cold (caches dropped);
- a whole round (`campaign_round`, its own write transaction and commit) placing
  `--calls-per-round` unreserved calls through the simulated provider (a quarter
  answered and connected to a free agent), and an idle round (the pacer asks for
  nothing: what every tick costs when nothing is dialled).

    python scripts/bench/predictive.py --quick     # 100k leads, 50k calls
    python scripts/bench/predictive.py             # 1M leads, 300k calls

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from claim import _engine_list, _setup, on_engines
from compliance import _add_calls

from dialer.calls import predictive, standing
from dialer.calls.abandon import abandon_standing
from dialer.calls.hour_stats import forget
from dialer.calls.pacer import PacerDecision, PacerInputs, PacerMode
from dialer.campaign.models import Campaign, DialMode
from dialer.telephony.simulated import SimulatedTelephony


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def _timed(repeat: int, run: Callable[[], Any]) -> float:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        samples.append(time.perf_counter() - began)
    return _median_ms(samples)


def _fixed(calls: int) -> Callable[[PacerInputs], PacerDecision]:
    def pacer(inputs: PacerInputs) -> PacerDecision:
        return PacerDecision(min(calls, inputs.max_calls), PacerMode.predictive, 0.0, "bench")

    return pacer


def bench_engine(engine: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()
    bench = _setup(engine, url, leads=args.leads, agents=args.agents, sqlite_path=None)
    _add_calls(bench, calls=args.calls, seed=1)
    with bench.db.write() as session:
        campaign = session.get(Campaign, bench.campaign_id)
        assert campaign is not None
        campaign.dial_mode = DialMode.predictive
        campaign.cps = max(args.calls_per_round, 1)
        campaign.version += 1
        session.execute(text("ANALYZE"))
    print(
        f"# {engine}: {args.leads:,} leads, {args.calls:,} calls, {args.agents} agents"
        f" in {time.perf_counter() - began:.1f}s"
    )
    now = bench.t0
    telephony = SimulatedTelephony(answer_rate=0.25, seed=1)
    figures: dict[str, Any] = {}

    def exact_standing() -> Any:
        with bench.db.read() as session:
            campaign = session.get(Campaign, bench.campaign_id)
            return abandon_standing(session, campaign=campaign, now=now)

    def _forget() -> None:
        forget()
        predictive._distributions.clear()
        standing._old_counts.clear()
        predictive._closing.clear()

    def round_standing(*, cold: bool) -> Callable[[], Any]:
        def run() -> Any:
            if cold:
                standing._old_counts.clear()
            with bench.db.read() as session:
                campaign = session.get(Campaign, bench.campaign_id)
                assert campaign is not None
                return standing.standing_now(session, campaign=campaign, now=now)

        return run

    def inputs(*, cold: bool) -> Callable[[], Any]:
        def run() -> Any:
            if cold:
                _forget()
            with bench.db.read() as session:
                campaign = session.get(Campaign, bench.campaign_id)
                assert campaign is not None
                return predictive.gather_inputs(session, campaign=campaign, now=now)

        return run

    tick = [0]

    def round_of(calls: int) -> Callable[[], Any]:
        def run() -> Any:
            tick[0] += 1
            at = now + timedelta(seconds=tick[0])
            with bench.db.work() as work:
                placed, _ = predictive.campaign_round(
                    work,
                    campaign_id=bench.campaign_id,
                    now=at,
                    telephony=telephony,
                    claim_ttl=timedelta(minutes=5),
                    dial=lambda _call_id: None,
                    pacer=_fixed(calls),
                )
            return placed

        return run

    try:
        found = exact_standing()
        figures["standing"] = {"answered": found.answered, "abandoned": found.abandoned}
        figures["abandon_standing_ms"] = _timed(args.repeat, exact_standing)
        figures["round_standing_cold_ms"] = _timed(args.repeat, round_standing(cold=True))
        figures["round_standing_warm_ms"] = _timed(args.repeat, round_standing(cold=False))
        figures["gather_inputs_cold_ms"] = _timed(max(1, args.repeat // 2), inputs(cold=True))
        figures["gather_inputs_warm_ms"] = _timed(args.repeat, inputs(cold=False))
        figures["round_idle_ms"] = _timed(args.repeat, round_of(0))
        figures[f"round_placing_{args.calls_per_round}_ms"] = _timed(
            args.repeat, round_of(args.calls_per_round)
        )
        with bench.db.read() as session:
            campaign = session.get(Campaign, bench.campaign_id)
            assert campaign is not None
            shown = predictive.gather_inputs(session, campaign=campaign, now=now)
        figures["inputs_after"] = {
            "agents_waiting": shown.agents_waiting,
            "talking": len(shown.talking_for),
            "ringing": shown.calls_ringing,
            "answer_samples": shown.answer_samples,
        }
    finally:
        bench.db.dispose()
    print(f"# {engine}: {figures}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k leads, 50k calls")
    parser.add_argument("--leads", type=int, help="leads in the campaign (default 1M)")
    parser.add_argument("--calls", type=int, help="calls over the last 30 days (default 300k)")
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--calls-per-round", type=int, default=5)
    parser.add_argument("--engines", type=_engine_list, default=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args(argv)
    if args.leads is None:
        args.leads = 100_000 if args.quick else 1_000_000
    if args.calls is None:
        args.calls = 50_000 if args.quick else 300_000
    results: dict[str, Any] = {"leads": args.leads, "calls": args.calls, "agents": args.agents}
    results |= on_engines(
        args.engines,
        prefix="bench-predictive-",
        run=lambda engine, url: bench_engine(engine, url, args),
    )
    print(json.dumps(results, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
