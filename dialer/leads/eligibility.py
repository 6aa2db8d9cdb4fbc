"""Why a lead is (not) callable now: every rule that blocks it, not only the first.

Pure: takes the lead's facts and `now`. The same rules (`dialrules.py`) gate the
queue and dialing; this module is what lets a manager see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from dialer.campaign.hours import CallingHours, local_text
from dialer.leads.dialrules import (
    PhoneFact,
    Uncallable,
    attempts_used_up,
    daily_cap_reached,
    why_uncallable,
)
from dialer.leads.models import TERMINAL_STATUSES, LeadStatus, NextAttemptReason


class BlockRule(StrEnum):
    """What keeps a lead from being called: the rules below name their block with
    these, and eligibility and the queue diagnosis show them."""

    calling_hours = "calling_hours"
    holiday = "holiday"
    retry_delay = "retry_delay"
    daily_limit = "daily_limit"
    max_attempts = "max_attempts"
    dnc = "dnc"
    claimed = "claimed"
    promise_pending = "promise_pending"
    campaign_paused = "campaign_paused"
    terminal_status = "terminal_status"


@dataclass(frozen=True, slots=True)
class Block:
    rule: BlockRule
    until: datetime | None
    detail: str


@dataclass(frozen=True, slots=True)
class LeadFacts:
    status: str
    campaign_active: bool
    next_attempt_at: datetime | None
    next_attempt_reason: str | None
    unsolicited_attempts: int
    day_attempts_today: int
    active_phones: tuple[str, ...]
    dnc_phones: frozenset[str]
    claimed_until: datetime | None
    max_attempts: int
    max_attempts_per_day: int


_RULE_OF_REASON: dict[str, BlockRule] = {
    NextAttemptReason.daily_limit: BlockRule.daily_limit,
    NextAttemptReason.promise: BlockRule.promise_pending,
}


def rule_of_reason(reason: str | None) -> BlockRule:
    """The rule a future `next_attempt_at` stands for, by the reason stored beside it."""
    return _RULE_OF_REASON.get(reason or "", BlockRule.retry_delay)


def blocks(*, facts: LeadFacts, hours: CallingHours, now: datetime) -> list[Block]:
    found: list[Block] = []
    if facts.status in TERMINAL_STATUSES or facts.status == LeadStatus.awaiting_external:
        found.append(Block(BlockRule.terminal_status, None, f"lead is {facts.status}"))
    if not facts.campaign_active:
        found.append(Block(BlockRule.campaign_paused, None, "the campaign is paused"))
    if facts.status == LeadStatus.claimed:
        found.append(Block(BlockRule.claimed, facts.claimed_until, "held by an agent's claim"))
    phones = [
        PhoneFact(n, retired=False, listed=n in facts.dnc_phones) for n in facts.active_phones
    ]
    if why_uncallable(phones) == Uncallable.dnc:
        found.append(
            Block(BlockRule.dnc, None, "every phone of the lead is on the do-not-call list")
        )
    if facts.next_attempt_at is not None and facts.next_attempt_at > now:
        rule = rule_of_reason(facts.next_attempt_reason)
        at_text = local_text(facts.next_attempt_at, hours.tz)
        found.append(Block(rule, facts.next_attempt_at, f"next attempt at {at_text}"))
    if attempts_used_up(
        unsolicited_attempts=facts.unsolicited_attempts, max_attempts=facts.max_attempts
    ):
        found.append(
            Block(
                BlockRule.max_attempts,
                None,
                f"{facts.unsolicited_attempts} of {facts.max_attempts}",
            )
        )
    if daily_cap_reached(
        attempts_today=facts.day_attempts_today, cap=facts.max_attempts_per_day
    ) and not any(b.rule == BlockRule.daily_limit for b in found):
        found.append(
            Block(
                BlockRule.daily_limit,
                hours.next_opening(at=hours.next_local_day_start(now)),
                f"{facts.day_attempts_today} attempts today, {facts.max_attempts_per_day} allowed",
            )
        )
    closure = hours.closure(at=now)
    if closure is not None:
        detail = (
            f"a public holiday: {closure.holiday}"
            if closure.holiday is not None
            else "outside local calling hours"
        )
        if closure.opens_at is not None:
            detail += f"; they open at {local_text(closure.opens_at, hours.tz)}"
        found.append(Block(BlockRule(closure.by), closure.opens_at, detail))
    return found


def next_callable_at(*, found: list[Block], hours: CallingHours, now: datetime) -> datetime | None:
    """The earliest instant every blocking rule has lifted (and calling hours are
    open), or None when some rule gives no end."""
    if not found:
        return now
    untils = [b.until for b in found]
    if any(u is None for u in untils):
        return None
    # An end already past (a claim that expired but is not yet swept away) lifts
    # nothing before now: the lead is callable no earlier than `now`.
    return hours.next_opening(at=max([now, *(u for u in untils if u is not None)]))
