"""What each outcome of a call does: a pure table the disposition flow applies.

One row per `Outcome`. Reading a row answers "what does a `refused` disposition
do?" without reading the flow: the lead's transition, whether an open promise
is settled, whether the household goes on the do-not-call list, whether a
conversion is recorded, which retry ladder applies, and who it says answered."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dialer.calls.models import AnsweredBy, Outcome
from dialer.calls.retry import RetryKind


class LeadEffect(StrEnum):
    # Book (or confirm) a promise; the lead waits for it, scheduled.
    book_promise = "book_promise"
    # Close as converted (the conversion credits the agent).
    convert = "convert"
    # Nobody calls until the customer's own sign-up is reported.
    await_external = "await_external"
    close_refused = "close_refused"
    close_dnc = "close_dnc"
    # Retire the phone called; go on at once on another phone, or close as invalid.
    retire_phone = "retire_phone"
    # Not reached: a kept promise is followed up, a booked one stands, else retry.
    unreached = "unreached"
    # Reached, not now: the retry ladder of `retry_kind`.
    retry = "retry"


@dataclass(frozen=True, slots=True)
class Effects:
    lead: LeadEffect
    # Any answer but `callback` settles the lead's promise: one still open is
    # cancelled (the conversation superseded it); not reaching the customer
    # settles nothing.
    settles_promise: bool
    # The law forbids soliciting again after a refusal: every phone of the
    # household goes on the list, for every campaign.
    adds_dnc: bool
    records_conversion: bool
    retry_kind: RetryKind | None
    # Applied even when the lead was closed by another channel during the call
    # (a web sign-up): a refusal must still stop every further call.
    applies_to_closed_lead: bool
    # Agents record it; the others are recorded by the system only.
    agent_may_record: bool
    # Who the outcome says answered: without machine detection a picked-up call
    # is `unknown` until the agent says a person spoke (contacts and credit count
    # people only). None: the outcome says nothing about it.
    answered_by: AnsweredBy | None


def _row(
    lead: LeadEffect,
    *,
    settles_promise: bool = True,
    adds_dnc: bool = False,
    records_conversion: bool = False,
    retry_kind: RetryKind | None = None,
    applies_to_closed_lead: bool = False,
    agent_may_record: bool = True,
    answered_by: AnsweredBy | None = AnsweredBy.human,
) -> Effects:
    return Effects(
        lead=lead,
        settles_promise=settles_promise,
        adds_dnc=adds_dnc,
        records_conversion=records_conversion,
        retry_kind=retry_kind,
        applies_to_closed_lead=applies_to_closed_lead,
        agent_may_record=agent_may_record,
        answered_by=answered_by,
    )


OUTCOMES: dict[Outcome, Effects] = {
    Outcome.converted: _row(LeadEffect.convert, records_conversion=True),
    Outcome.callback: _row(LeadEffect.book_promise, settles_promise=False),
    Outcome.will_self_apply: _row(LeadEffect.await_external),
    Outcome.not_interested: _row(LeadEffect.retry, retry_kind=RetryKind.not_interested),
    Outcome.refused: _row(LeadEffect.close_refused, adds_dnc=True, applies_to_closed_lead=True),
    Outcome.dnc: _row(LeadEffect.close_dnc, adds_dnc=True, applies_to_closed_lead=True),
    Outcome.wrong_number: _row(LeadEffect.retire_phone),
    Outcome.no_answer: _row(
        LeadEffect.unreached,
        settles_promise=False,
        retry_kind=RetryKind.no_answer,
        answered_by=None,
    ),
    Outcome.busy: _row(
        LeadEffect.unreached, settles_promise=False, retry_kind=RetryKind.busy, answered_by=None
    ),
    Outcome.machine: _row(
        LeadEffect.unreached,
        settles_promise=False,
        retry_kind=RetryKind.machine,
        answered_by=AnsweredBy.machine,
    ),
    Outcome.failed: _row(
        LeadEffect.unreached,
        settles_promise=False,
        retry_kind=RetryKind.failed,
        agent_may_record=False,
        answered_by=None,
    ),
    # The customer answered and nobody could take them: retried like a call
    # nobody answered.
    Outcome.abandoned: _row(
        LeadEffect.unreached,
        settles_promise=False,
        retry_kind=RetryKind.no_answer,
        agent_may_record=False,
        answered_by=None,
    ),
}

AGENT_OUTCOMES: frozenset[Outcome] = frozenset(o for o, e in OUTCOMES.items() if e.agent_may_record)


def effects_of(outcome: Outcome) -> Effects:
    return OUTCOMES[outcome]
