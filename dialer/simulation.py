"""`dialer simulate`: a policy dry-run on a simulated floor.

A campaign definition (a campaigns/*.toml file, or the built-in one below), N
simulated agents and a simulated provider run through the real code: the
campaign service, the lead import, the queue, the dial rounds (progressive, or
predictive with its pacer), the provider's reports, the dispositions, the retry
policy and the promise jobs, on the simulated clock of a throw-away SQLite
database in a temporary directory. Nothing here decides what the dialer does;
this module only plays the agents and moves the clock.

The clock steps from event to event, never second by second through nothing:
the next instant a due job waits for (a provider report, a promise, a claim's
expiry), the next thing a simulated agent does (end a conversation, end a
wrap-up), the next lead to become callable while agents wait, the shift's
start and end, and, in predictive mode only, the next second while the pacer
could dial (an agent is free or will be free soon, or calls are ringing).

The simulated agents sign in available at the opening of each day's calling
hours, take the call the dialer connects to them (or the one it placed for
them), talk for a sampled time (lognormal with the given mean and standard
deviation), record an outcome through the real disposition flow (the shares
given: converted, callback, not_interested, refused; a callback books a promise
the agent keeps later, through the queue), wrap up for the campaign's
wrap-up, and sign off when the hours close (after the call they are on).

Figures: occupancy (talk time / signed-in time), abandon rate (abandoned /
answered by a person), contacts and conversions per agent-hour, promises kept
and missed, the mean wait between calls (from an agent being free to its next
conversation), calls placed; with a per-15-minute series of occupancy and
abandon rate for plots."""

from __future__ import annotations

import csv
import math
import random
import tempfile
import time as walltime
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from dataclasses import replace as dataclass_replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer import jobs
from dialer.agents.models import Agent, AgentState
from dialer.agents.service import create_agent, set_state
from dialer.calls import predictive
from dialer.calls.disposition import DispositionInput, dispose
from dialer.calls.models import AnsweredBy, Call, Outcome
from dialer.calls.pacer import Pacer, PacerDecision, PacerInputs
from dialer.campaign.models import Campaign
from dialer.campaign.schemas import CampaignCreate
from dialer.campaign.service import calling_hours_of, create_campaign, load_campaign_file
from dialer.clock import SimulatedClock
from dialer.db import Database, RawSql
from dialer.errors import AlreadyDispositioned, DialerError, Invalid
from dialer.failing import FailingRows
from dialer.leads.importer import start_import
from dialer.leads.models import Lead
from dialer.promises.models import Promise, PromiseStatus
from dialer.promises.schemas import PromiseIn
from dialer.runtime import Runtime
from dialer.settings import Settings
from dialer.simulation_sql import CONVERSATIONS, DUE_JOB_NAMES, DUES, NEXT_CALLABLE
from dialer.telephony.simulated import Lognormal, SimulatedTelephony

# The built-in campaign: an 8-hour day every day (no holidays), in Tokyo, with
# the ladder and wrap-up the benchmark's floors use.
BUILTIN_CAMPAIGN: dict[str, Any] = {
    "name": "Simulated floor",
    "status": "active",
    "default_region": "JP",
    "timezone": "Asia/Tokyo",
    "skip_holidays": False,
    "dial_mode": "progressive",
    "cps": 20,
    "seller_name": "○○でんき",
    "call_reason": "電気料金プランのご案内",
    "callback_number": "+81312345678",
    "wrapup_seconds": 20,
    "calling_hours": [{"days": "mon-sun", "start": "09:00", "end": "17:00"}],
    "retry_policy": {
        "no_answer": [1800, 7200, 86400],
        "busy": [600, 1800, 7200],
        "machine": [14400, 86400],
        "failed": [3600],
        "max_attempts": 6,
        "max_attempts_per_day": 3,
    },
}
# Monday 7 December 2026: no holiday in Japan, so a file that skips holidays
# still has its first days.
FIRST_DAY = date(2026, 12, 7)
# Promise times the agent offers when its first choice is taken (slots full).
_PROMISE_MINUTES = (20, 30, 45, 60, 90)
SERIES_MINUTES = 15
# The pacer's look-ahead between events, at most (then a round runs anyway).
MAX_PACER_LOOKAHEAD = 300


class SimError(ValueError):
    """A bad option, naming it (the CLI prints it and exits 2)."""


@dataclass(frozen=True, slots=True)
class Shares:
    """Outcomes of a conversation, as shares (normalized)."""

    converted: float = 0.10
    callback: float = 0.10
    not_interested: float = 0.60
    refused: float = 0.20

    def pick(self, rng: random.Random, *, callback: bool = True) -> Outcome:
        table = [
            (Outcome.converted, self.converted),
            (Outcome.callback, self.callback if callback else 0.0),
            (Outcome.not_interested, self.not_interested),
            (Outcome.refused, self.refused),
        ]
        total = sum(w for _o, w in table)
        x = rng.random() * total
        for outcome, weight in table:
            x -= weight
            if x < 0:
                return outcome
        return Outcome.not_interested


