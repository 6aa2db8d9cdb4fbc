"""Who gets the credit for a sign-up that came in by another channel: every branch
of the rule, the window's edges, and two agents touching one lead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialer.conversions.attribution import Attribution, Credit, Touch, TouchKind, credit_for

SIGNED = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
W, P, C = TouchKind.will_self_apply, TouchKind.open_promise, TouchKind.contact


def ago(days: float) -> datetime:
    return SIGNED - timedelta(days=days)


def t(kind: TouchKind, agent: int | None, days_ago: float) -> Touch:
    return Touch(kind, agent, ago(days_ago))


@pytest.mark.parametrize(
    ("touches", "expected"),
    [
        pytest.param([], Credit(None, Attribution.none), id="no-touch"),
        pytest.param([t(C, 7, 3)], Credit(7, Attribution.last_contact), id="last-contact"),
        pytest.param(
            [t(C, 7, 5), t(C, 8, 2)], Credit(8, Attribution.last_contact), id="latest-contact-wins"
        ),
        pytest.param(
            [t(W, 7, 6), t(C, 8, 1)],
            Credit(7, Attribution.will_self_apply),
            id="will-self-apply-beats-a-later-contact",
        ),
        pytest.param(
            [t(W, 7, 6), t(W, 8, 2)],
            Credit(8, Attribution.will_self_apply),
            id="two-agents-heard-it-the-latest-wins",
        ),
        pytest.param(
            [t(P, 9, 1), t(C, 8, 0.5)],
            Credit(9, Attribution.promise_owner),
            id="open-promise-owner-beats-contact",
        ),
        pytest.param(
            [t(P, 9, 1), t(W, 7, 4)],
            Credit(7, Attribution.will_self_apply),
            id="will-self-apply-beats-open-promise",
        ),
        pytest.param(
            [t(P, None, 1), t(C, 8, 2)],
            Credit(8, Attribution.last_contact),
            id="promise-for-anyone-has-no-owner-to-credit",
        ),
        pytest.param(
            [t(W, 7, 30)], Credit(7, Attribution.will_self_apply), id="window-edge-inclusive"
        ),
        pytest.param(
            [t(W, 7, 30.001), t(C, 8, 29)],
            Credit(8, Attribution.last_contact),
            id="just-outside-the-window",
        ),
        pytest.param([t(C, 7, 31)], Credit(None, Attribution.none), id="all-outside-the-window"),
        pytest.param(
            [t(C, 7, 2), t(W, 8, -1)],
            Credit(7, Attribution.last_contact),
            id="touches-after-the-sign-up-do-not-count",
        ),
        pytest.param(
            [t(C, 7, 0)], Credit(7, Attribution.last_contact), id="contact-at-the-same-instant"
        ),
    ],
)
def test_credit(touches: list[Touch], expected: Credit) -> None:
    assert credit_for(occurred_at=SIGNED, window_days=30, touches=touches) == expected


def test_zero_day_window_counts_only_the_same_instant() -> None:
    touches = [t(C, 7, 0), t(C, 8, 0.0001)]
    assert credit_for(occurred_at=SIGNED, window_days=0, touches=touches) == Credit(
        7, Attribution.last_contact
    )
