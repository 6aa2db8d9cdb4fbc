"""The script fill and the §16 opening: a pure rule, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from dialer.campaign.script import fill, opening, seller_of

VALUES: dict[str, Any] = {
    "name": "山田太郎",
    "company": "山田クリニック",
    "current_provider": "東京電力",
    "contract_number": None,
    "phone": "+819055550001",
    "agent_name": "佐藤",
    "seller_name": "○○でんき",
    "call_reason": "  ",
}
EXTRA: dict[str, Any] = {"担当者": "花子", "plan": "従量電灯B", "empty": "", "count": 3, "none": None}

CASES = [
    # (template, text, unfilled)
    ("", "", []),
    ("no placeholders at all", "no placeholders at all", []),
    ("{name}様", "山田太郎様", []),
    ("{company}の{name}様", "山田クリニックの山田太郎様", []),
    ("{seller_name}の{agent_name}です", "○○でんきの佐藤です", []),
    ("現在{current_provider}", "現在東京電力", []),
    ("{phone}", "+819055550001", []),
    # Missing and blank values stay as written and are listed.
    ("番号 {contract_number}", "番号 {contract_number}", ["{contract_number}"]),
    ("{call_reason}", "{call_reason}", ["{call_reason}"]),
    # Extra fields, Japanese keys included; a number is written as text.
    ("{extra.担当者}様 {extra.plan}", "花子様 従量電灯B", []),
    ("{extra.count}件", "3件", []),
    ("{extra.empty}{extra.none}{extra.nope}", "{extra.empty}{extra.none}{extra.nope}",
     ["{extra.empty}", "{extra.none}", "{extra.nope}"]),
    # Unknown placeholders, each listed once in order of appearance.
    ("{foo} {bar} {foo}", "{foo} {bar} {foo}", ["{foo}", "{bar}"]),
    ("{Name}", "{Name}", ["{Name}"]),
    # Not placeholders: empty braces, an open brace, a brace across lines.
    ("{} {name", "{} {name", []),
    ("{na\nme}", "{na\nme}", []),
    ("{{name}}", "{山田太郎}", []),
    # A value holding braces is not filled again.
    ("{extra.plan}{name}", "従量電灯B山田太郎", []),
]  # fmt: skip


@pytest.mark.parametrize(("template", "text", "unfilled"), CASES)
def test_fill(template: str, text: str, unfilled: list[str]) -> None:
    got = fill(template, values=VALUES, extra=EXTRA)
    assert got.text == text
    assert got.unfilled == unfilled


def test_a_value_with_braces_is_not_filled_again() -> None:
    got = fill("{name}", values={"name": "{company}", "company": "X"}, extra={})
    assert got.text == "{company}" and got.unfilled == []


@pytest.mark.parametrize(
    ("seller_name", "campaign_name", "seller"),
    [("○○でんき", "Kanto", "○○でんき"), (None, "Kanto", "Kanto"), ("  ", "Kanto", "Kanto")],
)
def test_seller_is_the_seller_name_else_the_campaign(
    seller_name: str | None, campaign_name: str, seller: str
) -> None:
    assert seller_of(seller_name=seller_name, campaign_name=campaign_name) == seller


@pytest.mark.parametrize(
    ("purpose", "value"),
    [("電気料金プランのご案内", "電気料金プランのご案内"), (None, None), ("", None)],
)
def test_opening_names_seller_agent_and_purpose_in_order(
    purpose: str | None, value: str | None
) -> None:
    items = opening(seller="○○でんき", agent_name="佐藤", purpose=purpose)
    assert [(i.key, i.value) for i in items] == [
        ("seller", "○○でんき"),
        ("agent_name", "佐藤"),
        ("purpose", value),
    ]
