"""The compliance report's rules: what a lead's history shows each dial broke.

Data in, findings out. The facts are the lead's history events, never the
`checks` a dial recorded about itself: a `call_placed` (its instant, its `to`
number, whether an agent was reserved for it), the `disposition` outcomes
`refused` and `dnc`, `call_abandoned`, and who answered each call (the
`answered_by` of its `call_status`, `answered_by` and `disposition` events);
with the do-not-call list's audit and the calling hours in the lead's zone.
`dialer.reports.compliance` reads them in batches and hands them here.

Events are taken in id order, the order they were written: on a simulated
clock many share an instant, and "after a refusal" means written after it."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from dialer.campaign.hours import CallingHours, local_text


class Check(StrEnum):
    """The report's checks, in the order it lists them."""

    outside_calling_hours = "outside_calling_hours"
    dnc_dialed = "dnc_dialed"
    after_refusal = "after_refusal"
    abandon_rate_over_cap = "abandon_rate_over_cap"
    recalled_after_abandon = "recalled_after_abandon"


CHECK_ORDER: dict[Check, int] = {check: n for n, check in enumerate(Check)}
# A customer's "no" (refused) and "don't call me" (dnc): never solicited again.
REFUSALS = frozenset({"refused", "dnc"})
# The kinds of event the rules read (the flow reads only these).
KINDS = ("call_placed", "call_status", "answered_by", "disposition", "call_abandoned", "dnc_added")


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    id: int
    at: datetime
    kind: str
    detail: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Violation:
    check: Check
    lead_id: int | None
    call_id: int | None
    at: datetime
    detail: str


@dataclass(frozen=True, slots=True)
class Listing:
    """One stretch of a phone on the do-not-call list: from `start` until lifted
    (`end`; None while it is listed)."""

    start: datetime
    end: datetime | None


def listings(
    *, audit: Iterable[tuple[str, datetime, str]], entries: Iterable[tuple[str, datetime]]
) -> dict[str, list[Listing]]:
    """The stretches each phone was listed, from its audit `(phone, at, kind)`
    in the order written (`added`/`imported` list it, `lifted` ends it) and the
    list's entries now `(phone, created_at)`: an entry with no audit behind it
    (listed before the audit was kept) is listed since its `created_at`."""
    out: dict[str, list[Listing]] = {}
    open_since: dict[str, datetime] = {}
    for phone, at, kind in audit:
        stretches = out.setdefault(phone, [])
        if kind == "lifted":
            start = open_since.pop(phone, None)
            if start is not None:
                stretches.append(Listing(start=start, end=at))
        elif phone not in open_since:
            open_since[phone] = at
    for phone, start in open_since.items():
        out[phone].append(Listing(start=start, end=None))
    for phone, created_at in entries:
        stretches = out.setdefault(phone, [])
        if not any(s.end is None for s in stretches):
            stretches.append(Listing(start=created_at, end=None))
    return out


def listed_at(stretches: Sequence[Listing], *, at: datetime, added_before: bool) -> Listing | None:
    """The stretch that had the phone listed at `at`, if any. A listing at the
    very instant of the dial counts only when the lead's history shows it
    written first (`added_before`): on a frozen clock the two share an instant."""
    for s in stretches:
        began = s.start < at or (s.start == at and added_before)
        if began and (s.end is None or at < s.end):
            return s
    return None


@dataclass
class LeadFindings:
    dials: int = 0
    violations: list[Violation] = field(default_factory=list)
    # (placed_at, abandoned) of each call answered by a person, placed in [reach, until).
    answered: list[tuple[datetime, bool]] = field(default_factory=list)


