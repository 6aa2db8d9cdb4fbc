"""When to call again: a pure decision, stored as data (`next_attempt_at`).

Retries of this kind are not tenacity's business: "call again in 30 minutes" must
survive restarts and be visible to managers, so it is a row, not a sleeping thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from dialer.calls.best_hour import HourStats, best_hour_at
from dialer.campaign.hours import CallingHours
from dialer.campaign.models import RetryTiming
from dialer.campaign.schemas import RetryPolicy
from dialer.leads.dialrules import attempts_used_up, daily_cap_reached
from dialer.leads.models import NextAttemptReason


class RetryKind(StrEnum):
    no_answer = "no_answer"
    busy = "busy"
    machine = "machine"
    failed = "failed"
    not_interested = "not_interested"


# The failures whose retry waits for a better hour: nobody (or a machine) took
# the call. A busy line is somebody there; a failure is the network's.
BEST_HOUR_KINDS = frozenset({RetryKind.no_answer, RetryKind.machine})


@dataclass(frozen=True, slots=True)
class RetryDecision:
    next_attempt_at: datetime | None
    reason: NextAttemptReason | None
    exhausted: bool
    detail: str


def ladder_delay(ladder: list[int], *, failures_of_kind: int) -> int:
    """The n-th delay after the n-th failure of a kind; the last one repeats."""
    index = max(failures_of_kind, 1) - 1
    return ladder[min(index, len(ladder) - 1)]


def decide_next(
    *,
    kind: RetryKind,
    policy: RetryPolicy,
    failures_of_kind: int,
    unsolicited_attempts: int,
    day_attempts: int,
    final_at: datetime,
    hours: CallingHours,
    timing: RetryTiming = RetryTiming.fixed,
    hour_stats: Mapping[int, HourStats] | None = None,
    seed: str = "",
) -> RetryDecision:
    """Decide the next attempt after an attempt of `kind` ended at `final_at`.

    `failures_of_kind`, `unsolicited_attempts` and `day_attempts` already include
    the attempt that just ended. The caps count unsolicited attempts only.

    `timing` best_hour: the ladder's time (and the daily cap's next day) is the
    earliest the attempt may come; `best_hour.best_hour_at` then picks the local
    hour of the next 24 with the best answer rate in `hour_stats`, drawn with
    `seed`. A no-answer is what the hour explains; a busy line or a failed call
    is retried on the ladder, which is short on purpose."""
    if attempts_used_up(
        unsolicited_attempts=unsolicited_attempts, max_attempts=policy.max_attempts
    ):
        return RetryDecision(
            None, None, True, f"max_attempts reached ({unsolicited_attempts}/{policy.max_attempts})"
        )
    delay = ladder_delay(getattr(policy, kind.value), failures_of_kind=failures_of_kind)
    at = final_at + timedelta(seconds=delay)
    reason = NextAttemptReason.retry_delay
    detail = f"{kind.value} #{failures_of_kind}: retry after {delay}s"
    if daily_cap_reached(attempts_today=day_attempts, cap=policy.max_attempts_per_day):
        next_day = hours.next_local_day_start(final_at)
        if at < next_day:
            at = next_day
            reason = NextAttemptReason.daily_limit
            detail = f"max_attempts_per_day reached ({day_attempts}); next local day"
    opening = hours.next_opening(at=at)
    if opening is None:
        return RetryDecision(None, None, True, "no calling hours ahead")
    if timing == RetryTiming.best_hour and kind in BEST_HOUR_KINDS:
        best, why = best_hour_at(earliest=at, hours=hours, stats=hour_stats or {}, seed=seed)
        return RetryDecision(best, reason, False, f"{detail}; {why}")
    if opening > at:
        detail += "; moved to the next opening of calling hours"
    return RetryDecision(opening, reason, False, detail)