@dataclass(frozen=True, slots=True)
class SimConfig:
    campaign_file: Path | None = None
    agents: int = 20
    days: int = 1
    # None: enough for the floor (estimated from agents, hours and answer rate).
    leads: int | None = None
    answer_rate: float = 0.25
    # By the lead's local hour; hours left out take `answer_rate`.
    answer_rates: Mapping[int, float] = field(default_factory=dict)
    ring: tuple[float, float] = (10.0, 5.0)
    talk: tuple[float, float] = (180.0, 90.0)
    # None: the campaign's wrapup_seconds.
    wrapup: int | None = None
    outcomes: Shares = Shares()
    # "progressive" | "predictive"; None: the campaign's dial_mode.
    pacer: str | None = None
    # "fixed" | "best_hour"; None: the campaign's.
    retry_timing: str | None = None
    seed: int = 1
    # Only the first this many minutes of each day's calling hours (None: all).
    minutes: int | None = None

    def check(self) -> None:
        """Every option bounded; the message names the option."""
        if not 1 <= self.agents <= 500:
            raise SimError(f"--agents must be 1 to 500, not {self.agents}")
        if not 1 <= self.days <= 30:
            raise SimError(f"--days must be 1 to 30, not {self.days}")
        if self.leads is not None and not 1 <= self.leads <= 1_000_000:
            raise SimError(f"--leads must be 1 to 1000000, not {self.leads}")
        if not 0 <= self.answer_rate <= 1:
            raise SimError(f"--answer-rate must be 0 to 1, not {self.answer_rate}")
        for hour, rate in self.answer_rates.items():
            if not 0 <= hour <= 23 or not 0 <= rate <= 1:
                raise SimError(f"--answer-rates: hour 0-23 = rate 0-1, not {hour}={rate}")
        for name, (mean, sd) in (("--ring", self.ring), ("--talk", self.talk)):
            top = 60 if name == "--ring" else 7200
            if not 0 < mean <= top or not 0 <= sd <= top:
                raise SimError(f"{name} mean must be above 0 and at most {top} s, sd 0 to {top}")
        if self.wrapup is not None and not 0 <= self.wrapup <= 3600:
            raise SimError(f"--wrapup must be 0 to 3600 seconds, not {self.wrapup}")
        shares = astuple_shares(self.outcomes)
        if any(not 0 <= s <= 1 for s in shares) or sum(shares) <= 0:
            raise SimError("--outcomes shares must be 0 to 1 each, and not all 0")
        if self.pacer not in (None, "progressive", "predictive"):
            raise SimError(f"--pacer must be progressive or predictive, not {self.pacer!r}")
        if self.retry_timing not in (None, "fixed", "best_hour"):
            raise SimError(f"--retry-timing must be fixed or best_hour, not {self.retry_timing!r}")
        if self.minutes is not None and not 1 <= self.minutes <= 24 * 60:
            raise SimError(f"--minutes must be 1 to 1440, not {self.minutes}")


def astuple_shares(shares: Shares) -> tuple[float, float, float, float]:
    return (shares.converted, shares.callback, shares.not_interested, shares.refused)


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    at: datetime
    agents: int
    occupancy: float | None
    answered: int
    abandoned: int
    abandon_rate: float | None


@dataclass(frozen=True, slots=True)
class DayFigures:
    day: str
    answered: int
    abandoned: int
    abandon_rate: float | None
    occupancy: float | None
    contacts: int


@dataclass(frozen=True, slots=True)
class SimResult:
    dial_mode: str
    agents: int
    days: int
    leads: int
    signed_in_hours: float
    calls_placed: int
    answered_by_person: int
    abandoned: int
    abandon_rate: float | None
    occupancy: float | None
    occupancy_limit: float | None
    contacts: int
    conversions: int
    contacts_per_agent_hour: float
    conversions_per_agent_hour: float
    contacts_per_attempt: float | None
    promises_kept: int
    promises_missed: int
    mean_wait_seconds: float | None
    per_day: list[DayFigures]
    series: list[SeriesPoint]
    # Where the run's wall time went (seconds), and its steps.
    timing: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for point in out["series"]:
            point["at"] = point["at"].isoformat()
        return out


def parse_rates(text: str) -> dict[int, float]:
    """`9=0.2,10=0.3` → {9: 0.2, 10: 0.3}."""
    rates: dict[int, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        hour, sep, rate = part.partition("=")
        try:
            if not sep:
                raise ValueError(part)
            rates[int(hour)] = float(rate)
        except ValueError:
            raise SimError(
                f"--answer-rates: write hour=rate pairs like 9=0.2,10=0.3, not {part!r}"
            ) from None
    if len(rates) > 24:
        raise SimError("--answer-rates: at most 24 hours")
    return rates


def parse_pair(text: str, *, option: str) -> tuple[float, float]:
    """`mean,sd` in seconds."""
    try:
        mean, sd = (float(x) for x in text.split(","))
    except ValueError:
        raise SimError(f"{option}: write mean,sd in seconds, like 180,90, not {text!r}") from None
    if not (math.isfinite(mean) and math.isfinite(sd)):
        raise SimError(f"{option}: numbers, not {text!r}")
    return mean, sd


def parse_shares(text: str) -> Shares:
    """`converted=0.1,callback=0.1,not_interested=0.6,refused=0.2` (unnamed keep 0)."""
    values: dict[str, float] = {}
    names = ("converted", "callback", "not_interested", "refused")
    for part in text.split(","):
        name, sep, share = part.strip().partition("=")
        if not sep or name not in names:
            raise SimError(
                f"--outcomes: write name=share for {', '.join(names)}, not {part.strip()!r}"
            )
        try:
            values[name] = float(share)
        except ValueError:
            raise SimError(f"--outcomes: {name}'s share must be a number, not {share!r}") from None
    return Shares(**{n: values.get(n, 0.0) for n in names})


# --- the floor -----------------------------------------------------------------------


@dataclass(slots=True)
class _SimAgent:
    id: int
    call_id: int | None = None
    talk_from: datetime | None = None
    talk_until: datetime | None = None
    free_at: datetime | None = None  # wrap-up's end (None: free, or off shift)
    waiting_since: datetime | None = None
    signed_in: bool = False
    for_promise: bool = False


@dataclass(slots=True)
class _Tally:
    talks: list[tuple[datetime, datetime]] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    steps: int = 0
    rounds: int = 0
    time: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))