def check_lead(
    *,
    lead_id: int,
    events: Sequence[HistoryEvent],
    hours: Callable[[datetime], CallingHours],
    dnc: Mapping[str, Sequence[Listing]],
    no_recall: Callable[[datetime], timedelta],
    since: datetime,
    until: datetime,
    reach: datetime,
    zone: ZoneInfo,
) -> LeadFindings:
    """The dials of one lead placed in [since, until), each held to four checks:
    inside the calling hours of the lead's zone, its number not on the
    do-not-call list at that instant, no refusal of the lead before it, and, for
    a dial no agent was reserved for, no abandoned call of the lead within
    `no_recall` before it. `hours` and `no_recall` answer for an instant: the
    campaign's settings as they were then. Also the calls answered by a person
    placed in [reach, until), for the abandon windows. `events` in id order."""
    found = LeadFindings()
    refusal: HistoryEvent | None = None
    abandoned_last: HistoryEvent | None = None
    added: set[str] = set()
    placed: dict[int, datetime] = {}
    answered_by: dict[int, str | None] = {}
    abandoned: set[int] = set()
    for event in events:
        detail = event.detail
        call_id = _int(detail.get("call_id"))
        if event.kind == "call_placed":
            if call_id is not None:
                placed[call_id] = event.at
            if since <= event.at < until:
                found.dials += 1
                found.violations += _dial_violations(
                    lead_id=lead_id, call_id=call_id, event=event, hours=hours, dnc=dnc,
                    added=added, refusal=refusal, abandoned_last=abandoned_last,
                    no_recall=no_recall, zone=zone,
                )  # fmt: skip
        elif event.kind == "call_abandoned":
            if call_id is not None:
                abandoned.add(call_id)
            abandoned_last = event
        elif event.kind == "dnc_added":
            phone = detail.get("phone")
            if isinstance(phone, str):
                added.add(phone)
        if event.kind == "disposition" and detail.get("outcome") in REFUSALS and refusal is None:
            refusal = event
        # The last word on who answered wins (AMD, then the agent's disposition);
        # an event that does not know (null) changes nothing.
        said = detail.get("answered_by")
        if call_id is not None and said is not None:
            answered_by[call_id] = said
    for call_id, at in placed.items():
        if reach <= at < until and (call_id in abandoned or answered_by.get(call_id) == "human"):
            found.answered.append((at, call_id in abandoned))
    return found


def _dial_violations(
    *,
    lead_id: int,
    call_id: int | None,
    event: HistoryEvent,
    hours: Callable[[datetime], CallingHours],
    dnc: Mapping[str, Sequence[Listing]],
    added: set[str],
    refusal: HistoryEvent | None,
    abandoned_last: HistoryEvent | None,
    no_recall: Callable[[datetime], timedelta],
    zone: ZoneInfo,
) -> list[Violation]:
    at = event.at
    to = event.detail.get("to")
    out: list[Violation] = []

    def found(check: Check, detail: str) -> None:
        out.append(Violation(check=check, lead_id=lead_id, call_id=call_id, at=at, detail=detail))

    open_hours = hours(at)
    if not open_hours.is_open(at=at):
        # The hours speak the lead's zone: that is where they are judged.
        found(
            Check.outside_calling_hours,
            f"placed at {local_text(at, open_hours.tz)}, outside the calling hours",
        )
    if isinstance(to, str):
        listing = listed_at(dnc.get(to, ()), at=at, added_before=to in added)
        if listing is not None:
            found(
                Check.dnc_dialed,
                f"{to} dialled at {local_text(at, zone)}, on the do-not-call list since "
                f"{local_text(listing.start, zone)}",
            )
    if refusal is not None:
        refused_call = refusal.detail.get("call_id")
        found(
            Check.after_refusal,
            f"dialled at {local_text(at, zone)} after the customer's "
            f"{refusal.detail.get('outcome')} on call {refused_call} at "
            f"{local_text(refusal.at, zone)}",
        )
    reserved = event.detail.get("reserved", True) is not False
    quiet = no_recall(at)
    if not reserved and abandoned_last is not None and at - abandoned_last.at < quiet:
        hours_after = (at - abandoned_last.at).total_seconds() / 3600
        found(
            Check.recalled_after_abandon,
            f"dialled with no agent reserved {hours_after:.1f} h after call "
            f"{abandoned_last.detail.get('call_id')} was abandoned (no recall within "
            f"{quiet.total_seconds() / 3600:g} h)",
        )
    return out


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class WindowEnd:
    day: date
    until_at: datetime
    window: timedelta = timedelta(days=30)  # the policy's window_days then
    max_rate: float = 0.03  # the policy's cap then


