"""Who earned a conversion that arrived through another channel: a pure rule.

Customers persuaded on the phone often sign up days later by postcard or on the
web. The agent who did the work keeps the credit, looking back the campaign's
`attribution_days` from when the sign-up happened:

1. the agent who recorded `will_self_apply` ("I'll apply on the web") — the
   latest one, if two agents heard it;
2. else the owner of a promise still open (booked, not yet kept or missed): the
   customer is expecting that agent's call;
3. else the agent of the latest call answered by a person;
4. else nobody (`none`).

Touches after the sign-up don't count: they could not have caused it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Attribution(StrEnum):
    call = "call"  # converted on the phone, by the agent on the call
    will_self_apply = "will_self_apply"
    promise_owner = "promise_owner"
    last_contact = "last_contact"
    none = "none"
    unmatched = "unmatched"  # no lead found (yet)


class TouchKind(StrEnum):
    will_self_apply = "will_self_apply"
    open_promise = "open_promise"
    contact = "contact"  # a call answered by a person


@dataclass(frozen=True, slots=True)
class Touch:
    kind: TouchKind
    agent_id: int | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Credit:
    agent_id: int | None
    attribution: Attribution


_RULES: tuple[tuple[TouchKind, Attribution], ...] = (
    (TouchKind.will_self_apply, Attribution.will_self_apply),
    (TouchKind.open_promise, Attribution.promise_owner),
    (TouchKind.contact, Attribution.last_contact),
)


def credit_for(*, occurred_at: datetime, window_days: int, touches: Iterable[Touch]) -> Credit:
    since = occurred_at - timedelta(days=window_days)
    in_window = [t for t in touches if t.agent_id is not None and since <= t.at <= occurred_at]
    for kind, attribution in _RULES:
        found = [t for t in in_window if t.kind == kind]
        if found:
            latest = max(found, key=lambda t: t.at)
            return Credit(latest.agent_id, attribution)
    return Credit(None, Attribution.none)
