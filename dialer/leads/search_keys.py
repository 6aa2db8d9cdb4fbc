"""The forms a lead's searchable fields are stored and looked up in.

A manager types what the customer says on the phone: 'ﾔﾏﾀﾞ', 'yamada',
'ＡＢＣ商事', '0123-4567'. The lead list held the same words written some other
way. Both sides go through the same fold, so the comparison is a plain string
comparison a B-tree index answers on both engines:

- names and companies (`text_key`): NFKC (full-width letters and digits and
  half-width katakana to their usual forms), case folded, white space removed
  ('山田 太郎' and '山田太郎' are one name); matched by prefix;
- contract numbers and external ids (`id_key`): the same, and dashes removed too
  ('0123-4567' and '01234567' are one number); matched whole.

Keys are cut to their column's width: a prefix that long matches what the cut
key starts with, and no identifier we store is longer than its column.
"""

from __future__ import annotations

import sys
import unicodedata

NAME_KEY_MAX = 300
CONTRACT_KEY_MAX = 64
EXTERNAL_KEY_MAX = 128


def _fold(value: str) -> str:
    # NFKC again after casefold: folding can undo a normalization ('ǅ' → 'ǆ').
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())


def _is_dash(char: str) -> bool:
    # Pd: hyphen-minus, the Unicode hyphens and dashes; U+2212 is the minus sign
    # some Japanese fonts draw a dash with. The katakana long vowel mark 'ー' is a
    # letter, not a dash.
    return char == "\u2212" or unicodedata.category(char) == "Pd"


def text_key(value: str | None, *, limit: int = NAME_KEY_MAX) -> str | None:
    """The key of a name or company, or None when nothing is left of it."""
    if value is None:
        return None
    key = "".join(_fold(value).split())[:limit]
    return key or None


def id_key(value: str | None, *, limit: int) -> str | None:
    """The key of a contract number or external id, or None when nothing is left."""
    if value is None:
        return None
    key = "".join(c for c in "".join(_fold(value).split()) if not _is_dash(c))[:limit]
    return key or None


def prefix_end(prefix: str) -> str | None:
    """The least string greater than every string starting with `prefix`, in code
    point order (SQLite's BINARY and PostgreSQL's "C" collation); None when there
    is none (a prefix of only the last code point), so the range is open above."""
    chars = list(prefix)
    while chars:
        point = ord(chars[-1]) + 1
        if 0xD800 <= point <= 0xDFFF:
            point = 0xE000  # surrogates are not characters; no key holds one
        if point <= sys.maxunicode:
            chars[-1] = chr(point)
            return "".join(chars)
        chars.pop()
    return None


def lead_keys(
    *,
    name: str | None,
    company: str | None,
    contract_number: str | None,
    external_id: str | None,
) -> tuple[str | None, str | None, str | None, str | None]:
    """(name_key, company_key, contract_key, external_key) of a lead's fields."""
    return (
        text_key(name),
        text_key(company),
        id_key(contract_number, limit=CONTRACT_KEY_MAX),
        id_key(external_id, limit=EXTERNAL_KEY_MAX),
    )
