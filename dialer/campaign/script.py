"""A campaign's call script with a lead's fields filled in, and the identity a
call opens with (特定商取引法 §16: before any pitch, the seller, the caller's
name and the purpose of the call).

Placeholders are `{name}`, `{company}`, `{current_provider}`,
`{contract_number}`, `{phone}`, `{agent_name}`, `{seller_name}`,
`{call_reason}` and `{extra.<key>}`. One that is unknown, or whose value is
missing or blank, stays as written and is listed in `unfilled`, so the agent
sees the gap instead of a sentence with a hole in it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PLACEHOLDERS = (
    "name",
    "company",
    "current_provider",
    "contract_number",
    "phone",
    "agent_name",
    "seller_name",
    "call_reason",
)
EXTRA_PREFIX = "extra."
# Braces around one line of at most 100 characters: `{extra.担当者}` included,
# a brace left open (or a JSON sample in the text) not swallowing the rest.
_PLACEHOLDER = re.compile(r"\{([^{}\n]{1,100})\}")


@dataclass(frozen=True, slots=True)
class FilledScript:
    text: str
    unfilled: list[str]  # the placeholders left as written, each once, in order


@dataclass(frozen=True, slots=True)
class OpeningItem:
    key: str  # seller, agent_name, purpose
    value: str | None


def _text(value: Any) -> str | None:
    """A value as the agent reads it: None, blank and empty containers are missing."""
    if value is None or (isinstance(value, dict | list) and not value):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else None


def fill(template: str, *, values: Mapping[str, Any], extra: Mapping[str, Any]) -> FilledScript:
    """`values`: the named placeholders' values (missing keys are unfilled);
    `extra`: the lead's extra fields, for `{extra.<key>}`."""
    unfilled: dict[str, None] = {}

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key.startswith(EXTRA_PREFIX):
            value = _text(extra.get(key.removeprefix(EXTRA_PREFIX)))
        elif key in PLACEHOLDERS:
            value = _text(values.get(key))
        else:
            value = None
        if value is None:
            unfilled[match.group(0)] = None
            return match.group(0)
        return value

    return FilledScript(text=_PLACEHOLDER.sub(replace, template), unfilled=list(unfilled))


def seller_of(*, seller_name: str | None, campaign_name: str) -> str:
    """Who calls, as the customer hears it: the seller's name, else the campaign's."""
    return _text(seller_name) or campaign_name


def opening(*, seller: str, agent_name: str, purpose: str | None) -> list[OpeningItem]:
    """The identity the call opens with, in the order it is said."""
    return [
        OpeningItem(key="seller", value=seller),
        OpeningItem(key="agent_name", value=agent_name),
        OpeningItem(key="purpose", value=_text(purpose)),
    ]