def run_simulation(
    config: SimConfig, *, pacer: Pacer | None = None, check_inputs: bool = False
) -> SimResult:
    """Run the floor `config` describes; `pacer` replaces the predictive pacer
    (the benchmark passes its baselines). `check_inputs` (tests): the pacer's
    inputs the look-ahead derives are checked against a fresh gather."""
    config.check()
    shm = Path("/dev/shm")
    # In memory where there is room: the run writes every event of a floor's day.
    base = str(shm) if shm.is_dir() else None
    with tempfile.TemporaryDirectory(prefix="dialer-sim-", dir=base) as tmp:
        floor = _Floor(config, db_path=Path(tmp) / "sim.db", pacer=pacer)
        floor.check_inputs = check_inputs
        try:
            return floor.run()
        finally:
            floor.close()


def _definition(config: SimConfig) -> CampaignCreate:
    if config.campaign_file is None:
        data = dict(BUILTIN_CAMPAIGN)
    else:
        try:
            loaded = load_campaign_file(config.campaign_file)
        except OSError as exc:
            raise SimError(f"--campaign: cannot read {config.campaign_file}: {exc}") from None
        except DialerError as exc:
            raise SimError(f"--campaign: {exc.detail}") from None
        data = loaded.model_dump(exclude_unset=True, mode="json")
    data["status"] = "active"
    if config.pacer is not None:
        data["dial_mode"] = config.pacer
    elif data.get("dial_mode", "preview") not in ("progressive", "predictive"):
        # Preview has nobody pressing dial on a simulated floor.
        data["dial_mode"] = "progressive"
    if config.wrapup is not None:
        data["wrapup_seconds"] = config.wrapup
    if config.retry_timing is not None:
        data["retry_timing"] = config.retry_timing
    try:
        return CampaignCreate.model_validate(data)
    except ValueError as exc:
        raise SimError(f"--campaign: {exc}") from None


