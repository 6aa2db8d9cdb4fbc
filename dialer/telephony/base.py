from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from dialer.calls.models import Call
from dialer.campaign.models import Campaign


class Telephony(Protocol):
    """A provider places calls and later reports their progress. Progress always
    enters through `dialer.calls.service.apply_status_update`, whichever provider
    sends it, so the simulated provider exercises the real webhook path."""

    name: str

    def place_call(
        self, session: Session, *, call: Call, campaign: Campaign, now: datetime
    ) -> None:
        """Start the call; sets `provider_sid` and any immediate status."""
        ...

    def next_due_at(self, session: Session) -> datetime | None:
        """When the provider next has something to report on its own (simulation)."""
        ...

    def run_due(self, session: Session, *, now: datetime) -> int:
        """Report what has come due by `now`; returns how many calls moved."""
        ...
