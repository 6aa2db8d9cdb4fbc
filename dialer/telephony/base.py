from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from dialer.calls.models import AnsweredBy, Call, CallStatus
from dialer.campaign.models import Campaign
from dialer.db import Database
from dialer.failing import FailingRows
from dialer.telephony.faults import Fault

# The domain clock as a transaction sees it (simulated or system).
NowIn = Callable[[Session], datetime]

# `provider_error` of an attempt whose create has not been answered yet.
SENDING = "sending"


class Telephony(Protocol):
    """A provider places calls and later reports their progress. Progress always
    enters through `dialer.calls.disposition.apply_status_update`, whichever provider
    sends it, so the simulated provider exercises the real webhook path."""

    name: str

    def place_call(
        self, session: Session, *, call: Call, campaign: Campaign, now: datetime
    ) -> None:
        """Start the call; sets `provider_sid` and any immediate status."""
        ...

    def next_due_at(self, session: Session, *, skip: Collection[int] = ()) -> datetime | None:
        """When the provider next has something to report on its own (simulation),
        leaving out the calls in `skip` (benched after failing)."""
        ...

    def run_due(self, session: Session, *, now: datetime, failing: FailingRows) -> int:
        """Report what has come due by `now`; returns how many calls moved. A call
        whose report raises is benched in `failing` (dialer.failing), not fatal."""
        ...

    def hang_up(self, sid: str, *, answered: bool) -> None:
        """End a live call at the provider (its outcome is recorded already)."""
        ...


# --- a provider that is asked after the commit (dialer.telephony.dialing) ---


@dataclass(frozen=True, slots=True)
class ProviderCall:
    """A call as the provider knows it, in our words: the adapter translates its
    own status names, and None is a status we have no word for."""

    sid: str
    to: str
    status: CallStatus | None
    answered_by: AnsweredBy | None
    duration: int | None
    created_at: datetime | None


class CreateNotPlaced(Exception):
    """The provider refused the create: no call exists. `fault` is the row of
    the provider's error table (dialer.telephony.faults) when the provider
    answered with an error; None when it was never reached or we chose not to
    send."""

    def __init__(self, message: str, *, fault: Fault | None = None) -> None:
        super().__init__(message)
        self.fault = fault


class CreateUnknown(Exception):
    """The create may or may not have placed a call (timeout, 5xx, broken reply)."""


class CallCreator(Protocol):
    """What placing a committed attempt needs of its provider: the create itself
    (paced, retried only where it cannot have placed a call; raises
    CreateNotPlaced or CreateUnknown) and the look-ups that settle an attempt
    whose create's answer was lost."""

    name: str
    ring_timeout: int
    # No call lasts longer at the provider: an answered call still without a final
    # status after this lost its last callback, and is asked about.
    max_call_seconds: int

    def create_params(self, *, call: Call, campaign: Campaign) -> dict[str, Any]: ...

    def test_call_params(self, *, to: str, campaign: Campaign) -> dict[str, Any]:
        """A manager's test call from the campaign's caller id: says one sentence
        and hangs up; no attempt, no callbacks."""
        ...

    def send_create(
        self,
        db: Database,
        *,
        params: dict[str, Any],
        campaign: Campaign,
        still_wanted: Callable[[], str | None] = ...,
    ) -> str: ...

    def look_up(self, *, call: Call, taken: Iterable[str]) -> ProviderCall | None: ...

    def fetch(self, sid: str) -> ProviderCall: ...