class _Floor:
    def __init__(self, config: SimConfig, *, db_path: Path, pacer: Pacer | None) -> None:
        self.config = config
        self.db_path = db_path
        self.definition = _definition(config)
        self.rng = random.Random(f"simulate:{config.seed}")
        self.talk = Lognormal(*config.talk)
        # A day before the first: the campaign is created then, outside its hours.
        self.start_at = datetime.combine(FIRST_DAY - timedelta(days=1), datetime.min.time(), UTC)
        settings = Settings(
            DATABASE_URL=f"sqlite:///{db_path}",
            DIALER_CLOCK="simulated",
            DIALER_CLOCK_START=self.start_at,
            DIALER_TELEPHONY="simulated",
            DIALER_SIM_ANSWER_RATE=config.answer_rate,
            DIALER_SIM_SEED=config.seed,
            DIALER_AUTO_UPGRADE=True,
            _env_file=None,  # type: ignore[call-arg]
        )
        self.runtime = Runtime(settings)
        # A throw-away database: nothing of it must survive a crash, so its
        # commits need not reach the disk (the service's own keep
        # synchronous=NORMAL, dialer.db); temporary tables stay in memory.
        engine = self.runtime.db.engine
        engine.dispose()
        event.listen(engine, "connect", _throw_away_sqlite)
        # One process drives this floor: its clock can live in memory (the
        # database's clock row is there so that many workers agree on "now").
        self.runtime.clock = _FloorClock(self.runtime.db, start=self.start_at)
        # The simulated provider placed each call inside its transaction: there
        # is nothing to hand to the dialing threads after the commit.
        setattr(self.runtime, "dial_later", _nothing_to_send)  # noqa: B010
        telephony = SimulatedTelephony(
            answer_rate=config.answer_rate,
            seed=config.seed,
            ring=Lognormal(*config.ring),
            answer_rates=config.answer_rates,
            ring_timeout=timedelta(seconds=settings.ring_timeout_seconds),
        )
        self.runtime.telephony = telephony
        # Without connection_loss: simulated agents have no console to lose.
        self.runtime.due_jobs = jobs.due_jobs(telephony=telephony, claim_ttl=self.runtime.claim_ttl)
        # The predictive rounds' pacer: the one given (a benchmark's baseline),
        # else the runtime's (dialer.calls.pacer.pace).
        self.pacer: Pacer = pacer or self.runtime.pacer
        # What the last round's pacer was asked, and when (see _next_pacer_second).
        self._asked: tuple[datetime, PacerInputs] | None = None
        # The runtime's pacer is a pure rule: the same inputs get the same
        # decision. The look-ahead's last question that found calls to place,
        # and its answer: the round at that second usually asks exactly it
        # (see _asking). A pacer given (a benchmark's baseline) may keep state
        # between questions: it is asked every time.
        self._pure_pacer = pacer is None
        self._foreseen: tuple[PacerInputs, PacerDecision] | None = None
        # Tests: gather the inputs anyway and insist they are what was derived.
        self.check_inputs = False
        self.cps = 0
        self.predictive_failing = FailingRows("predictive")
        self.agents: list[_SimAgent] = []
        # Each simulated agent as the principal of its dispositions: the row as
        # created, held out of every later session. The disposition asks its
        # principal who it is (id, role) and nothing else of the row, so it is
        # not read again for each one (a console's request authenticates its
        # agent anyway).
        self.principals: dict[int, Agent] = {}
        self.tally = _Tally()
        self.campaign_id = 0
        self.dial_mode = str(self.definition.dial_mode or "progressive")
        self.leads = 0
        self.shifts: list[tuple[datetime, datetime]] = []
        self.dues: dict[str, datetime | None] = {}
        self._wake_at: datetime | None = None
        self._pooled: Any = None
        self._raw: RawSql | None = None
        self._woken = False

    def close(self) -> None:
        if self._pooled is not None:
            self._pooled.close()
            self._pooled = self._raw = None
        self.runtime.close()

    # --- set-up ---

    def _set_up(self) -> None:
        runtime = self.runtime
        runtime.start()
        with runtime.write() as (session, now):
            campaign = create_campaign(session, data=self.definition, now=now, actor="simulate")
            assert campaign.id is not None
            self.campaign_id = campaign.id
            self.cps = campaign.cps
            hours = calling_hours_of(campaign)
            shifts: list[tuple[datetime, datetime]] = []
            for opens, closes in hours.intervals(from_day=FIRST_DAY, days=self.config.days * 7):
                if self.config.minutes is not None:
                    closes = min(closes, opens + timedelta(minutes=self.config.minutes))
                shifts.append((opens, closes))
                if len(shifts) == self.config.days:
                    break
            if not shifts:
                raise SimError("--campaign: its calling hours never open")
            self.shifts = shifts
            for i in range(self.config.agents):
                agent, _token = create_agent(
                    session,
                    name=f"sim-agent-{i + 1:03d}",
                    campaign_ids=[campaign.id],
                    endpoint=None,
                    now=now,
                    actor="simulate",
                )
                assert agent.id is not None
                agent.state = AgentState.offline
                self.agents.append(_SimAgent(id=agent.id))
                self.principals[agent.id] = agent
            region = campaign.default_region
        self.leads = self.config.leads or self._enough_leads()
        self._import_leads(region=region)

    def _enough_leads(self) -> int:
        """About one lead per attempt the floor could place (more than it will:
        retries come back too), so the floor never runs dry."""
        c = self.config
        rates = list(c.answer_rates.values()) or [c.answer_rate]
        answer = max(min(rates), 0.02)
        wrapup = c.wrapup if c.wrapup is not None else (self.definition.wrapup_seconds or 0)
        cycle = (1 - answer) * 25 + answer * (c.ring[0] + c.talk[0] + wrapup)
        seconds = sum((b - a).total_seconds() for a, b in self.shifts)
        return max(50, min(200_000, math.ceil(1.3 * c.agents * seconds / cycle)))

    def _import_leads(self, *, region: str) -> None:
        """Through the import managers use (a CSV file of unique numbers)."""
        path = self.db_path.with_name("leads.csv")
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["name", "phone"])
            for i, phone in enumerate(_phones(region=region, count=self.leads)):
                writer.writerow([f"Lead {i + 1}", phone])
        runtime = self.runtime
        with runtime.db.read() as session:
            now = runtime.now_in(session)
        start_import(
            runtime.db,
            runner=None,
            campaign_id=self.campaign_id,
            path=path,
            filename=path.name,
            actor="simulate",
            now=now,
            mapping=None,
            sync_limit_bytes=1 << 40,
        )
        with runtime.db.read() as session:
            self.leads = int(
                session.scalar(
                    select(func.count())
                    .select_from(Lead)
                    .where(col(Lead.campaign_id) == self.campaign_id)
                )
                or 0
            )
        if not self.leads:
            raise SimError("the simulated lead list imported no lead")

    # --- the run ---

    def run(self) -> SimResult:
        began = walltime.perf_counter()
        cpu = walltime.process_time()
        self._set_up()
        self.tally.time["set_up"] += walltime.perf_counter() - began
        for opens, closes in self.shifts:
            self._shift(opens, closes)
        measured = walltime.perf_counter()
        result = self._figures()
        self.tally.time["figures"] += walltime.perf_counter() - measured
        result.timing.update(
            {k: round(v, 3) for k, v in self.tally.time.items()},
            total=round(walltime.perf_counter() - began, 3),
            # Of this process (its threads included): on a busy machine the
            # wall time says more about the neighbours.
            cpu=round(walltime.process_time() - cpu, 3),
            steps=self.tally.steps,
            rounds=self.tally.rounds,
        )
        return result

    def _timed(self, name: str) -> _Timer:
        return _Timer(self.tally.time, name)

    def _shift(self, opens: datetime, closes: datetime) -> None:
        runtime = self.runtime
        self._move_clock(opens)
        with runtime.write() as (session, now):
            for sim in self.agents:
                set_state(session, agent_id=sim.id, state=AgentState.available, now=now)
                sim.signed_in, sim.waiting_since, sim.free_at = True, now, None
        self._read_dues()
        t = opens
        closing = False
        self._woken = True
        predictive = self.dial_mode == "predictive"
        while True:
            self.tally.steps += 1
            self._move_clock(t)
            # What this step wrote decides what must be looked at again: a
            # provider report may free an agent or start a conversation; an
            # agent's action changes the pacer's inputs (in wrap-up now) and
            # frees the agent when its wrap-up ends.
            with self._timed("due_jobs"):
                reported = self._due_work(t)
            with self._timed("agents"):
                acted, freed = self._agent_actions(t)
                if t >= closes and not closing:
                    closing = acted = True
                    self._sign_off_free(t)
            placed = 0
            dialled = False
            if not closing and (reported or freed or self._woken or (predictive and acted)):
                with self._timed("dial_round"):
                    placed = self._dial()
                dialled = True
            self._woken = False
            with self._timed("agents"):
                if reported or placed or (predictive and dialled):
                    self._conversations(t)
            with self._timed("next_instant"):
                if reported or acted or dialled:
                    self._read_dues()
                nxt = self._next_instant(t, closes=closes, closing=closing, placed=placed)
            if nxt is None:
                break
            t = nxt
        with runtime.write() as (session, now):
            for sim in self.agents:
                if sim.signed_in:
                    set_state(session, agent_id=sim.id, state=AgentState.offline, now=now)
                    sim.signed_in = False

    def _move_clock(self, t: datetime) -> None:
        clock = self.runtime.clock
        assert isinstance(clock, _FloorClock)
        clock.move(to=t)

    def _read_dues(self) -> None:
        """Each due job's next instant (dialer.jobs), read once per step that
        wrote something: a step that wrote nothing moved none of them. One
        statement for the five (simulation_sql.DUES) while no row is benched;
        else, and when checking, the jobs' own reads."""
        jobs_ = self.runtime.due_jobs
        plain = tuple(job.name for job in jobs_) == DUE_JOB_NAMES and not any(
            job.failing.benched() for job in jobs_
        )
        if plain:
            raw = self._reader()
            (row,) = raw.rows(DUES)
            self.dues = {
                name: None if at is None else raw.read_instant(at)
                for name, at in zip(DUE_JOB_NAMES, row, strict=True)
            }
        if not plain or self.check_inputs:
            with self.runtime.db.read() as session:
                dues = {job.name: job.due_at(session) for job in jobs_}
            if plain and dues != self.dues:
                raise AssertionError(f"read {self.dues} != the jobs' own {dues}")
            self.dues = dues

    def _reader(self) -> RawSql:
        """The harness's reads on one connection of the floor's SQLite database,
        kept for the run: in autocommit, each statement sees every commit before
        it (dialer.db sets the connections so), and no session is set up per read."""
        if self._raw is None:
            self._pooled = self.runtime.db.engine.raw_connection()
            self._raw = RawSql(self._pooled.driver_connection, postgres=False)
        return self._raw

    def _due_work(self, t: datetime) -> bool:
        """The due jobs with something due now, in their order, each in its own
        transaction (as the scheduler's tick runs them); whether any ran."""
        ran = False
        for job in self.runtime.due_jobs:
            at = self.dues.get(job.name)
            if at is None or at > t:
                continue
            with self.runtime.db.write() as session:
                job.run(session, t, job.failing)
            job.failing.settle(now=t)
            ran = True
        return ran

    def _dial(self) -> int:
        self.tally.rounds += 1
        runtime = self.runtime
        if self.dial_mode != "predictive":
            return jobs.progressive(runtime)
        self._asked = None
        placed = predictive.dial_round(
            runtime.db,
            telephony=runtime.telephony,
            now_in=runtime.now_in,
            claim_ttl=runtime.claim_ttl,
            dial=runtime.dial_later,
            failing=self.predictive_failing,
            pacer=self._asking,
        )
        asked = self._asked
        if asked is not None:
            if self.campaign_id in self.predictive_failing.benched():
                # Rolled back: what the round read was undone with it.
                self._asked = None
            else:
                self._asked = (asked[0], _after_round(asked[1], placed=len(placed), cps=self.cps))
        return len(placed)

    def _asking(self, inputs: PacerInputs) -> PacerDecision:
        """The pacer, noting what it was asked: with the calls the round
        placed after asking (`_after_round`), the inputs at this instant still.
        Inputs the look-ahead asked the pure pacer already get its answer."""
        self._asked = (inputs.now, inputs)
        foreseen = self._foreseen
        if foreseen is not None and foreseen[0] == inputs:
            # What the look-ahead asked for this second, to the last input:
            # the pure pacer's answer is the one it gave then.
            return foreseen[1]
        return self.pacer(inputs)

    def _agent_actions(self, t: datetime) -> tuple[bool, bool]:
        """Conversations that end now, wrap-ups that end now: whether any did,
        and whether an agent is free for a call because of it."""
        acted = freed = False
        for sim in self.agents:
            if sim.talk_until is not None and sim.talk_until <= t:
                self._end_conversation(sim, t)
                acted = True
                freed |= sim.free_at is None and sim.signed_in
            if sim.free_at is not None and sim.free_at <= t:
                sim.free_at = None
                acted = True
                freed |= sim.signed_in
        return acted, freed

    def _end_conversation(self, sim: _SimAgent, t: datetime) -> None:
        call_id, talk_from = sim.call_id, sim.talk_from
        assert call_id is not None and talk_from is not None
        rng = random.Random(f"{self.config.seed}:talk-outcome:{call_id}")
        # A promise's call books no further promise: the customer was reached.
        outcome = self.config.outcomes.pick(rng, callback=not sim.for_promise)
        self._dispose(sim, call_id=call_id, outcome=outcome)
        self.tally.talks.append((talk_from, t))
        wrapup = self.definition.wrapup_seconds or 0
        sim.call_id = sim.talk_from = sim.talk_until = None
        sim.free_at = t + timedelta(seconds=wrapup) if wrapup else None
        sim.waiting_since = sim.free_at or t
        if not sim.signed_in:
            with self.runtime.write() as (session, now):
                set_state(session, agent_id=sim.id, state=AgentState.offline, now=now)

    def _dispose(self, sim: _SimAgent, *, call_id: int, outcome: Outcome) -> None:
        """Through the disposition flow; a callback the slots cannot take at the
        first time offered is offered at the next ones (as an agent would), and
        without one the customer is noted not interested."""
        offers: list[tuple[Outcome, PromiseIn | None]] = [(outcome, None)]
        if outcome == Outcome.callback:
            offers = [(outcome, PromiseIn(in_minutes=m)) for m in _PROMISE_MINUTES]
            offers.append((Outcome.not_interested, None))
        runtime = self.runtime
        for chosen, promise in offers:
            try:
                with runtime.write() as (session, now):
                    dispose(
                        session,
                        principal=self.principals[sim.id],
                        call_id=call_id,
                        data=DispositionInput(
                            outcome=chosen, note=None, contract_number=None, promise=promise
                        ),
                        now=now,
                        telephony=runtime.telephony,
                    )
                return
            except AlreadyDispositioned:
                return  # the system ended it first (the line dropped)
            except DialerError:
                continue

    def _sign_off_free(self, t: datetime) -> None:
        """The hours closed: whoever is not talking signs off; the others after
        their call."""
        with self.runtime.write() as (session, now):
            for sim in self.agents:
                sim.signed_in = False
                if sim.call_id is None:
                    set_state(session, agent_id=sim.id, state=AgentState.offline, now=now)

    def _conversations(self, t: datetime) -> None:
        """Calls that reached an agent since the last look: the agent talks."""
        by_id = {sim.id: sim for sim in self.agents}
        talking = {sim.call_id for sim in self.agents if sim.call_id is not None}
        recent = t - timedelta(minutes=5)
        # When an unreserved call was bridged to its agent comes along
        # (predictive); a reserved call talks from its answer.
        raw = self._reader()
        rows = raw.rows(CONVERSATIONS, (raw.instant(recent), self.campaign_id))
        for call_id, agent_id, answered_at, for_promise, connected_at in rows:
            if call_id is None or call_id in talking or agent_id not in by_id:
                continue
            sim = by_id[agent_id]
            if sim.call_id is not None:
                continue
            began = connected_at or answered_at
            start = t if began is None else raw.read_instant(began)
            rng = random.Random(f"{self.config.seed}:talk:{call_id}")
            sim.call_id = call_id
            sim.for_promise = bool(for_promise)
            sim.talk_from = start
            sim.talk_until = start + timedelta(seconds=max(1.0, self.talk.sample(rng)))
            if sim.waiting_since is not None:
                self.tally.waits.append(max(0.0, (start - sim.waiting_since).total_seconds()))
            sim.waiting_since = None

    def _next_instant(
        self, t: datetime, *, closes: datetime, closing: bool, placed: int
    ) -> datetime | None:
        dues = [at for at in self.dues.values() if at is not None]
        due = min(dues) if dues else None
        candidates = list(dues)
        for sim in self.agents:
            if sim.talk_until is not None:
                candidates.append(sim.talk_until)
            if sim.free_at is not None:
                candidates.append(sim.free_at)
        wakes: list[datetime] = []
        if closing:
            # Done once nobody talks and nothing the floor placed is still due.
            if all(sim.call_id is None for sim in self.agents) and (
                due is None or due > closes + timedelta(minutes=2)
            ):
                return None
        else:
            candidates.append(closes)
            idle = [
                sim
                for sim in self.agents
                if sim.signed_in and sim.call_id is None and sim.free_at is None
            ]
            if idle and not placed:
                wakes.append(self._next_callable(t) or closes)
            if self.dial_mode == "predictive":
                horizon = min([c for c in candidates + wakes if c > t], default=closes)
                second = self._next_pacer_second(t, horizon=horizon, closes=closes, placed=placed)
                if second is not None:
                    wakes.append(second)
        later = [c for c in candidates + wakes if c > t]
        nxt = min(later) if later else t + timedelta(seconds=1)
        # The scheduler ticks each whole second: what falls due within one is
        # handled on the same tick.
        nxt = _ceil_second(nxt)
        # A round runs at a wake-up even when nothing was written since.
        self._woken = any(_ceil_second(w) <= nxt for w in wakes if w > t)
        return nxt

    def _next_pacer_second(
        self, t: datetime, *, horizon: datetime, closes: datetime, placed: int
    ) -> datetime | None:
        """The first second before `horizon` (the next event) at which the
        pacer would place a call. Until an event nothing the pacer reads moves
        but time: the inputs gathered now, aged second by second (talk so far
        up, wrap-up left down), are what the round would gather then, so the
        pure pacer is asked here instead of a round each second. The local
        hour's turn (its answer rate) and the last hour before closing (the
        pacer's `closes_in`) are events of their own."""
        asked = self._asked
        if asked is not None and asked[0] == t:
            inputs = asked[1]
            if self.check_inputs:
                gathered = self._gather_inputs(t)
                if gathered != inputs:
                    raise AssertionError(f"derived {inputs} != gathered {gathered}")
        else:
            with self._timed("pacer_inputs"):
                inputs = self._gather_inputs(t)
        turn = t.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        limit = min(horizon, turn, t + timedelta(seconds=MAX_PACER_LOOKAHEAD))
        last_hour = closes - timedelta(hours=1)
        if inputs.closes_in is None and t < last_hour:
            limit = min(limit, last_hour)
        pacer = self.pacer
        with self._timed("pacer_lookahead"):
            k = 1
            while t + timedelta(seconds=k) < limit:
                aged = _aged(inputs, seconds=k)
                decision = pacer(aged)
                if decision.calls > 0:
                    self._foreseen = (aged, decision) if self._pure_pacer else None
                    return t + timedelta(seconds=k)
                k += 1
        return limit if limit < horizon else None

    def _gather_inputs(self, t: datetime) -> PacerInputs:
        with self.runtime.db.read() as session:
            campaign = session.get(Campaign, self.campaign_id)
            assert campaign is not None
            return predictive.gather_inputs(session, campaign=campaign, now=t)

    def _next_callable(self, t: datetime) -> datetime | None:
        """The next lead to become due (a retry, a deferred one), for agents who
        wait with nothing to call; at most a minute away (a promise's lead, a
        claim released)."""
        raw = self._reader()
        ((found,),) = raw.rows(NEXT_CALLABLE, (self.campaign_id, raw.instant(t)))
        at = None if found is None else raw.read_instant(found)
        cap = t + timedelta(minutes=1)
        return min(at, cap) if at is not None else cap

    # --- figures ---

    def _figures(self) -> SimResult:
        c = self.config
        with self.runtime.db.read() as session:
            calls = session.execute(
                select(
                    col(Call.created_at),
                    col(Call.answered_at),
                    col(Call.answered_by),
                    col(Call.disposition),
                ).where(col(Call.campaign_id) == self.campaign_id)
            ).all()
            promises = dict(
                session.execute(
                    select(col(Promise.status), func.count())
                    .where(col(Promise.campaign_id) == self.campaign_id)
                    .group_by(col(Promise.status))
                ).all()
            )
            campaign = session.get(Campaign, self.campaign_id)
            assert campaign is not None
            dial_mode = str(campaign.dial_mode)
        person = [r for r in calls if r[2] == AnsweredBy.human or r[3] == Outcome.abandoned]
        abandoned = [r for r in calls if r[3] == Outcome.abandoned]
        conversions = sum(1 for r in calls if r[3] == Outcome.converted)
        signed_seconds = c.agents * sum((b - a).total_seconds() for a, b in self.shifts)
        # Talk inside the calling hours (a call running past closing is finished
        # off the clock).
        talk_seconds = sum(self._talk_in(a, b) for a, b in self.shifts)
        agent_hours = signed_seconds / 3600
        wrapup = self.definition.wrapup_seconds or 0
        contacts = len(self.tally.talks)
        per_day = [
            self._day(opens, closes, person=person, abandoned=abandoned)
            for opens, closes in self.shifts
        ]
        series = [
            point
            for opens, closes in self.shifts
            for point in self._series(opens, closes, person=person, abandoned=abandoned)
        ]
        return SimResult(
            dial_mode=dial_mode,
            agents=c.agents,
            days=len(self.shifts),
            leads=self.leads,
            signed_in_hours=round(agent_hours, 3),
            calls_placed=len(calls),
            answered_by_person=len(person),
            abandoned=len(abandoned),
            abandon_rate=_ratio(len(abandoned), len(person)),
            occupancy=_ratio(talk_seconds, signed_seconds),
            occupancy_limit=_ratio(c.talk[0], c.talk[0] + wrapup),
            contacts=contacts,
            conversions=conversions,
            contacts_per_agent_hour=round(contacts / agent_hours, 4) if agent_hours else 0.0,
            conversions_per_agent_hour=round(conversions / agent_hours, 4) if agent_hours else 0.0,
            contacts_per_attempt=_ratio(contacts, len(calls)),
            promises_kept=int(promises.get(PromiseStatus.kept, 0)),
            promises_missed=int(promises.get(PromiseStatus.missed, 0)),
            mean_wait_seconds=(
                round(sum(self.tally.waits) / len(self.tally.waits), 2)
                if self.tally.waits
                else None
            ),
            per_day=per_day,
            series=series,
            timing={},
        )

    def _talk_in(self, a: datetime, b: datetime) -> float:
        return sum(
            max(0.0, (min(end, b) - max(start, a)).total_seconds())
            for start, end in self.tally.talks
        )

    def _day(
        self, opens: datetime, closes: datetime, *, person: list[Any], abandoned: list[Any]
    ) -> DayFigures:
        n = sum(1 for r in person if opens <= r[0] < closes + timedelta(hours=1))
        dropped = sum(1 for r in abandoned if opens <= r[0] < closes + timedelta(hours=1))
        signed = self.config.agents * (closes - opens).total_seconds()
        return DayFigures(
            day=opens.astimezone(calling_zone(self.definition)).date().isoformat(),
            answered=n,
            abandoned=dropped,
            abandon_rate=_ratio(dropped, n),
            occupancy=_ratio(self._talk_in(opens, closes), signed),
            contacts=sum(1 for s, _e in self.tally.talks if opens <= s < closes),
        )

    def _series(
        self, opens: datetime, closes: datetime, *, person: list[Any], abandoned: list[Any]
    ) -> Iterator[SeriesPoint]:
        step = timedelta(minutes=SERIES_MINUTES)
        at = opens
        while at < closes:
            end = min(at + step, closes)
            n = sum(1 for r in person if at <= r[0] < end)
            dropped = sum(1 for r in abandoned if at <= r[0] < end)
            signed = self.config.agents * (end - at).total_seconds()
            yield SeriesPoint(
                at=at.astimezone(calling_zone(self.definition)),
                agents=self.config.agents,
                occupancy=_ratio(self._talk_in(at, end), signed),
                answered=n,
                abandoned=dropped,
                abandon_rate=_ratio(dropped, n),
            )
            at = end


