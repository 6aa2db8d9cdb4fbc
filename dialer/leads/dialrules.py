"""The dial-time rules about a lead's phones and attempts, each defined once.

Pure: the queue, dialing, promises, the do-not-call list and the eligibility
view all decide with these. The phones' facts come from `phonebook.py`, which
reads them through the ORM or in hand-written SQL with the same answer (a test
holds the two readers to each other on both engines). Calling hours are
`dialer.campaign.hours.CallingHours`, the one definition of those."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class PhoneFact:
    number: str
    retired: bool
    # On the do-not-call list (which may have grown since the lead was queued).
    listed: bool


class Uncallable(StrEnum):
    no_phone = "no_phone"  # no active phone left (all retired)
    dnc = "dnc"  # every active phone is on the do-not-call list


def active_numbers(phones: Sequence[PhoneFact]) -> list[str]:
    return [p.number for p in phones if not p.retired]


def callable_numbers(phones: Sequence[PhoneFact]) -> list[str]:
    """The numbers that may be dialled, best first (the order given)."""
    return [p.number for p in phones if not p.retired and not p.listed]


def why_uncallable(phones: Sequence[PhoneFact]) -> Uncallable | None:
    if callable_numbers(phones):
        return None
    return Uncallable.dnc if active_numbers(phones) else Uncallable.no_phone


def day_attempts_on(*, day_attempts: int, day_attempts_date: str | None, local_date: str) -> int:
    """Attempts on the lead's local day `local_date` (the counter is of its last day)."""
    return day_attempts if day_attempts_date == local_date else 0


def daily_cap_reached(*, attempts_today: int, cap: int) -> bool:
    """The campaign's per-day cap, counted on the lead's local day."""
    return attempts_today >= cap


def over_daily_cap(
    *, day_attempts: int, day_attempts_date: str | None, local_date: str, cap: int
) -> bool:
    on_day = day_attempts_on(
        day_attempts=day_attempts, day_attempts_date=day_attempts_date, local_date=local_date
    )
    return daily_cap_reached(attempts_today=on_day, cap=cap)


def attempts_used_up(*, unsolicited_attempts: int, max_attempts: int) -> bool:
    """The caps count the attempts the campaign initiated, not promise calls."""
    return unsolicited_attempts >= max_attempts