def window_ends(
    *,
    since: datetime,
    until: datetime,
    zone: ZoneInfo,
    policy: Callable[[datetime], tuple[timedelta, float]],
) -> list[WindowEnd]:
    """One window per local day of `zone` the period [since, until) touches,
    ending at that day's end (the last one at `until`, when the period ends
    inside a day), with the window and cap the abandon policy had at its end
    (`policy`). In UTC: a window is so many days of 24 hours before its end, as
    the abandon standing counts them, daylight saving or not."""
    first = since.astimezone(zone).date()
    last = (until - timedelta(microseconds=1)).astimezone(zone).date()
    out = []
    day = first
    while day <= last:
        end = min(
            datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC),
            until.astimezone(UTC),
        )
        window, max_rate = policy(end)
        out.append(WindowEnd(day=day, until_at=end, window=window, max_rate=max_rate))
        day += timedelta(days=1)
    return out


@dataclass(frozen=True, slots=True)
class AbandonWindow:
    day: date
    since_at: datetime
    until_at: datetime
    answered: int
    abandoned: int
    rate: float | None
    over: bool
    max_rate: float


class AnswerCounts:
    """Calls answered by a person and those abandoned, per second they were
    placed: what the abandon windows count, kept as small as the calls are
    many (a year's window over a year's period is two years of calls)."""

    def __init__(self) -> None:
        self._seconds: dict[int, list[int]] = {}

    def add(self, *, at: datetime, abandoned: bool) -> None:
        counts = self._seconds.setdefault(math.floor(at.timestamp()), [0, 0])
        counts[0] += 1
        counts[1] += int(abandoned)

    def windows(self, *, ends: Sequence[WindowEnd]) -> list[AbandonWindow]:
        """For each end, the calls placed in [until_at − window, until_at) (to
        the second), those abandoned, the rate and whether it is over the
        end's `max_rate` (the ratio itself, not its rounding)."""
        seconds = sorted(self._seconds)
        answered, dropped = [0], [0]
        for second in seconds:
            n, a = self._seconds[second]
            answered.append(answered[-1] + n)
            dropped.append(dropped[-1] + a)
        out = []
        for end in ends:
            start = end.until_at - end.window
            lo = bisect.bisect_left(seconds, math.ceil(start.timestamp()))
            hi = bisect.bisect_left(seconds, math.ceil(end.until_at.timestamp()))
            n, a = answered[hi] - answered[lo], dropped[hi] - dropped[lo]
            out.append(
                AbandonWindow(
                    day=end.day,
                    since_at=start,
                    until_at=end.until_at,
                    answered=n,
                    abandoned=a,
                    rate=round(a / n, 4) if n else None,
                    over=n > 0 and a / n > end.max_rate,
                    max_rate=end.max_rate,
                )
            )
        return out


def window_violation(w: AbandonWindow, *, zone: ZoneInfo) -> Violation:
    return Violation(
        check=Check.abandon_rate_over_cap,
        lead_id=None,
        call_id=None,
        at=w.until_at,
        detail=(
            f"{w.abandoned} of {w.answered} calls answered by a person abandoned "
            f"({w.rate}) from {local_text(w.since_at, zone)} to {local_text(w.until_at, zone)}, "
            f"over the cap {w.max_rate}"
        ),
    )


@dataclass(frozen=True, slots=True)
class Setting:
    """Some of a campaign's fields as they were from `since` (None: from the
    start) until the next setting's `since`."""

    since: datetime | None
    values: Mapping[str, Any]


def settings_timeline(
    *,
    now: Mapping[str, Any],
    changes: Iterable[tuple[datetime, Sequence[Mapping[str, Any]]]],
    fields: Iterable[str],
) -> list[Setting]:
    """The values of `fields` over time, oldest first, from their values `now`
    and the campaign's history of changes `(at, [{"field", "before",
    "after"}])` in the order written: walked back from now, each change of one
    of the fields starts a setting and its `before` values are the one before.
    A value the history has as null (a field added since) keeps the later one."""
    wanted = set(fields)
    current = {name: now[name] for name in wanted}
    later: list[Setting] = []
    for at, moved in reversed(list(changes)):
        relevant = [c for c in moved if c.get("field") in wanted]
        if not relevant:
            continue
        later.append(Setting(since=at, values=dict(current)))
        for change in relevant:
            if change.get("before") is not None:
                current[change["field"]] = change["before"]
    return [Setting(since=None, values=current), *reversed(later)]


def setting_at(settings: Sequence[Setting], at: datetime) -> int:
    """The index of the setting in force at `at` (a change at that very
    instant is in force)."""
    found = 0
    for n, setting in enumerate(settings):
        if setting.since is None or setting.since <= at:
            found = n
        else:
            break
    return found
