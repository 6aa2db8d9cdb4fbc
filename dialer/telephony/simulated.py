"""The simulated provider: scripted outcomes per number (stored in the database so
any worker honours them), otherwise answered with probability
DIALER_SIM_ANSWER_RATE from a seeded generator. An unanswered outcome becomes
final 25 s of clock time after the call is placed.

Two options serve `dialer simulate` (dialer.simulation); left unset, nothing
changes: `ring` samples how long an answered call rings first (lognormal with
the given mean and standard deviation, in seconds; without it a call is answered
the instant it is placed), and `answer_rates` gives the answer rate by the
lead's local hour at the dial (hours it leaves out keep `answer_rate`)."""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.calls.models import FINAL_CALL_STATUSES, AnsweredBy, Call, CallStatus
from dialer.campaign.models import Campaign
from dialer.db import raw_in, raw_of
from dialer.failing import FailingRows, each_row
from dialer.leads.models import Lead
from dialer.telephony.models import SimOutcome
from dialer.telephony.simulated_sql import CONSUME, NEXT_SCRIPTED

UNANSWERED_AFTER = timedelta(seconds=25)


class SimulatedOutcome(StrEnum):
    answered = "answered"
    no_answer = "no-answer"
    busy = "busy"
    machine = "machine"
    failed = "failed"


# outcome → (final status, answered_by)
_FINAL: dict[str, tuple[CallStatus, AnsweredBy | None]] = {
    SimulatedOutcome.no_answer: (CallStatus.no_answer, None),
    SimulatedOutcome.busy: (CallStatus.busy, None),
    SimulatedOutcome.failed: (CallStatus.failed, None),
    SimulatedOutcome.machine: (CallStatus.completed, AnsweredBy.machine),
}


def script_outcomes(
    session: Session, *, phone: str, outcomes: list[SimulatedOutcome], now: datetime
) -> None:
    for outcome in outcomes:
        session.add(SimOutcome(phone=phone, outcome=outcome, created_at=now))
    session.flush()


def pending_outcomes(session: Session, *, phone: str) -> list[str]:
    return list(
        session.scalars(
            select(col(SimOutcome.outcome))
            .where(col(SimOutcome.phone) == phone, col(SimOutcome.consumed).is_(False))
            .order_by(col(SimOutcome.id))
        )
    )


@dataclass(frozen=True, slots=True)
class Lognormal:
    """A positive duration drawn with this mean and standard deviation (seconds):
    ring and talk times are skewed right, a few long ones and many near the mode."""

    mean: float
    sd: float

    def sample(self, rng: random.Random) -> float:
        if self.sd <= 0:
            return self.mean
        sigma2 = math.log(1 + (self.sd / self.mean) ** 2)
        return rng.lognormvariate(math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2))


# The calls whose scripted instant has come, first due first (bound: `now`,
# `limit`). Built once: the provider's job runs at every step of a simulated day.
_DUE = (
    select(Call)
    .where(col(Call.sim_final_at) <= bindparam("now"))
    .order_by(col(Call.sim_final_at), col(Call.id))
    .limit(bindparam("limit"))
)


