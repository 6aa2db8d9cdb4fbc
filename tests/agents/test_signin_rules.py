"""The sign-in rules as tables: name folding, the back-off schedule, when an
attempt is held back (back-off or lock-out), and what a password must be."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialer.agents.signin import (
    BACKOFF_CAP_SECONDS,
    Hold,
    backoff_seconds,
    hold,
    locks_now,
    normalize_name,
    password_problem,
)

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Sato", "sato"),
        ("  Sato  ", "sato"),
        ("ＳＡＴＯ", "sato"),  # full-width letters, as a Japanese IME types them
        ("Ｓａｔｏ　", "sato"),  # and the ideographic space
        ("佐藤", "佐藤"),
        ("ｻﾄｳ", "サトウ"),  # half-width katakana
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # casefold, not lower
        ("manager", "manager"),
        ("Ⅻ", "xii"),  # compatibility forms
        ("ß" * 200, "s" * 200),  # folding doubles it: cut to the stored width
    ],
)
def test_names_are_folded(typed: str, folded: str) -> None:
    assert normalize_name(typed) == folded


def test_a_name_folding_to_many_characters_is_cut_to_the_stored_width() -> None:
    one = normalize_name("ﷺ")  # one character, 18 once folded
    assert len(one) == 18
    assert normalize_name("ﷺ" * 200) == (one * 12)[:200]


@pytest.mark.parametrize(
    ("failures", "wait"),
    [
        (0, 0),
        (1, 0),
        (2, 0),
        (3, 1),
        (4, 2),
        (5, 4),
        (6, 8),
        (7, 16),
        (8, 32),
        (9, 60),  # 64, capped
        (10, 60),
        (50, 60),
        (10**9, 60),
    ],
)
def test_backoff_schedule(failures: int, wait: int) -> None:
    assert backoff_seconds(failures) == wait
    assert wait <= BACKOFF_CAP_SECONDS


@pytest.mark.parametrize(
    ("failures", "since_last", "locked_until", "expected"),
    [
        # No failure yet, or fewer than three: never held.
        (0, None, None, None),
        (2, 0, None, None),
        # Three failures: one second after the last one.
        (3, 0, None, Hold(locked=False, until=T0 + timedelta(seconds=1), retry_after=1)),
        (3, 0.5, None, Hold(locked=False, until=T0 + timedelta(seconds=1), retry_after=1)),
        (3, 1, None, None),
        # Five: four seconds; a part of a second left still says 1.
        (5, 1, None, Hold(locked=False, until=T0 + timedelta(seconds=4), retry_after=3)),
        (5, 3.9, None, Hold(locked=False, until=T0 + timedelta(seconds=4), retry_after=1)),
        (5, 4, None, None),
        (9, 59, None, Hold(locked=False, until=T0 + timedelta(seconds=60), retry_after=1)),
        (9, 60, None, None),
        # Locked: held until the lock runs out, whatever the back-off says.
        (10, 0, 1800, Hold(locked=True, until=T0 + timedelta(seconds=1800), retry_after=1800)),
        (10, 1799, 1800, Hold(locked=True, until=T0 + timedelta(seconds=1800), retry_after=1)),
        (10, 1800, 1800, None),
        (10, 5000, 1800, None),
    ],
)
def test_when_an_attempt_is_held(
    failures: int, since_last: float | None, locked_until: int | None, expected: Hold | None
) -> None:
    now = T0 + timedelta(seconds=since_last or 0)
    got = hold(
        failures=failures,
        last_failed_at=None if since_last is None else T0,
        locked_until=None if locked_until is None else T0 + timedelta(seconds=locked_until),
        now=now,
    )
    assert got == expected


@pytest.mark.parametrize(("failures", "locks"), [(0, False), (9, False), (10, True), (11, True)])
def test_ten_failures_lock(failures: int, locks: bool) -> None:
    assert locks_now(failures) is locks


@pytest.mark.parametrize(
    ("password", "name", "problem"),
    [
        ("correct horse", "Sato", None),
        ("x" * 10, "Sato", None),
        ("x" * 9, "Sato", "at least 10 characters"),
        ("", "Sato", "at least 10 characters"),
        ("x" * 128, "Sato", None),
        ("x" * 129, "Sato", "at most 128 characters"),
        ("パスワードは十文字以上", "Sato", None),
        ("Sato Ichiro", "sato ichiro", "must not be the account's name"),
        ("ＳＡＴＯ ＩＣＨＩＲＯ", "Sato Ichiro", "must not be the account's name"),
        ("Sato Ichiro1", "Sato Ichiro", None),
    ],
)
def test_password_rules(password: str, name: str, problem: str | None) -> None:
    assert password_problem(password=password, name=name) == problem
