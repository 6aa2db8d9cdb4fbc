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
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from dialer.calls.disposition import EndingCall, ending_call
from dialer.calls.models import FINAL_CALL_STATUSES, AnsweredBy, Call, CallStatus
from dialer.calls.status import StatusChange, status_change
from dialer.campaign.models import Campaign
from dialer.db import RawSql, raw_in, raw_of
from dialer.failing import FailingRows, each_row
from dialer.leads.models import Lead
from dialer.telephony.models import SimOutcome
from dialer.telephony.simulated_sql import CALL_FIELDS, CONSUME, DIALLED, DUE, NEXT_SCRIPTED, SPENT

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


@dataclass(frozen=True, slots=True)
class _Due:
    """A due call as read raw (`DUE`): what its report changes, and what an
    unanswered end decides on (None: the report goes the ORM's way)."""

    call_id: int
    lead_id: int
    at: datetime | None
    outcome: str | None
    final: bool
    change: StatusChange | None
    ending: EndingCall | None


_CALL_FIELDS = len(CALL_FIELDS)


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

        assert call.id is not None
        sid = f"SIM{call.id:010d}"
        call.provider_sid = sid
        outcome = self._next_outcome(session, call=call, campaign=campaign)
        if outcome == SimulatedOutcome.answered and self.ring is None:
            apply_status_update(
                session,
                call=call,
                status=CallStatus.in_progress,
                answered_by=AnsweredBy.human,
                at=now,
            )
            return
        if outcome == SimulatedOutcome.answered:
            # Rings first; run_due answers it once its ring time is up.
            rng = random.Random(f"{self.seed}:{call.id}:ring")
            assert self.ring is not None
            rings = min(self.ring.sample(rng), self.ring_timeout.total_seconds() - 1)
            final_at = now + timedelta(seconds=max(rings, 0.0))
        else:
            final_at = now + self.ring_timeout
        self._ringing(session, call=call, sid=sid, outcome=outcome, final_at=final_at, now=now)

    def _ringing(
        self,
        session: Session,
        *,
        call: Call,
        sid: str,
        outcome: str,
        final_at: datetime,
        now: datetime,
    ) -> None:
        """The dial's report (ringing) and what the provider keeps (its sid, the
        outcome and its instant), in one hand-written UPDATE of the call: every
        simulated call is placed so. The session's row is kept in step."""
        from dialer.calls.disposition import apply_status_update, record_ringing

        change = status_change(
            status_now=call.status,
            answered_by_now=call.answered_by,
            answered_at_now=call.answered_at,
            duration_now=call.duration,
            dispositioned=call.disposition is not None,
            status=CallStatus.ringing,
            answered_by=None,
            at=now,
            duration=None,
        )
        raw = raw_of(session)
        if change is None or change.answered_at is not None or raw is None:
            # Not a call being placed (or no unit of work): the ORM's way.
            call.sim_outcome = outcome
            call.sim_final_at = final_at
            apply_status_update(
                session, call=call, status=CallStatus.ringing, answered_by=None, at=now
            )
            return
        # The provider's sid set above is this UPDATE's too (not the ORM's):
        # nothing of the call is left to flush.
        raw.run(
            DIALLED,
            (sid, outcome, raw.instant(final_at), change.status, change.answered_by, call.id),
        )
        for column, value in (
            ("provider_sid", sid),
            ("sim_outcome", outcome),
            ("sim_final_at", final_at),
        ):
            set_committed_value(call, column, value)
        record_ringing(session, call=call, change=change, at=now)

    def next_due_at(self, session: Session, *, skip: Collection[int] = ()) -> datetime | None:
        query = select(col(Call.sim_final_at)).where(col(Call.sim_final_at).is_not(None))
        if skip:
            query = query.where(col(Call.id).not_in(skip))
        return session.scalar(query.order_by(col(Call.sim_final_at)).limit(1))

    def run_due(
        self, session: Session, *, now: datetime, failing: FailingRows, limit: int = 500
    ) -> int:
        """A bounded batch (the rest follow at once); a call whose report fails
        is benched, the others go on. The calls are read raw, and a report
        that ends a call unanswered is written raw (`end_unanswered_raw`);
        an answered one, or one whose lead has a promise, goes the ORM's way."""
        from dialer.calls.disposition import apply_status_update, end_unanswered_raw

        raw = raw_in(session)
        skip = failing.skip(now=now)
        # The benched calls are left out here: the first `limit` others are
        # among the first `limit + len(skip)`.
        found = raw.rows(DUE, (raw.instant(now), limit + len(skip)))
        due = [d for d in (_due_of(raw, row) for row in found) if d.call_id not in skip][:limit]
        # The calls the ORM reports, loaded in one statement (not one each),
        # and held here: the session keeps rows by weak reference only.
        by_orm = [d.call_id for d in due if d.ending is None and not d.final]
        loaded: dict[int | None, Call] = (
            {c.id: c for c in session.scalars(select(Call).where(col(Call.id).in_(by_orm)))}
            if by_orm
            else {}
        )
        # A lead whose call was reported in this batch is read again by the
        # ORM for a second one (never seen: one live call per lead), not
        # decided on what was read before it.
        seen: set[int] = set()

        def report(d: _Due) -> None:
            if d is due[0]:
                # A pass over the batch begins (each_row redoes it row by row
                # after a failure, the first pass rolled back).
                seen.clear()
            at = d.at or now
            again = d.lead_id in seen
            seen.add(d.lead_id)
            held = session.identity_map.get(session.identity_key(Call, d.call_id))
            if held is None and d.final:
                raw.run(SPENT, (d.call_id,))
                return
            if (
                held is None
                and not again
                and d.ending is not None
                and d.change is not None
                and session.identity_map.get(session.identity_key(Lead, d.lead_id)) is None
                and end_unanswered_raw(
                    session, raw, call=d.ending, change=d.change, at=at, script_spent=True
                )
            ):
                return
            call = loaded.get(d.call_id) or session.get(Call, d.call_id)
            if call is None:
                return
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


def _call_id(due: _Due) -> int:
    return due.call_id


def _due_of(raw: RawSql, row: tuple[Any, ...]) -> _Due:
    (call_id, lead_id, campaign_id, agent_id, status, answered_by, answered_at, duration,
     disposition, provider, outcome, final_at) = row[:_CALL_FIELDS]  # fmt: skip
    at = raw.read_instant(final_at) if final_at is not None else None
    final = status in FINAL_CALL_STATUSES or outcome is None
    if final or outcome == SimulatedOutcome.answered or at is None:
        return _Due(call_id, lead_id, at, outcome, final, None, None)
    reported, reported_by = _FINAL[outcome]
    change = status_change(
        status_now=status,
        answered_by_now=answered_by,
        answered_at_now=raw.read_instant(answered_at) if answered_at is not None else None,
        duration_now=duration,
        dispositioned=disposition is not None,
        status=reported,
        answered_by=reported_by,
        at=at,
        duration=None,
    )
    if change is None or change.system_kind is None:
        return _Due(call_id, lead_id, at, outcome, final, change, None)
    ending = ending_call(
        call_id=call_id, lead_id=lead_id, campaign_id=campaign_id, agent_id=agent_id,
        provider=provider, facts=row[_CALL_FIELDS:],
    )  # fmt: skip
    return _Due(call_id, lead_id, at, outcome, final, change, ending)
