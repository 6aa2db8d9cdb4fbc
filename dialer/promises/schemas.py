from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, model_validator

from dialer.promises.models import MadeBy, PromiseOwner, PromiseRequest, PromiseStatus
from dialer.promises.slots import PromiseKind
from dialer.wire import Input, Instant, WallOrInstantIn

_WALL = "an instant with an offset, or a wall time of the campaign's zone without one"


class WindowIn(Input):
    start: WallOrInstantIn = Field(description=_WALL)
    end: WallOrInstantIn = Field(description=_WALL)


class PromiseIn(Input):
    """Exactly one of `in_minutes`, `at`, `window`."""

    in_minutes: int | None = Field(default=None, ge=0, le=60 * 24 * 366)
    at: WallOrInstantIn | None = Field(default=None, description=_WALL)
    window: WindowIn | None = None
    owner: PromiseOwner | None = None
    agent_id: int | None = Field(
        default=None, ge=1, le=2**63 - 1, description="managers: the agent who owns it"
    )
    made_by: MadeBy = MadeBy.agent
    note: str | None = Field(default=None, max_length=10_000)

    @model_validator(mode="after")
    def _one_form(self) -> PromiseIn:
        given = [f for f in ("in_minutes", "at", "window") if getattr(self, f) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of in_minutes, at or window")
        return self

    def request(self) -> PromiseRequest:
        # Times without an offset stay wall times until booking reads the campaign's zone.
        window = None
        if self.window is not None:
            window = (self.window.start, self.window.end)
        return PromiseRequest(
            in_minutes=self.in_minutes,
            at=self.at,
            window=window,
            owner=self.owner,
            agent_id=self.agent_id,
            made_by=self.made_by,
            note=self.note,
        )


class PromiseHolder(StrEnum):
    """Who a promise is for, as answers show it: its agent's, or anyone's on the
    campaign (the request's `me` becomes `agent`)."""

    agent = "agent"
    anyone = "anyone"


class PromiseOut(BaseModel):
    id: int
    lead_id: int
    lead_name: str | None = Field(description="the lead's name, as an alert shows it")
    company: str | None = Field(description="the lead's company, if any")
    campaign_id: int
    agent_id: int | None
    owner: PromiseHolder
    booked_by: str
    made_by: MadeBy
    kind: PromiseKind
    note: str | None
    due_at: Instant
    window_end: Instant
    slot_start: Instant
    status: PromiseStatus
    call_id: int | None
    kept_call_id: int | None
    followups: int
    replaced_by_id: int | None
    closed_at: Instant | None
    closed_reason: str | None
    created_at: Instant


class PromiseList(BaseModel):
    items: list[PromiseOut]
    next_cursor: str | None = None


class PromiseCancelIn(Input):
    reason: str | None = Field(default=None, max_length=2000)
