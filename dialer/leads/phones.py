"""Phone numbers: anything a CRM export holds, to E.164 — or a reason why not."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Any

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


# Regions whose plain national numbers ('0' + digits) we read without the full
# parser: the national prefix is '0' and no national number begins '00' or '010'
# (those are international dialling prefixes), so the parser would do nothing
# but strip the '0'. Validity is still phonenumbers' own is_valid_number.
_FAST_REGIONS: dict[str, int] = {"JP": 81}
_SEPARATORS = str.maketrans("", "", " -()")


def _fast_national(text: str, *, region: str) -> str | None:
    """E.164 of a plain national number ('090-1234-5678', '0312345678'), or None
    when the cheap reading does not apply or the number is not valid."""
    country = _FAST_REGIONS.get(region)
    if country is None:
        return None
    digits = text.translate(_SEPARATORS)
    prefix = f"+{country}"
    if digits.startswith(prefix):
        # '+81 90 1234 5678', '+81 (0)90 1234 5678': the same number written
        # internationally, with or without the trunk '0' the parser strips too.
        digits = digits[len(prefix) :]
        if not digits.startswith("0"):
            digits = "0" + digits
    if (
        not (10 <= len(digits) <= 11)
        or not digits.isascii()
        or not digits.isdigit()
        or digits[0] != "0"
        or digits[1] == "0"
        or digits.startswith("010")
    ):
        return None
    if not _national_validator(region)(digits[1:]):
        return None
    return f"+{country}{digits[1:]}"


# What may be written around a number's digits: a cell's leading run of these is
# the number, whatever follows it a note ('090-1234-5678 (自宅)', '… 内線12').
_NUMBER_CHARS = frozenset("0123456789+-() ")
# phonenumbers' own punctuation inside a number: a note that starts with one
# could be read as part of the number, so such cells go to the full search.
_NUMBER_PUNCTUATION = frozenset(phonenumbers.phonenumberutil._VALID_PUNCTUATION)
# No number is this short, so a note with at most this many digits (an extension,
# '内線12') holds no second number the full search would find.
_NOTE_MAX_DIGITS = 4
_Matcher = phonenumbers.PhoneNumberMatcher


def _fast_noted(text: str, *, region: str) -> str | None:
    """The cheap reading of a number followed by a note in words ('090-1234-5678
    (自宅)', '03-1234-5678 内線12'), where the full search (PhoneNumberMatcher,
    ~50 times slower) would find that number and no other: the note starts with
    no digit, no phone punctuation and nothing the matcher refuses beside a
    number (a Latin letter, '%', a currency sign), and holds too few digits to
    be a number itself."""
    end = 0
    for char in text:
        if char not in _NUMBER_CHARS:
            break
        end += 1
    if end == 0 or end == len(text):
        return None
    first = text[end]
    note = text[end:]
    if (
        first.isdigit()
        or first in _NUMBER_PUNCTUATION
        or _Matcher._is_latin_letter(first)
        or _Matcher._is_invalid_punctuation_symbol(first)
        or sum(char.isdigit() for char in note) > _NOTE_MAX_DIGITS
    ):
        return None
    return _fast_national(text[:end], region=region)


# The number types phonenumbers checks, the common ones first: a number is
# valid when any type matches, and most numbers are fixed lines or mobiles.
_TYPE_DESCS = (
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)


@lru_cache(maxsize=16)
def _national_validator(region: str) -> Callable[[str], bool]:
    """phonenumbers' own validity rule for a region's national numbers (general
    description, then any number type; lengths first, then the pattern, matched
    from the start to the end as phonenumbers matches it), with the region's
    patterns compiled once instead of looked up per number and per type."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    assert metadata is not None

    def compiled(desc: Any) -> tuple[frozenset[int], re.Pattern[str]] | None:
        if desc is None or not desc.national_number_pattern:
            return None
        return frozenset(desc.possible_length), re.compile(desc.national_number_pattern)

    general = compiled(metadata.general_desc)
    types = [d for d in (compiled(getattr(metadata, name)) for name in _TYPE_DESCS) if d]

    def matches(national: str, desc: tuple[frozenset[int], re.Pattern[str]]) -> bool:
        lengths, pattern = desc
        if lengths and len(national) not in lengths:
            return False
        found = pattern.match(national)
        return found is not None and found.end() == len(national)

    def valid(national: str) -> bool:
        if general is None or not matches(national, general):
            return False
        return any(matches(national, desc) for desc in types)

    return valid


def phones_in_cell(raw: str, *, region: str) -> list[str]:
    """Every valid number in the cell, in E.164, in order; PhoneError when none."""
    # NFKC folds full-width digits and dashes (０９０－１２３４) into ASCII first.
    text = unicodedata.normalize("NFKC", raw).strip()
    fast = _fast_national(text, region=region) or _fast_noted(text, region=region)
    if fast is not None:
        return [fast]
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
