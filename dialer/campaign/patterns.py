"""Contract-number patterns: a campaign's regular expression for what its
contract numbers look like (the 22-digit supply point number), typed by a
manager and matched against every number an agent, a web form or a CSV gives.

Matched with RE2 (google-re2), not Python's `re`: RE2 runs in time linear in
the input whatever the pattern, so a pattern such as `(a+)+$` cannot hold a
worker's CPU for minutes (Python's backtracking engine is exponential there).
A timeout (the `regex` module's `timeout=`) was the other choice; it still
burns its whole budget on every bad number of a large CSV and turns "does
not match" into "could not tell". RE2 refuses, at write time, what it cannot
promise linear time for (backreferences, lookaround): the manager is told
which construct, and writes the pattern without it. RE2's `\\d` is ASCII 0-9."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

# A pattern is stored in a String(500) column.
MAX_PATTERN_LENGTH = 500
# RE2's memory budget for one compiled pattern: a bounded repetition such as
# `\\d{1000}` unrolls; anything over this is refused at write time.
_MAX_MEM = 1 << 20


class ContractPatternError(ValueError):
    """Not a pattern RE2 can run (its message names the construct)."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # the error is the API's answer, not stderr noise
    options.max_mem = _MAX_MEM
    return options


@lru_cache(maxsize=256)
def compile_contract_pattern(pattern: str) -> Any:
    """The compiled pattern, or ContractPatternError."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ContractPatternError(f"longer than {MAX_PATTERN_LENGTH} characters")
    try:
        return re2.compile(pattern, options=_options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise ContractPatternError(
            f"not a pattern this service can match in linear time (RE2 syntax: no "
            f"backreferences or lookaround): {reason}"
        ) from exc


def matches_contract_pattern(pattern: str, number: str) -> bool | None:
    """Whether `number` matches all of `pattern`; None if the pattern is not one
    RE2 runs (stored before patterns were checked at write time)."""
    try:
        compiled = compile_contract_pattern(pattern)
    except ContractPatternError:
        return None
    return compiled.fullmatch(number) is not None
