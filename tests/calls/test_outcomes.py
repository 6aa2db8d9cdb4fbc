"""The outcome table, a row per outcome, without HTTP or a database: what each
disposition does to the lead, its promise, the do-not-call list and credit."""

from __future__ import annotations

import pytest

from dialer.calls.models import AnsweredBy, Outcome
from dialer.calls.outcomes import AGENT_OUTCOMES, OUTCOMES, LeadEffect, effects_of
from dialer.calls.retry import RetryKind
from dialer.calls.schemas import DispositionIn

L = LeadEffect
# outcome: (lead effect, settles promise, adds DNC, records conversion, retry kind,
#           applies to a lead closed meanwhile, agent may record)
TABLE: dict[Outcome, tuple[LeadEffect, bool, bool, bool, RetryKind | None, bool, bool]] = {
    Outcome.converted: (L.convert, True, False, True, None, False, True),
    Outcome.callback: (L.book_promise, False, False, False, None, False, True),
    Outcome.will_self_apply: (L.await_external, True, False, False, None, False, True),
    Outcome.not_interested: (L.retry, True, False, False, RetryKind.not_interested, False, True),
    Outcome.refused: (L.close_refused, True, True, False, None, True, True),
    Outcome.dnc: (L.close_dnc, True, True, False, None, True, True),
    Outcome.wrong_number: (L.retire_phone, True, False, False, None, False, True),
    Outcome.no_answer: (L.unreached, False, False, False, RetryKind.no_answer, False, True),
    Outcome.busy: (L.unreached, False, False, False, RetryKind.busy, False, True),
    Outcome.machine: (L.unreached, False, False, False, RetryKind.machine, False, True),
    Outcome.failed: (L.unreached, False, False, False, RetryKind.failed, False, False),
    Outcome.abandoned: (L.unreached, False, False, False, RetryKind.no_answer, False, False),
}


def test_every_outcome_has_a_row() -> None:
    assert set(OUTCOMES) == set(Outcome) == set(TABLE)


@pytest.mark.parametrize("outcome", list(Outcome))
def test_outcome_row(outcome: Outcome) -> None:
    e = effects_of(outcome)
    got = (e.lead, e.settles_promise, e.adds_dnc, e.records_conversion, e.retry_kind,
           e.applies_to_closed_lead, e.agent_may_record)  # fmt: skip
    assert got == TABLE[outcome]


# Who each outcome says answered: contacts and credit count people only, and
# without machine detection the agent's word is how the dialer learns it.
ANSWERED_BY: dict[Outcome, AnsweredBy | None] = {
    Outcome.converted: AnsweredBy.human,
    Outcome.callback: AnsweredBy.human,
    Outcome.will_self_apply: AnsweredBy.human,
    Outcome.not_interested: AnsweredBy.human,
    Outcome.refused: AnsweredBy.human,
    Outcome.dnc: AnsweredBy.human,
    Outcome.wrong_number: AnsweredBy.human,
    Outcome.no_answer: None,
    Outcome.busy: None,
    Outcome.machine: AnsweredBy.machine,
    Outcome.failed: None,
    Outcome.abandoned: None,
}


@pytest.mark.parametrize("outcome", list(Outcome))
def test_who_the_outcome_says_answered(outcome: Outcome) -> None:
    assert effects_of(outcome).answered_by == ANSWERED_BY[outcome]


def test_only_retrying_effects_name_a_ladder() -> None:
    for outcome, e in OUTCOMES.items():
        assert (e.retry_kind is not None) == (e.lead in (L.retry, L.unreached)), outcome


def test_the_agents_outcomes_are_what_the_api_accepts() -> None:
    accepted = set(DispositionIn.model_json_schema()["properties"]["outcome"]["enum"])
    assert accepted == {o.value for o in AGENT_OUTCOMES}