def calling_zone(definition: CampaignCreate) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(definition.timezone or "Asia/Tokyo")


class _FloorClock(SimulatedClock):
    """The simulated clock of a floor one process drives: the instant is kept in
    memory and also written to the clock row whenever the run moves it through
    the runtime's own paths (start, set_in), so what reads the row agrees."""

    def __init__(self, db: Database, *, start: datetime) -> None:
        super().__init__(db, start=start)
        self._now = start

    def now(self) -> datetime:
        return self._now

    def now_in(self, session: Session) -> datetime:
        return self._now

    def set_in(self, session: Session, *, to: datetime) -> None:
        super().set_in(session, to=to)
        self.move(to=to)

    def move(self, *, to: datetime) -> None:
        if to > self._now:
            self._now = to


def _throw_away_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA temp_store=MEMORY")
    finally:
        cursor.close()


def _nothing_to_send(_call_id: int) -> None:
    return None


def _after_round(inputs: PacerInputs, *, placed: int, cps: int) -> PacerInputs:
    """What a round's pacer was asked, once the round has placed its calls:
    what `gather_inputs` would read at the same instant, without the reads.
    The round placed its promise calls (reserved: not the pacer's to count)
    before asking, which left it `max_calls` = cps less those; the calls it
    placed after asking are unreserved and ring from now (the simulated
    provider answers a call once its ring time is up, never at the dial).
    Nothing else the pacer reads moves within the instant: no round but the
    harness's own writes, and the caches (answer rates, ring and talk times,
    closing) are keyed by the instant. Checked against a fresh gather by
    tests/test_simulation_speed.py (`check_inputs`)."""
    before = cps - inputs.max_calls if inputs.max_calls > 0 else placed
    after = max(0, placed - before)
    ringing_for = inputs.ringing_for
    return dataclass_replace(
        inputs,
        calls_ringing=inputs.calls_ringing + after,
        ringing_for=None if ringing_for is None else ringing_for + (0.0,) * after,
        max_calls=cps,
    )


