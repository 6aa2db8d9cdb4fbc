"""Phone numbers: anything a CRM export holds, to E.164 — or a reason why not."""

from __future__ import annotations

import unicodedata

import phonenumbers


class PhoneError(ValueError):
    """The reason a number is unusable, phrased for the manager reading the report."""


def normalize_phone(raw: str, *, region: str) -> str:
    """The first valid number in the cell, in E.164.

    Cells hold more than a number: '090-1234-5678 (自宅)', '03-1234-5678 内線12'.
    A cell that does not parse whole is searched for a number inside it, so a
    note beside the number does not cost the lead."""
    numbers = phones_in_cell(raw, region=region)
    return numbers[0]


def phones_in_cell(raw: str, *, region: str) -> list[str]:
    """Every valid number in the cell, in E.164, in order; PhoneError when none."""
    # NFKC folds full-width digits and dashes (０９０－１２３４) into ASCII first.
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        # Quote what was given: a cell of spaces reads as empty, yet it is not ''.
        raise PhoneError(f"empty phone number: {raw!r}")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and phonenumbers.is_valid_number(parsed):
        return [phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)]
    found = [
        phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        for match in phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.VALID
        )
    ]
    if found:
        return list(dict.fromkeys(found))
    if parsed is None:
        raise PhoneError(f"not a phone number for {region}: {raw!r}")
    raise PhoneError(f"not a valid number for {region}: {raw!r}")
