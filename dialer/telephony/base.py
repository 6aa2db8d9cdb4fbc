from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from dialer.calls.models import Call
from dialer.campaign.models import Campaign
from dialer.db import Database

# The domain clock as a transaction sees it (simulated or system).
NowIn = Callable[[Session], datetime]


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

    def next_due_at(self, session: Session) -> datetime | None:
        """When the provider next has something to report on its own (simulation)."""
        ...

    def run_due(self, session: Session, *, now: datetime) -> int:
        """Report what has come due by `now`; returns how many calls moved."""
        ...

    def dial(self, db: Database, *, call_id: int, now_in: NowIn) -> None:
        """After the attempt is committed: ask the provider to place the call.
        Nothing to do for a provider that placed it inside the transaction."""
        ...

    def reconcile(self, db: Database, *, now_in: NowIn) -> int:
        """Settle calls the provider never finished reporting; returns how many."""
        ...

    def hang_up(self, sid: str, *, answered: bool) -> None:
        """End a live call at the provider (its outcome is recorded already)."""
        ...
