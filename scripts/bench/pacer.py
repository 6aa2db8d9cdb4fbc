"""Pacer benchmark: the predictive pacer's rule alone, on an idealized floor.

`dialer.calls.pacer.pace` is a pure function; this drives it second by second on
a floor played in memory (no database, no queue, no provider), so the rule's own
quality and cost are measured apart from the system around it (the whole
system's figures are scripts/bench/floor.py's, through `dialer simulate`).

The floor: N agents signed in all day; a call placed is answered by a person
with probability `p` after a lognormal ring time (mean 10 s, sd 5 s), else ends
unanswered after the 25-s ring timeout; an answered call is connected to the
agent free longest, or waits up to 2 s (`connect_seconds`) and is abandoned; a
conversation lasts a lognormal talk time (mean 180 s, sd 90 s), then 20 s of
wrap-up. The pacer is given what the real flow gives it: the agents free, the
wrap-ups left, the talks so far, the calls ringing (and their ages), the
answered calls waiting, the last 200 ring and talk times, the answer rate and
the day's abandon counts, at most 10 calls a second.

    python scripts/bench/pacer.py --quick      # 2 hours per floor (< 1 minute)
    python scripts/bench/pacer.py              # 8 hours per floor, two seeds

Figures per floor and pacer (progressive: one call per free agent; predictive:
`pace`; predictive without the ringing calls' ages): occupancy (talk time over
signed-in time, and over its limit talk/(talk+wrap-up)), abandon rate, mean
wait from free to the next conversation, and the pacer's cost per decision.
The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from dialer.calls.pacer import Pacer, PacerInputs, pace, progressive_pace  # noqa: E402

NOW = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # the pacer reads no clock; any instant
RING_TIMEOUT = 25
CONNECT_SECONDS = 2


def lognormal(rng: random.Random, mean: float, sd: float) -> float:
    s2 = math.log(1 + (sd / mean) ** 2)
    return rng.lognormvariate(math.log(mean) - s2 / 2, math.sqrt(s2))


@dataclass
class Agent:
    state: str = "free"  # free | talk | wrap
    until: float = 0.0
    since: float = 0.0
    talk_start: float = 0.0


@dataclass
class Floor:
    agents: int
    answer_rate: float
    hours: float
    seed: int
    talk: tuple[float, float] = (180.0, 90.0)
    ring: tuple[float, float] = (10.0, 5.0)
    wrapup: int = 20
    max_rate: float = 0.03
    ages: bool = True
    results: dict[str, Any] = field(default_factory=dict)


def run(floor: Floor, pacer: Pacer) -> dict[str, Any]:
    rng = random.Random(floor.seed)
    agents = [Agent() for _ in range(floor.agents)]
    ringing: list[tuple[int, int | None, int]] = []  # placed, answers at (None: never), ends
    waiting: list[tuple[int, int]] = []  # answered at, abandoned at
    rings: deque[float] = deque(maxlen=200)
    talks: deque[float] = deque(maxlen=200)
    attempts = answered = abandoned = 0
    talked = 0.0
    waits: list[float] = []
    spent = 0.0
    seconds = int(floor.hours * 3600)
    for now in range(seconds):
        for a in agents:
            if a.state == "talk" and now >= a.until:
                talks.append(a.until - a.talk_start)
                talked += a.until - a.talk_start
                a.state, a.until = "wrap", a.until + floor.wrapup
            if a.state == "wrap" and now >= a.until:
                a.state, a.since = "free", now
        still = []
        for placed, answers_at, ends_at in ringing:
            if answers_at is not None and now >= answers_at:
                rings.append(answers_at - placed)
                answered += 1
                waiting.append((now, now + CONNECT_SECONDS))
            elif answers_at is None and now >= ends_at:
                continue
            else:
                still.append((placed, answers_at, ends_at))
        ringing = still
        free = sorted((a for a in agents if a.state == "free"), key=lambda a: a.since)
        left = []
        for answered_at, deadline in waiting:
            if free:
                a = free.pop(0)
                a.state, a.talk_start = "talk", now
                a.until = now + max(5.0, lognormal(rng, *floor.talk))
                waits.append(now - a.since)
            elif now >= deadline:
                abandoned += 1
            else:
                left.append((answered_at, deadline))
        waiting = left
        inputs = PacerInputs(
            now=NOW,
            agents_signed_in=floor.agents,
            agents_waiting=sum(1 for a in agents if a.state == "free"),
            wrapup_left=tuple(a.until - now for a in agents if a.state == "wrap"),
            talking_for=tuple(now - a.talk_start for a in agents if a.state == "talk"),
            calls_ringing=len(ringing),
            calls_waiting=len(waiting),
            answer_rate=answered / attempts if attempts else None,
            answer_samples=attempts,
            ring_seconds=tuple(rings),
            talk_seconds=tuple(talks),
            wrapup_seconds=floor.wrapup,
            abandoned=abandoned,
            answered_by_person=answered,
            max_rate=floor.max_rate,
            closes_in=None,
            max_calls=10,
            ringing_for=tuple(float(now - c[0]) for c in ringing) if floor.ages else None,
            ring_timeout=RING_TIMEOUT,
            connect_seconds=CONNECT_SECONDS,
        )
        started = time.perf_counter()
        decision = pacer(inputs)
        spent += time.perf_counter() - started
        for _ in range(decision.calls):
            attempts += 1
            if rng.random() < floor.answer_rate:
                ring = max(1, round(lognormal(rng, *floor.ring)))
                if ring < RING_TIMEOUT:
                    ringing.append((now, now + ring, now + ring))
                    continue
            ringing.append((now, None, now + RING_TIMEOUT))
    occupancy = talked / (floor.agents * seconds)
    limit = floor.talk[0] / (floor.talk[0] + floor.wrapup)
    return {
        "occupancy": round(occupancy, 4),
        "of_limit": round(occupancy / limit, 4),
        "abandon_rate": round(abandoned / answered, 4) if answered else None,
        "answered": answered,
        "attempts": attempts,
        "mean_wait_s": round(sum(waits) / len(waits), 1) if waits else None,
        "pace_ms": round(spent / seconds * 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 hours per floor, one seed")
    args = parser.parse_args()
    hours, seeds = (2.0, [21]) if args.quick else (8.0, [21, 22])
    pacers: dict[str, tuple[Pacer, bool]] = {
        "progressive": (progressive_pace, True),
        "predictive": (pace, True),
        "predictive_no_ages": (pace, False),
    }
    figures: dict[str, Any] = {}
    for agents in (20, 5):
        for name, (pacer, ages) in pacers.items():
            for seed in seeds:
                floor = Floor(agents=agents, answer_rate=0.25, hours=hours, seed=seed)
                out = run(replace(floor, ages=ages), pacer)
                key = f"{agents}_agents/{name}/seed_{seed}"
                figures[key] = out
                print(f"{key:40} {out}", flush=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
