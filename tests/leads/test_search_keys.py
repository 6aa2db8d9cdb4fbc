"""The fold lead search compares in (dialer.leads.search_keys), table-driven."""

from __future__ import annotations

import sys

import pytest

from dialer.leads.search_keys import id_key, lead_keys, prefix_end, text_key


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (None, None),
        ("", None),
        ("  \u3000 ", None),  # ideographic space too
        ("山田 太郎", "山田太郎"),
        ("山田\u3000太郎", "山田太郎"),
        ("Yamada Taro", "yamadataro"),
        ("ＹＡＭＡＤＡ", "yamada"),  # full-width Latin
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダタロウ"),  # half-width katakana, voiced mark composed
        ("ABC商事㈱", "abc商事(株)"),  # compatibility characters
        ("Straße", "strasse"),  # case folding, not lower()
        ("x" * 400, "x" * 300),  # cut to the column
    ],
)
def test_text_key(value: str | None, key: str | None) -> None:
    assert text_key(value) == key


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (None, None),
        ("-", None),
        ("0312-3456-7890", "031234567890"),
        ("０３１２－３４５６", "03123456"),  # full-width digits and hyphen
        ("03\u22123456", "033456"),  # minus sign
        ("03\u20103456\u20143", "0334563"),  # Unicode hyphen, em dash
        ("CRM 001", "crm001"),
        ("ｶｰﾄﾞ-1", "カード1"),  # the long vowel mark is a letter, kept
    ],
)
def test_id_key(value: str | None, key: str | None) -> None:
    assert id_key(value, limit=64) == key


def test_lead_keys_cut_each_key_to_its_column() -> None:
    assert lead_keys(name="a" * 301, company=None, contract_number="1" * 70, external_id="x") == (
        "a" * 300,
        None,
        "1" * 64,
        "x",
    )


@pytest.mark.parametrize(
    ("prefix", "end"),
    [
        ("abc", "abd"),
        ("山田", "山由"),
        ("a\ud7ff", "a\ue000"),  # over the surrogates
        (f"a{chr(sys.maxunicode)}", "b"),
        (chr(sys.maxunicode), None),
    ],
)
def test_prefix_end(prefix: str, end: str | None) -> None:
    assert prefix_end(prefix) == end
    if end is not None:
        # Every string with the prefix sorts before the end, in code point order.
        assert prefix < prefix + chr(sys.maxunicode) < end