def _aged(inputs: PacerInputs, *, seconds: int) -> PacerInputs:
    """The pacer's inputs `seconds` later with nothing else happening."""
    closes_in = inputs.closes_in
    ringing_for = inputs.ringing_for
    return dataclass_replace(
        inputs,
        now=inputs.now + timedelta(seconds=seconds),
        talking_for=tuple(x + seconds for x in inputs.talking_for),
        wrapup_left=tuple(max(0.0, x - seconds) for x in inputs.wrapup_left),
        ringing_for=None if ringing_for is None else tuple(x + seconds for x in ringing_for),
        closes_in=None if closes_in is None else max(0.0, closes_in - seconds),
    )


class _Timer:
    def __init__(self, into: defaultdict[str, float], name: str) -> None:
        self.into, self.name = into, name

    def __enter__(self) -> None:
        self.began = walltime.perf_counter()

    def __exit__(self, *_exc: object) -> None:
        self.into[self.name] += walltime.perf_counter() - self.began


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


def _ceil_second(at: datetime) -> datetime:
    if at.microsecond:
        return at.replace(microsecond=0) + timedelta(seconds=1)
    return at


def _phones(*, region: str, count: int) -> Iterator[str]:
    """Unique, valid mobile numbers of the campaign's region (E.164)."""
    import phonenumbers

    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        example = phonenumbers.example_number_for_type("JP", phonenumbers.PhoneNumberType.MOBILE)
    assert example is not None
    national = str(example.national_number)
    stem = national[: max(1, len(national) - 7)]
    made = 0
    n = 0
    while made < count and n < count * 4 + 1000:
        number = phonenumbers.PhoneNumber(
            country_code=example.country_code, national_number=int(f"{stem}{n:07d}")
        )
        n += 1
        if phonenumbers.is_valid_number(number):
            made += 1
            yield phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if made < count:
        raise Invalid(f"could not make {count} phone numbers for region {region}", field="leads")


