"""Phone numbers from CRM exports to E.164, or a reason that quotes the raw text."""

from __future__ import annotations

import pytest

from dialer.leads.phones import PhoneError, normalize_phone


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        pytest.param("090-1234-5678", "JP", "+819012345678", id="mobile-with-dashes"),
        pytest.param("09012345678", "JP", "+819012345678", id="mobile-digits-only"),
        pytest.param("090 1234 5678", "JP", "+819012345678", id="mobile-with-spaces"),
        pytest.param(
            "０９０－１２３４－５６７８", "JP", "+819012345678", id="full-width-digits-and-dashes"
        ),
        pytest.param("090ー1234ー5678", "JP", "+819012345678", id="katakana-long-vowel-as-dash"),
        pytest.param("+81 90 1234 5678", "JP", "+819012345678", id="international-format"),
        pytest.param(
            "＋８１ ９０ １２３４ ５６７８", "JP", "+819012345678", id="full-width-international"
        ),
        pytest.param("+81 090 1234 5678", "JP", "+819012345678", id="international-with-trunk-0"),
        pytest.param("03(1234)5678", "JP", "+81312345678", id="tokyo-area-code-in-brackets"),
        pytest.param("(03) 1234-5678", "JP", "+81312345678", id="area-code-in-leading-brackets"),
        pytest.param("０３（１２３４）５６７８", "JP", "+81312345678", id="full-width-brackets"),
        pytest.param("03-1234-5678", "JP", "+81312345678", id="landline-with-dashes"),
        pytest.param("03.1234.5678", "JP", "+81312345678", id="landline-with-dots"),
        pytest.param("  03-1234-5678\t", "JP", "+81312345678", id="surrounding-whitespace"),
        pytest.param("0120-123-456", "JP", "+81120123456", id="toll-free"),
        pytest.param("+1 212 555 0100", "JP", "+12125550100", id="foreign-number-in-e164"),
        pytest.param("(212) 555-0100", "US", "+12125550100", id="national-format-of-region"),
    ],
)
def test_normalize_phone(raw: str, region: str, expected: str) -> None:
    assert normalize_phone(raw, region=region) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param("03-12", "not a valid number for JP: '03-12'", id="too-short"),
        pytest.param(
            "03-1234-567", "not a valid number for JP: '03-1234-567'", id="landline-one-digit-short"
        ),
        pytest.param(
            "090-1234-567", "not a valid number for JP: '090-1234-567'", id="mobile-one-digit-short"
        ),
        pytest.param(
            "０３－１２",
            "not a valid number for JP: '０３－１２'",
            id="full-width-junk-quoted-as-given",
        ),
        pytest.param("0000000000", "not a valid number for JP: '0000000000'", id="zeros"),
        pytest.param("abc", "not a phone number for JP: 'abc'", id="letters"),
        pytest.param(
            "1234567890123456789012",
            "not a phone number for JP: '1234567890123456789012'",
            id="far-too-long",
        ),
        pytest.param("", "empty phone number: ''", id="empty"),
        pytest.param("   ", "empty phone number: '   '", id="blank"),
        pytest.param("\u3000", "empty phone number: '\\u3000'", id="full-width-space-only"),
    ],
)
def test_unusable_numbers_say_why_quoting_the_raw_text(raw: str, reason: str) -> None:
    with pytest.raises(PhoneError) as info:
        normalize_phone(raw, region="JP")
    assert str(info.value) == reason
    assert repr(raw) in str(info.value)


def test_phone_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="'abc'"):
        normalize_phone("abc", region="JP")


# --- the cheap reading of plain national numbers agrees with the full parser ------


def test_fast_national_reading_agrees_with_phonenumbers() -> None:
    import random

    import phonenumbers

    from dialer.leads.phones import _fast_national

    rng = random.Random(20261124)
    samples = [
        "0" + "".join(rng.choice("0123456789") for _ in range(rng.choice((9, 10))))
        for _ in range(20000)
    ]
    samples += ["+81 " + raw[1:] for raw in samples[:5000]]
    samples += ["+81 (0)" + raw[1:] for raw in samples[:5000]]
    samples += ["+81" + raw for raw in samples[5000:10000]]
    samples += ["+81 (0)3 1234 5678", "+810312345678", "+81-90-1234-5678", "+81 3 1234 5678"]
    samples += ["090-1234-5678", "03(1234)5678", "0120-123-456", "0570-000-111", "010-1234-5678"]
    disagreements = []
    for raw in samples:
        fast = _fast_national(raw, region="JP")
        try:
            parsed = phonenumbers.parse(raw, "JP")
            full = (
                phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
                if phonenumbers.is_valid_number(parsed)
                else None
            )
        except phonenumbers.NumberParseException:
            full = None
        # The cheap reading may decline (None) and leave it to the parser, but
        # whatever it answers must be the parser's answer.
        if fast is not None and fast != full:
            disagreements.append((raw, fast, full))
    assert disagreements == []
    valid = sum(_fast_national(raw, region="JP") is not None for raw in samples)
    assert valid > 1000  # it does take the common case


def _full_search(raw: str, region: str) -> list[str] | None:
    """The reading without any cheap path: parse whole, else search the cell."""
    import unicodedata

    import phonenumbers

    text = unicodedata.normalize("NFKC", raw).strip()
    e164 = phonenumbers.PhoneNumberFormat.E164
    try:
        parsed = phonenumbers.parse(text, region)
        if phonenumbers.is_valid_number(parsed):
            return [phonenumbers.format_number(parsed, e164)]
    except phonenumbers.NumberParseException:
        pass
    found = [
        phonenumbers.format_number(m.number, e164)
        for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    ]
    return list(dict.fromkeys(found)) or None


def test_numbers_with_a_note_read_as_the_full_search_reads_them() -> None:
    import random

    from dialer.leads.phones import PhoneError, phones_in_cell

    rng = random.Random(20261125)
    numbers = ["090-1234-5678", "03(1234)5678", "0312345678", "+81 (0)3 1234 5678",
               "０９０－１２３４－５６７８", "06 1234 5678", "03-12", "010-1234-5678"]  # fmt: skip
    notes = [" (自宅)", "（自宅）", " (携帯)", "(会社)", " 内線12", " 内線 1234", " ※日中のみ",
             "自宅", " 〒100-0001", " 内線12345678", " (1)", "x12", " ext. 12", "¥", " %",
             "é", "円", " / 080-1111-2222", "、0312345678", "／03-1234-5678", " 090",
             "-", ".5", "٣", " 12:30", " 1/2", "（２）", " 〇", "ー", " ー1234"]  # fmt: skip
    cells = [n + note for n in numbers for note in notes]
    cells += [rng.choice(numbers) + rng.choice(notes) + rng.choice(notes) for _ in range(2000)]
    disagreements = []
    for cell in cells:
        try:
            got: list[str] | None = phones_in_cell(cell, region="JP")
        except PhoneError:
            got = None
        if got != _full_search(cell, "JP"):
            disagreements.append((cell, got, _full_search(cell, "JP")))
    assert disagreements == []
