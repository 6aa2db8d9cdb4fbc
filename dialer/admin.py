"""Simulation controls: the clock and the simulated provider's outcome script.
They exist only in the simulated modes; elsewhere they answer 404."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dialer.calls.schemas import InboundOut
from dialer.errors import Invalid, NotFound
from dialer.leads.phones import PhoneError, normalize_phone
from dialer.settings import ClockMode, TelephonyMode
from dialer.telephony.simulated import SimulatedOutcome
from dialer.web import Ctx, CtxDep, ManagerCtxDep
from dialer.wire import Input, Instant, in_range

# The simulation controls; `router` (what the app includes) adds the clock every
# principal reads.
_sim = APIRouter(prefix="/api/admin", tags=["simulation"])
router = APIRouter()

_NO_SIM_CLOCK: dict[int | str, dict[str, Any]] = {
    404: {"description": "the service does not run with DIALER_CLOCK=simulated"}
}

# One advance at a time per process; across processes the clock only moves forward
# and every due job is idempotent, so a concurrent advance elsewhere is harmless.
_advance_lock = threading.Lock()
MAX_ADVANCE = timedelta(days=400)


class ClockOut(BaseModel):
    now: Instant
    mode: ClockMode


class ClockAdvance(Input):
    advance_seconds: float | None = Field(default=None, ge=0, le=MAX_ADVANCE.total_seconds())
    to: datetime | None = None

    @field_validator("to")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("to must carry an offset, e.g. 2026-12-01T09:00:00+09:00")
        if value is not None and not in_range(value):
            raise ValueError("must be within the years 2000–2100")
        return value

    @model_validator(mode="after")
    def _one_of(self) -> ClockAdvance:
        if (self.advance_seconds is None) == (self.to is None):
            raise ValueError("give exactly one of advance_seconds or to")
        return self


class SimOutcomesIn(Input):
    phone: str = Field(min_length=1, max_length=64)
    outcomes: list[SimulatedOutcome] = Field(min_length=1, max_length=1000)


class SimOutcomesOut(BaseModel):
    phone: str
    pending: list[str]


def _require_sim_clock(ctx: Ctx) -> None:
    if ctx.runtime.simulated_clock is None:
        raise NotFound("the clock endpoints exist only with DIALER_CLOCK=simulated")


@_sim.get("/clock", response_model=ClockOut, responses=_NO_SIM_CLOCK)
def get_clock(ctx: ManagerCtxDep) -> dict[str, Any]:
    """The simulated clock's time (kept in the database: a restart resumes it)."""
    _require_sim_clock(ctx)
    with ctx.tx() as tx:
        return {"now": tx.now, "mode": "simulated"}


@_sim.post("/clock", response_model=ClockOut, responses=_NO_SIM_CLOCK)
def advance_clock(body: ClockAdvance, ctx: ManagerCtxDep) -> dict[str, Any]:
    """Moves the simulated clock forward (`advance_seconds`, or `to` an instant), at
    most 400 days at once, never back. Everything that falls due on the way
    (promises, grace expiries, simulated outcomes, claim expiries) is done, in
    time order, before it answers."""
    _require_sim_clock(ctx)
    with ctx.tx() as tx:
        start = tx.now
    target = start + timedelta(seconds=body.advance_seconds or 0) if body.to is None else body.to
    if target < start:
        raise Invalid(f"the clock does not run backwards: it is {start.isoformat()}", field="to")
    if target - start > MAX_ADVANCE:
        raise Invalid(f"advance at most {MAX_ADVANCE.days} days at once", field="to")
    with _advance_lock:
        now = ctx.runtime.advance_clock(to=target)
    return {"now": now, "mode": "simulated"}


@_sim.post(
    "/sim/outcomes",
    response_model=SimOutcomesOut,
    responses={404: {"description": "the service does not run with DIALER_TELEPHONY=simulated"}},
)
def script_outcomes(body: SimOutcomesIn, ctx: ManagerCtxDep) -> dict[str, Any]:
    """Scripts the next simulated calls to a phone (any format): they take these
    outcomes in order, in any worker process (the script is in the database)."""
    if ctx.runtime.settings.telephony != TelephonyMode.simulated:
        raise NotFound("the outcome script exists only with DIALER_TELEPHONY=simulated")
    from dialer.telephony.simulated import SimulatedOutcome, pending_outcomes, script_outcomes

    with ctx.tx() as tx:
        try:
            phone = normalize_phone(body.phone, region=tx.runtime.settings.default_region)
        except PhoneError as exc:
            raise Invalid(str(exc), code="invalid_phone", field="phone") from exc
        script_outcomes(
            tx.session,
            phone=phone,
            outcomes=[SimulatedOutcome(o) for o in body.outcomes],
            now=tx.now,
        )
        return {"phone": phone, "pending": pending_outcomes(tx.session, phone=phone)}


class SimIncomingIn(Input):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(
        alias="from", min_length=1, max_length=64, description="the caller's phone, any format"
    )
    to: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="the number dialled, a campaign's caller_id; default: the campaign of the"
        " lead whose phone `from` is",
    )


@_sim.post(
    "/sim/incoming",
    status_code=201,
    response_model=InboundOut,
    responses={
        404: {
            "description": "the service does not run with DIALER_TELEPHONY=simulated, or `to`"
            " is no campaign's caller id (`unknown_caller_id`)"
        },
        422: {"description": "no `to`, and `from` is no lead's phone (`unknown_caller`)"},
    },
)
def simulate_incoming(body: SimIncomingIn, ctx: ManagerCtxDep) -> InboundOut:
    """A customer rings back, without Twilio: routed, claimed, kept or booked
    exactly as `POST /webhooks/twilio/incoming` does; the answer is the incoming
    call as recorded (who took it, the lead, the promise)."""
    if ctx.runtime.settings.telephony != TelephonyMode.simulated:
        raise NotFound("simulated incoming calls exist only with DIALER_TELEPHONY=simulated")
    from dialer.calls.inbound import receive
    from dialer.views.inbound import inbound_view

    with ctx.tx() as tx:
        answer = receive(
            tx.writing,
            from_=body.from_,
            to=body.to,
            provider=tx.runtime.telephony.name,
            sid=None,
            now=tx.now,
            region=tx.runtime.settings.default_region,
            claim_ttl=tx.runtime.claim_ttl,
        )
        return inbound_view(tx.session, answer=answer)


@router.get("/api/clock", response_model=ClockOut, tags=["clock"])
def service_clock(ctx: CtxDep) -> dict[str, Any]:
    """The service's clock, in UTC (the simulated one under DIALER_CLOCK=simulated),
    for countdowns that must agree with the server. Any signed-in principal."""
    with ctx.tx() as tx:
        return {"now": tx.now.astimezone(UTC), "mode": ctx.runtime.settings.clock}


router.include_router(_sim)