def report_text(result: SimResult) -> str:
    """The figures, for a person."""

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x:.1%}"

    lines = [
        f"{result.dial_mode} floor: {result.agents} agents, {result.days} day(s), "
        f"{result.leads:,} leads, {result.signed_in_hours:,.1f} agent-hours signed in",
        f"  occupancy           {pct(result.occupancy)} (talk / signed-in time; "
        f"the limit talk/(talk+wrap-up) is {pct(result.occupancy_limit)})",
        f"  abandon rate        {pct(result.abandon_rate)} "
        f"({result.abandoned:,} of {result.answered_by_person:,} answered by a person)",
        f"  calls placed        {result.calls_placed:,}",
        f"  contacts            {result.contacts:,} "
        f"({result.contacts_per_agent_hour:.2f} per agent-hour, "
        f"{pct(result.contacts_per_attempt)} of attempts)",
        f"  conversions         {result.conversions:,} "
        f"({result.conversions_per_agent_hour:.2f} per agent-hour)",
        f"  promises            {result.promises_kept:,} kept, {result.promises_missed:,} missed",
        "  wait between calls  "
        + ("-" if result.mean_wait_seconds is None else f"{result.mean_wait_seconds:.1f} s mean"),
    ]
    for day in result.per_day:
        lines.append(
            f"  {day.day}: occupancy {pct(day.occupancy)}, abandon {pct(day.abandon_rate)} "
            f"({day.abandoned}/{day.answered}), {day.contacts} contacts"
        )
    lines.append(f"  ran in {result.timing.get('total', 0):.1f} s")
    return "\n".join(lines)
