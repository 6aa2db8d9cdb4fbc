"""Sign-in rules: data in, a decision out (no session, no clock: `now` is given).

- The sign-in name is the account's `name` as a person types it: NFKC folds
  full-width letters and digits (ＳＡＴＯ, a Japanese IME's default) to their
  plain forms, casefold ignores case, and the ends are trimmed. Two accounts
  with passwords may not share it (a unique column holds the folded name).
- Repeated failures for one sign-in name slow the next attempt down, then lock
  the name: after BACKOFF_AFTER consecutive failures the next attempt waits
  2^(failures − BACKOFF_AFTER) seconds since the last failure (1, 2, 4, …
  capped at BACKOFF_CAP_SECONDS); at LOCK_AFTER the name is locked for the
  configured minutes. A person mistyping waits a second or two; a guesser gets
  a few dozen tries an hour.
- A password is 10–128 characters and not the name itself."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

BACKOFF_AFTER = 3
BACKOFF_CAP_SECONDS = 60
LOCK_AFTER = 10
PASSWORD_MIN = 10
PASSWORD_MAX = 128


# The stored folded name's width (agent.sign_in_name, sign_in_failure.name).
FOLDED_NAME_MAX = 200


def normalize_name(name: str) -> str:
    """The form sign-in names are matched and kept unique in. Folding can
    lengthen a name (`ß` → `ss`, `ﷺ` → 18 characters): cut to the stored width,
    so a 200-character name is matched, not a database error."""
    return unicodedata.normalize("NFKC", name).casefold().strip()[:FOLDED_NAME_MAX]


def backoff_seconds(failures: int) -> int:
    """How long after the last failure the next attempt must wait, given the
    consecutive failures so far (0: no wait)."""
    if failures < BACKOFF_AFTER:
        return 0
    exponent = failures - BACKOFF_AFTER
    # 2^6 = 64 is past the cap already; no need to build huge integers.
    return BACKOFF_CAP_SECONDS if exponent >= 6 else min(2**exponent, BACKOFF_CAP_SECONDS)


@dataclass(frozen=True, slots=True)
class Hold:
    """Why an attempt is not even checked now. `locked`: the lock-out (until
    `until`); otherwise the back-off, `retry_after` seconds from now."""

    locked: bool
    until: datetime
    retry_after: int


def hold(
    *, failures: int, last_failed_at: datetime | None, locked_until: datetime | None, now: datetime
) -> Hold | None:
    """Whether an attempt at `now` must be refused unchecked, and why."""
    if locked_until is not None and now < locked_until:
        return Hold(locked=True, until=locked_until, retry_after=_ceil(locked_until - now))
    if last_failed_at is None or (locked_until is not None and now >= locked_until):
        return None
    wait = backoff_seconds(failures)
    until = last_failed_at + timedelta(seconds=wait)
    if wait and now < until:
        return Hold(locked=False, until=until, retry_after=max(1, _ceil(until - now)))
    return None


def locks_now(failures: int) -> bool:
    """Whether this many consecutive failures lock the name."""
    return failures >= LOCK_AFTER


def password_problem(*, password: str, name: str) -> str | None:
    """What is wrong with a new password, as a sentence; None when it will do."""
    if len(password) < PASSWORD_MIN:
        return f"at least {PASSWORD_MIN} characters"
    if len(password) > PASSWORD_MAX:
        return f"at most {PASSWORD_MAX} characters"
    if normalize_name(password) == normalize_name(name):
        return "must not be the account's name"
    return None


def _ceil(delta: timedelta) -> int:
    return max(0, math.ceil(delta.total_seconds()))
