"""The provider error table (dialer.telephony.faults), row by row, as data."""

from __future__ import annotations

import pytest

from dialer.telephony.faults import (
    BLOCKS,
    FAULTS,
    NOT_THE_LEADS,
    UNKNOWN_REFUSAL,
    FaultAction,
    fault_of,
)

A = FaultAction

# code → (our code, action): the table as the issue and Twilio's docs fix it.
EXPECTED = {
    20003: ("provider_auth_failed", A.block_account),
    20005: ("provider_account_inactive", A.block_account),
    20404: ("provider_account_not_found", A.block_account),
    21205: ("provider_bad_webhook_url", A.block_account),
    21219: ("provider_trial_account", A.block_account),
    21210: ("caller_id_unverified", A.block_campaign),
    21212: ("caller_id_invalid", A.block_campaign),
    21215: ("geo_permission_denied", A.block_campaign),
    21211: ("invalid_to_number", A.retire_phone),
    21214: ("to_number_unreachable", A.retire_phone),
    21217: ("to_number_not_valid", A.retire_phone),
    21614: ("to_number_not_mobile", A.retire_phone),
    13223: ("invalid_phone_format", A.retire_phone),
    13224: ("invalid_phone_number", A.retire_phone),
    20429: ("provider_rate_limited", A.requeue),
}


def test_the_table_is_exactly_the_expected_rows() -> None:
    assert {c: (f.code, f.action) for c, f in FAULTS.items()} == EXPECTED
    assert all(f.provider_code == c and f.meaning for c, f in FAULTS.items())
    # Our codes name one row each: a block's code says which fault it is.
    assert len({f.code for f in FAULTS.values()}) == len(FAULTS)


@pytest.mark.parametrize(
    ("code", "status", "expected_code", "action"),
    [
        *[(c, 400, code, action) for c, (code, action) in EXPECTED.items()],
        # The HTTP status alone, when Twilio sent no code.
        (None, 429, "provider_rate_limited", A.requeue),
        (None, 401, "provider_auth_failed", A.block_account),
        # A code beats the status.
        (21210, 401, "caller_id_unverified", A.block_campaign),
        # Unknown: the attempt failed, as before the table; the code is kept.
        (21220, 400, "provider_refused", A.fail_attempt),
        (None, 400, "provider_refused", A.fail_attempt),
        (None, None, "provider_refused", A.fail_attempt),
    ],
)
def test_fault_of(code: int | None, status: int | None, expected_code: str, action: A) -> None:
    fault = fault_of(provider_code=code, http_status=status)
    assert (fault.code, fault.action) == (expected_code, action)
    if action == A.fail_attempt:
        assert fault.provider_code == code


def test_who_pays() -> None:
    assert {A.block_account, A.block_campaign} == BLOCKS
    assert BLOCKS | {A.requeue} == NOT_THE_LEADS
    assert UNKNOWN_REFUSAL.action not in NOT_THE_LEADS
