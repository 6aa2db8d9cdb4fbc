"""Phone numbers: anything a CRM export holds, to E.164 — or a reason why not."""

from __future__ import annotations

import unicodedata

import phonenumbers


class PhoneError(ValueError):
    """The reason a number is unusable, phrased for the manager reading the report."""


def normalize_phone(raw: str, *, region: str) -> str:
    # NFKC folds full-width digits and dashes (０９０－１２３４) into ASCII first.
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        # Quote what was given: a cell of spaces reads as empty, yet it is not ''.
        raise PhoneError(f"empty phone number: {raw!r}")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(f"not a phone number for {region}: {raw!r}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise PhoneError(f"not a valid number for {region}: {raw!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
