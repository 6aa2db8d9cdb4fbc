"""What a customer hears when no agent can take the call they answered.

特定商取引法 §16 (telephone solicitation) requires the seller's name and the
purpose of the call to be given first, so the message opens with both, then a
number to call back. A campaign may write the whole text (`abandon_message`);
otherwise it is built here from its parts, in the campaign's language."""

from __future__ import annotations

import phonenumbers

from dialer.campaign.script import seller_of


def spoken_number(number: str) -> str:
    """A phone number as text-to-speech should read it: the national form, digit
    by digit in groups (`0 3、1 2 3 4、5 6 7 8`), never as a quantity."""
    try:
        parsed = phonenumbers.parse(number, None)
        national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        national = number
    groups = [g for g in "".join(c if c.isdigit() else " " for c in national).split() if g]
    return "、".join(" ".join(group) for group in groups)


def abandon_text(
    *,
    message: str | None,
    seller_name: str | None,
    campaign_name: str,
    call_reason: str | None,
    callback_number: str | None,
    caller_id: str | None,
    language: str,
) -> str:
    """The campaign's own text when it has one, else seller, reason and number in
    its language (Japanese, or English for any other)."""
    if message:
        return message
    seller = seller_of(seller_name=seller_name, campaign_name=campaign_name)
    # Stored numbers are E.164 (the schema checks them); one that reads as nothing
    # is left out rather than read as a gap.
    number = spoken_number(callback_number or caller_id or "")
    if language.startswith("ja"):
        parts = [f"{seller}でございます。"]
        parts.append(
            f"{call_reason}でお電話いたしましたが、" if call_reason else "お電話いたしましたが、"
        )
        parts.append("ただいま担当者におつなぎできません。改めてご連絡いたします。")
        if number:
            parts.append(f"お問い合わせは、{number}、までお電話ください。")
        parts.append("失礼いたします。")
        return "".join(parts)
    parts = [f"This is {seller}."]
    parts.append(f"We called you about {call_reason}," if call_reason else "We called you,")
    parts.append("but no one can take your call right now. We will call you again.")
    if number:
        parts.append(f"To reach us, please call {number.replace('、', ', ')}.")
    parts.append("Goodbye.")
    return " ".join(parts)
