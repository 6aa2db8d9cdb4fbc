"""The abandon message, without HTTP: the seller and the reason first (特定商取引法
§16), then a number to call back read digit by digit, in the campaign's language."""

from __future__ import annotations

import pytest

from dialer.campaign.message import abandon_text, spoken_number


@pytest.mark.parametrize(
    ("number", "spoken"),
    [
        ("+81312345678", "0 3、1 2 3 4、5 6 7 8"),
        ("+81120123456", "0 1 2 0、1 2 3、4 5 6"),
        ("+819012345678", "0 9 0、1 2 3 4、5 6 7 8"),
        ("+14155550100", "4 1 5、5 5 5、0 1 0 0"),
        ("not a number", ""),
    ],
)
def test_spoken_number(number: str, spoken: str) -> None:
    assert spoken_number(number) == spoken


BASE = {
    "message": None,
    "seller_name": None,
    "campaign_name": "さくら電力",
    "call_reason": None,
    "callback_number": None,
    "caller_id": None,
    "language": "ja-JP",
}

CASES: list[tuple[dict[str, str | None], str]] = [
    # Nothing set: the campaign's name, no reason, no number.
    ({}, "さくら電力でございます。お電話いたしましたが、ただいま担当者におつなぎできません。"
         "改めてご連絡いたします。失礼いたします。"),  # fmt: skip
    # The caller id is the number to call back by default.
    ({"caller_id": "+81312345678"},
     "さくら電力でございます。お電話いたしましたが、ただいま担当者におつなぎできません。"
     "改めてご連絡いたします。お問い合わせは、0 3、1 2 3 4、5 6 7 8、までお電話ください。"
     "失礼いたします。"),  # fmt: skip
    # Seller, reason and callback number given: they win.
    ({"seller_name": "関東でんき", "call_reason": "料金プランのご案内",
      "callback_number": "+81120123456", "caller_id": "+81312345678"},
     "関東でんきでございます。料金プランのご案内でお電話いたしましたが、ただいま担当者に"
     "おつなぎできません。改めてご連絡いたします。お問い合わせは、0 1 2 0、1 2 3、4 5 6、"
     "までお電話ください。失礼いたします。"),  # fmt: skip
    # A number that reads as nothing is left out, not read as a gap.
    ({"caller_id": "garbage"},
     "さくら電力でございます。お電話いたしましたが、ただいま担当者におつなぎできません。"
     "改めてご連絡いたします。失礼いたします。"),  # fmt: skip
    # The campaign's own text is read as written.
    ({"message": "関東でんきです。またお電話します。", "seller_name": "x"},
     "関東でんきです。またお電話します。"),  # fmt: skip
    # Another language: English.
    ({"language": "en-US", "seller_name": "Kanto Power", "call_reason": "your electricity plan",
      "caller_id": "+14155550100"},
     "This is Kanto Power. We called you about your electricity plan, but no one can take "
     "your call right now. We will call you again. To reach us, please call "
     "4 1 5, 5 5 5, 0 1 0 0. Goodbye."),  # fmt: skip
]


@pytest.mark.parametrize(("given", "text"), CASES)
def test_abandon_text(given: dict[str, str | None], text: str) -> None:
    fields = {**BASE, **given}
    assert abandon_text(
        message=fields["message"],
        seller_name=fields["seller_name"],
        campaign_name=fields["campaign_name"] or "",
        call_reason=fields["call_reason"],
        callback_number=fields["callback_number"],
        caller_id=fields["caller_id"],
        language=fields["language"] or "ja-JP",
    ) == text


def test_the_identity_comes_first() -> None:
    text = abandon_text(message=None, seller_name="関東でんき", campaign_name="c",
                        call_reason="ご案内", callback_number="+81312345678", caller_id=None,
                        language="ja-JP")  # fmt: skip
    assert text.index("関東でんき") < text.index("ご案内") < text.index("0 3、")
