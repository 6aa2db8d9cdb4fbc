"""Every error Twilio can answer a call create with that the dialer knows, and
what the dialer does about it: one table, code → meaning → action.

Without it every refusal was a failed attempt on the lead, retried in an hour,
so a misconfigured account wore out every lead's attempt caps in a morning.
The rule is: who is at fault pays. The account or the campaign's set-up is
wrong → dialing stops (for every campaign, or that one) until a manager clears
it or a test call goes through, and the lead goes back to the queue with no
attempt counted. The number is wrong → that phone is retired, as an agent's
`wrong_number` does. Anything else → the attempt failed, as before.

Meanings are Twilio's (https://www.twilio.com/docs/errors/<code>). Pure: the
adapter (dialer.telephony.twilio) reads the code and HTTP status off the SDK's
exception and asks `fault_of`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FaultAction(StrEnum):
    # Nobody's set-up is to blame: the attempt failed (retry policy `failed`).
    fail_attempt = "fail_attempt"
    # The number cannot be called: retire that phone (like `wrong_number`).
    retire_phone = "retire_phone"
    # The campaign's set-up is wrong (its caller id): stop dialing it.
    block_campaign = "block_campaign"
    # The account is wrong (credentials, trial, suspended): stop all dialing.
    block_account = "block_account"
    # Twilio asked us to slow down and kept asking through the adapter's own
    # retries: the lead goes back with no attempt counted, nothing is blocked
    # (the pacing slots spread the next creates; a rate limit is no set-up fault
    # a manager could fix).
    requeue = "requeue"


# The actions that are no fault of the lead: no attempt is counted.
NOT_THE_LEADS: frozenset[FaultAction] = frozenset(
    {FaultAction.block_campaign, FaultAction.block_account, FaultAction.requeue}
)
BLOCKS: frozenset[FaultAction] = frozenset({FaultAction.block_campaign, FaultAction.block_account})


@dataclass(frozen=True, slots=True)
class Fault:
    # Twilio's error code; None for a refusal we have no row for.
    provider_code: int | None
    # Our machine code: the block's `code`, the 409 a blocked dial answers.
    code: str
    meaning: str
    action: FaultAction


def _f(provider_code: int, code: str, meaning: str, action: FaultAction) -> Fault:
    return Fault(provider_code=provider_code, code=code, meaning=meaning, action=action)


A = FaultAction

_ROWS: tuple[Fault, ...] = (
    # --- the account ---
    _f(20003, "provider_auth_failed",
       "Authentication failed (HTTP 401): TWILIO_ACCOUNT_SID or TWILIO_AUTH_TOKEN "
       "is wrong, or the token was rotated", A.block_account),
    _f(20005, "provider_account_inactive",
       "The Twilio account is suspended or closed", A.block_account),
    _f(20404, "provider_account_not_found",
       "The resource was not found (HTTP 404): on a create, the Calls list of "
       "TWILIO_ACCOUNT_SID does not exist", A.block_account),
    _f(21219, "provider_trial_account",
       "'To' number not verified: a trial account calls only verified numbers; "
       "upgrade the account", A.block_account),
    _f(21205, "provider_bad_webhook_url",
       "Invalid url: the voice webhook URL Twilio was given is not valid "
       "(DIALER_PUBLIC_URL)", A.block_account),
    # --- the campaign's set-up ---
    _f(21210, "caller_id_unverified",
       "'From' phone number not verified: the campaign's caller_id is neither a "
       "Twilio number of the account nor a verified caller id", A.block_campaign),
    _f(21212, "caller_id_invalid",
       "Invalid 'From' phone number: the campaign's caller_id is not a valid "
       "caller id", A.block_campaign),
    _f(21215, "geo_permission_denied",
       "Geo permissions do not allow calls to this country or number range: "
       "enable it in the account's Voice geographic permissions", A.block_campaign),
    # --- the number called ---
    _f(21211, "invalid_to_number",
       "Invalid 'To' phone number", A.retire_phone),
    _f(21214, "to_number_unreachable",
       "'To' phone number cannot be reached", A.retire_phone),
    _f(21217, "to_number_not_valid",
       "Phone number does not appear to be valid", A.retire_phone),
    _f(21614, "to_number_not_mobile",
       "'To' number is not a valid mobile number (or cannot be reached)", A.retire_phone),
    _f(13223, "invalid_phone_format",
       "Dial: invalid phone number format", A.retire_phone),
    _f(13224, "invalid_phone_number",
       "Dial: Twilio does not support calling this number or the number is invalid",
       A.retire_phone),
    # --- the rate ---
    _f(20429, "provider_rate_limited",
       "Too many requests, still after the adapter's own retries", A.requeue),
)  # fmt: skip
FAULTS: dict[int, Fault] = {f.provider_code: f for f in _ROWS if f.provider_code is not None}

UNKNOWN_REFUSAL = Fault(
    provider_code=None,
    code="provider_refused",
    meaning="A refusal this table has no row for: the attempt failed",
    action=FaultAction.fail_attempt,
)


def fault_of(*, provider_code: int | None, http_status: int | None) -> Fault:
    """The table's row for Twilio's answer. A code beats the HTTP status; a 429
    without a code is the rate limit, a 401 the credentials."""
    if provider_code is not None and provider_code in FAULTS:
        return FAULTS[provider_code]
    if http_status == 429:
        return FAULTS[20429]
    if http_status == 401:
        return FAULTS[20003]
    if provider_code is None:
        return UNKNOWN_REFUSAL
    return Fault(
        provider_code=provider_code,
        code=UNKNOWN_REFUSAL.code,
        meaning=UNKNOWN_REFUSAL.meaning,
        action=UNKNOWN_REFUSAL.action,
    )