class SimulatedTelephony:
    name = "simulated"

    def __init__(
        self,
        *,
        answer_rate: float,
        seed: int,
        ring: Lognormal | None = None,
        answer_rates: Mapping[int, float] | None = None,
        ring_timeout: timedelta = UNANSWERED_AFTER,
    ) -> None:
        self.answer_rate = answer_rate
        self.seed = seed
        self.ring = ring
        self.answer_rates = dict(answer_rates or {})
        self.ring_timeout = ring_timeout

    def _answer_rate(self, session: Session, *, call: Call, campaign: Campaign) -> float:
        if not self.answer_rates:
            return self.answer_rate
        lead = session.get(Lead, call.lead_id)
        zone = (lead.timezone if lead is not None else None) or campaign.timezone
        hour = call.created_at.astimezone(ZoneInfo(zone)).hour
        return self.answer_rates.get(hour, self.answer_rate)

    def _next_outcome(self, session: Session, *, call: Call, campaign: Campaign) -> str:
        # Not flushed first (`raw_of`, not `raw_in`): the scripted outcomes are
        # flushed where they are written (`script_outcomes`), and the call's own
        # pending change (its sid) does not bear on them; a flush here would
        # write the call twice (its sid now, its ringing status a moment later)
        # where one UPDATE at the dial's flush does.
        raw = raw_of(session) or raw_in(session)
        for scripted_id, scripted_outcome in raw.rows(NEXT_SCRIPTED, (call.to, False)):
            # Conditional: two workers dialling the same number can't both consume it.
            if raw.run(CONSUME, (True, scripted_id, False)) == 1:
                return str(scripted_outcome)
        # Seeded per call, so a run is reproducible whatever the worker order.
        rng = random.Random(f"{self.seed}:{call.id}")
        if rng.random() < self._answer_rate(session, call=call, campaign=campaign):
            return SimulatedOutcome.answered
        return rng.choice(
            [
                SimulatedOutcome.no_answer,
                SimulatedOutcome.no_answer,
                SimulatedOutcome.busy,
                SimulatedOutcome.machine,
            ]
        )

    def place_call(
        self, session: Session, *, call: Call, campaign: Campaign, now: datetime
    ) -> None:
        from dialer.calls.disposition import apply_status_update

        call.provider_sid = f"SIM{call.id:010d}"
        outcome = self._next_outcome(session, call=call, campaign=campaign)
        if outcome == SimulatedOutcome.answered and self.ring is not None:
            # Rings first; run_due answers it once its ring time is up.
            rng = random.Random(f"{self.seed}:{call.id}:ring")
            rings = min(self.ring.sample(rng), self.ring_timeout.total_seconds() - 1)
            call.sim_outcome = outcome
            call.sim_final_at = now + timedelta(seconds=max(rings, 0.0))
            apply_status_update(
                session, call=call, status=CallStatus.ringing, answered_by=None, at=now
            )
            return
        if outcome == SimulatedOutcome.answered:
            apply_status_update(
                session,
                call=call,
                status=CallStatus.in_progress,
                answered_by=AnsweredBy.human,
                at=now,
            )
            return
        call.sim_outcome = outcome
        call.sim_final_at = now + self.ring_timeout
        apply_status_update(session, call=call, status=CallStatus.ringing, answered_by=None, at=now)

    def next_due_at(self, session: Session, *, skip: Collection[int] = ()) -> datetime | None:
        query = select(col(Call.sim_final_at)).where(col(Call.sim_final_at).is_not(None))
        if skip:
            query = query.where(col(Call.id).not_in(skip))
        return session.scalar(query.order_by(col(Call.sim_final_at)).limit(1))

    def run_due(
        self, session: Session, *, now: datetime, failing: FailingRows, limit: int = 500
    ) -> int:
        """A bounded batch (the rest follow at once); a call whose report fails
        is benched, the others go on."""
        from dialer.calls.disposition import apply_status_update

        skip = failing.skip(now=now)
        query = _DUE if not skip else _DUE.where(col(Call.id).not_in(skip))
        due = list(session.scalars(query, {"now": now, "limit": limit}))

        def report(call: Call) -> None:
            at = call.sim_final_at or now
            call.sim_final_at = None
            if call.status in FINAL_CALL_STATUSES or call.sim_outcome is None:
                return
            answered_by: AnsweredBy | None
            if call.sim_outcome == SimulatedOutcome.answered:
                # Its ring time is up: a person picks up.
                status, answered_by = CallStatus.in_progress, AnsweredBy.human
            else:
                status, answered_by = _FINAL[call.sim_outcome]
            apply_status_update(session, call=call, status=status, answered_by=answered_by, at=at)

        done = each_row(session, due, report, key=_call_id, failing=failing, now=now)
        session.flush()
        return len(done)

    def hang_up(self, sid: str, *, answered: bool) -> None:
        """A simulated call ends when it is dispositioned; nothing to tell."""


def _call_id(call: Call) -> int:
    assert call.id is not None
    return call.id
