"""Campaign settings as the API and the TOML files give them. Nested policies may
come in part: what is missing keeps its default (or, on PATCH, its current value)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, Field, field_validator

from dialer.campaign.hours import HoursSpecError, parse_days, parse_time
from dialer.campaign.models import (
    DEFAULT_ABANDON_POLICY,
    DEFAULT_PAUSE_CODES,
    CampaignStatus,
    DialMode,
    RetryTiming,
)
from dialer.campaign.patterns import (
    MAX_PATTERN_LENGTH,
    ContractPatternError,
    compile_contract_pattern,
)
from dialer.wire import Input, Instant

# The ranges (docs/API.md, "Ranges"). Requests are held to them; what is stored
# is read back as it is (RetryPolicy, PromisePolicy), so a campaign written
# before a range tightened still reads, and is held to the range when changed.
MAX_DELAY_SECONDS = 365 * 24 * 3600  # a retry or follow-up waits at most a year
MAX_LADDER = 20  # delays in one ladder (the last one repeats)
MAX_ATTEMPTS = 100
MAX_CALLING_HOURS_RULES = 50
MAX_SCRIPT_BYTES = 64 * 1024  # UTF-8
MAX_ABANDON_MESSAGE = 1000  # characters: read aloud, it is about a minute
MAX_PAUSE_CODES = 20  # buttons on the console's state bar
MAX_PAUSE_CODE = 40  # characters of one
MAX_WRAPUP_SECONDS = 3600
# Twilio's text-to-speech voices by name: Amazon Polly's and Google's. Twilio's
# `man`/`woman`/`alice` read Japanese badly, so a voice is always named.
TTS_VOICE_PATTERN = r"^(Polly|Google)\.[A-Za-z0-9-]{2,56}$"
TTS_LANGUAGE_PATTERN = r"^[a-z]{2,3}-[A-Z]{2}$"

Delays = list[int]
# A ladder as a request gives it: 1 to MAX_LADDER delays, each 1 s to a year.
DelaysIn = Annotated[
    list[Annotated[int, Field(ge=1, le=MAX_DELAY_SECONDS)]],
    Field(min_length=1, max_length=MAX_LADDER),
]


def _check_delays(value: list[int] | None) -> list[int] | None:
    if value is None:
        return None
    if not value:
        raise ValueError("needs at least one delay")
    if any(d <= 0 for d in value):
        raise ValueError("delays are positive numbers of seconds")
    return value


class CallingHoursRule(Input):
    days: str = Field(max_length=64, examples=["mon-fri"])
    start: str = Field(max_length=5, examples=["09:00"])
    end: str = Field(max_length=5, examples=["20:00"])

    @field_validator("days")
    @classmethod
    def _days(cls, value: str) -> str:
        try:
            parse_days(value)
        except HoursSpecError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("start", "end")
    @classmethod
    def _time(cls, value: str) -> str:
        try:
            parse_time(value)
        except HoursSpecError as exc:
            raise ValueError(str(exc)) from exc
        return value


class RetryPolicy(Input):
    no_answer: Delays = Field(default_factory=lambda: [1800, 7200, 86400])
    busy: Delays = Field(default_factory=lambda: [600, 1800, 7200])
    machine: Delays = Field(default_factory=lambda: [14400, 86400])
    failed: Delays = Field(default_factory=lambda: [3600])
    not_interested: Delays = Field(default_factory=lambda: [604800])
    max_attempts: int = Field(default=6, ge=1)
    max_attempts_per_day: int = Field(default=3, ge=1)

    _v = field_validator("no_answer", "busy", "machine", "failed", "not_interested")(_check_delays)


class RetryPolicyPatch(Input):
    no_answer: DelaysIn | None = None
    busy: DelaysIn | None = None
    machine: DelaysIn | None = None
    failed: DelaysIn | None = None
    not_interested: DelaysIn | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=MAX_ATTEMPTS)
    max_attempts_per_day: int | None = Field(default=None, ge=1, le=MAX_ATTEMPTS)


class OnMissed(StrEnum):
    """What a missed promise's lead does: to anyone at the top of their queues,
    or kept by its owner."""

    reassign = "reassign"
    keep = "keep"


class PromisePolicy(Input):
    slot_minutes: int = Field(default=5, ge=1, le=1440)
    per_agent_per_slot: int = Field(default=1, ge=1)
    grace_minutes: int = Field(default=5, ge=0)
    no_answer_retry: Delays = Field(default_factory=lambda: [600, 1200])
    on_missed: OnMissed = OnMissed.reassign

    _v = field_validator("no_answer_retry")(_check_delays)


class PromisePolicyPatch(Input):
    slot_minutes: int | None = Field(default=None, ge=1, le=1440)
    per_agent_per_slot: int | None = Field(default=None, ge=1, le=1000)
    grace_minutes: int | None = Field(default=None, ge=0, le=1440)
    no_answer_retry: DelaysIn | None = None
    on_missed: OnMissed | None = None


class AbandonPolicy(Input):
    """How many answered calls a campaign may leave without an agent, over what
    window, how soon an agent must take an answered call, and how long an
    abandoned lead is left alone (unless an agent is reserved for it)."""

    max_rate: float = Field(default=DEFAULT_ABANDON_POLICY["max_rate"], gt=0, le=0.2)
    window_days: int = Field(default=DEFAULT_ABANDON_POLICY["window_days"], ge=1, le=366)
    connect_seconds: int = Field(default=DEFAULT_ABANDON_POLICY["connect_seconds"], ge=1, le=30)
    no_recall_hours: int = Field(default=DEFAULT_ABANDON_POLICY["no_recall_hours"], ge=0, le=720)


class AbandonPolicyPatch(Input):
    max_rate: float | None = Field(
        default=None,
        gt=0,
        le=0.2,
        description="abandoned / answered by a person, over the window (0.03: 3%)",
    )
    window_days: int | None = Field(default=None, ge=1, le=366)
    connect_seconds: int | None = Field(
        default=None,
        ge=1,
        le=30,
        description="an answered call without an agent this long is abandoned",
    )
    no_recall_hours: int | None = Field(
        default=None,
        ge=0,
        le=720,
        description="an abandoned lead is not dialled unreserved again for this long",
    )


DEFAULT_CALLING_HOURS: list[dict[str, str]] = [
    {"days": "mon-fri", "start": "09:00", "end": "20:00"},
    {"days": "sat", "start": "10:00", "end": "18:00"},
]


class CampaignFields(Input):
    """Every settable field, all optional: the shape of PATCH, and of POST but `name`."""

    status: CampaignStatus | None = None
    default_region: str | None = Field(default=None, max_length=8, examples=["JP"])
    timezone: str | None = Field(default=None, max_length=64, examples=["Asia/Tokyo"])
    calling_hours: list[CallingHoursRule] | None = Field(
        default=None, max_length=MAX_CALLING_HOURS_RULES
    )
    skip_holidays: bool | None = None
    caller_id: str | None = Field(default=None, max_length=32, examples=["+81312345678"])
    dial_mode: DialMode | None = None
    retry_policy: RetryPolicyPatch | None = None
    promise_policy: PromisePolicyPatch | None = None
    abandon_policy: AbandonPolicyPatch | None = None
    retry_timing: RetryTiming | None = None
    attribution_days: int | None = Field(default=None, ge=0, le=3650)
    contract_number_pattern: str | None = Field(
        default=None,
        max_length=MAX_PATTERN_LENGTH,
        description="RE2 syntax (no backreferences or lookaround), matched against all of "
        "the number",
        examples=[r"\d{22}"],
    )
    machine_detection: bool | None = None
    cps: int | None = Field(default=None, ge=1, le=1000)
    script: str | None = Field(
        default=None, max_length=MAX_SCRIPT_BYTES, description="at most 64 kB of UTF-8"
    )
    seller_name: str | None = Field(
        default=None,
        max_length=100,
        description="who calls, as the customer hears it (the campaign's name when not set)",
        examples=["東京電力エナジー"],
    )
    call_reason: str | None = Field(
        default=None,
        max_length=200,
        description="why we called, as the customer hears it",
        examples=["電気料金プランのご案内"],
    )
    callback_number: str | None = Field(
        default=None,
        max_length=32,
        description="E.164; the caller id when not set",
        examples=["+81312345678"],
    )
    abandon_message: str | None = Field(
        default=None,
        max_length=MAX_ABANDON_MESSAGE,
        description="the whole text read to a customer no agent can take; built from "
        "seller_name, call_reason and callback_number when not set",
    )
    tts_voice: str | None = Field(
        default=None, pattern=TTS_VOICE_PATTERN, max_length=64, examples=["Polly.Mizuki"]
    )
    tts_language: str | None = Field(
        default=None, pattern=TTS_LANGUAGE_PATTERN, max_length=16, examples=["ja-JP"]
    )
    pause_codes: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_PAUSE_CODES,
        description=f"why an agent pauses: 1–{MAX_PAUSE_CODES} distinct texts of 1–"
        f"{MAX_PAUSE_CODE} characters (trimmed)",
        examples=[list(DEFAULT_PAUSE_CODES)],
    )
    wrapup_seconds: int | None = Field(
        default=None,
        ge=0,
        le=MAX_WRAPUP_SECONDS,
        description="after a disposition, the agent gets no next lead for this long (0: none)",
    )

    @field_validator("pause_codes", mode="before")
    @classmethod
    def _pause_codes(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        codes: list[Any] = []
        for index, code in enumerate(value):
            if isinstance(code, str):
                code = code.strip()
                if not 1 <= len(code) <= MAX_PAUSE_CODE:
                    raise ValueError(
                        f"[{index}]: a pause code has 1–{MAX_PAUSE_CODE} characters (trimmed)"
                    )
                if code in codes:
                    raise ValueError(f"[{index}]: {code!r} is given twice")
            codes.append(code)
        return codes

    @field_validator("seller_name", "call_reason", "abandon_message")
    @classmethod
    def _spoken(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.strip() or None

    @field_validator("script")
    @classmethod
    def _script(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode("utf-8")) > MAX_SCRIPT_BYTES:
            raise ValueError(f"longer than {MAX_SCRIPT_BYTES} bytes of UTF-8 (64 kB)")
        return value

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is None:
            return None
        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {value!r} (ISO 3166 alpha-2, e.g. JP)")
        return region

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (IANA name, e.g. Asia/Tokyo)") from exc
        return value

    @field_validator("caller_id", "callback_number")
    @classmethod
    def _caller_id(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            parsed = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException as exc:
            raise ValueError(f"{value!r} must be E.164, e.g. +81312345678") from exc
        if not phonenumbers.is_possible_number(parsed):
            raise ValueError(f"{value!r} is not a possible phone number")
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

    @field_validator("contract_number_pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            compile_contract_pattern(value)
        except ContractPatternError as exc:
            raise ValueError(str(exc)) from exc
        return value


class CampaignCreate(CampaignFields):
    name: str = Field(min_length=1, max_length=200)


class CampaignUpdate(CampaignFields):
    name: str | None = Field(default=None, min_length=1, max_length=200)


class DialingBlockOut(BaseModel):
    """Why dialing the campaign is stopped: a provider fault of the account
    (`scope` "account": every campaign) or of the campaign's set-up."""

    scope: str
    code: str
    provider_code: int | None
    detail: str
    call_id: int | None
    since: Instant


class CampaignOut(BaseModel):
    id: int
    name: str
    status: CampaignStatus
    default_region: str
    timezone: str
    calling_hours: list[CallingHoursRule]
    skip_holidays: bool
    caller_id: str | None
    dial_mode: DialMode
    retry_policy: RetryPolicy
    promise_policy: PromisePolicy
    abandon_policy: AbandonPolicy
    retry_timing: RetryTiming
    attribution_days: int
    contract_number_pattern: str | None
    machine_detection: bool
    cps: int
    script: str
    # null while the campaign dials; set by a provider fault (dialer.telephony.faults).
    dialing_blocked: DialingBlockOut | None = None
    seller_name: str | None
    call_reason: str | None
    callback_number: str | None
    abandon_message: str | None
    tts_voice: str
    tts_language: str
    pause_codes: list[str]
    wrapup_seconds: int
    created_at: Instant
    updated_at: Instant


class TestCallIn(Input):
    to: str = Field(min_length=1, max_length=32, description="the phone to ring (a manager's)")


class TestCallOut(BaseModel):
    provider_sid: str | None
    to: str
    # The blocks the call lifted (the account's, the campaign's).
    cleared: list[DialingBlockOut]


class CampaignList(BaseModel):
    items: list[CampaignOut]
    next_cursor: str | None = None


def merged_policy(
    current: dict[str, Any], patch: BaseModel | None, model: type[BaseModel]
) -> dict[str, Any]:
    data = dict(current)
    if patch is not None:
        data.update(patch.model_dump(exclude_unset=True, exclude_none=True))
    return model.model_validate(data).model_dump()


class CampaignClone(Input):
    name: str = Field(min_length=1, max_length=200, description="the new campaign's name")


class CampaignChange(BaseModel):
    field: str
    before: Any
    after: Any


class CampaignEventOut(BaseModel):
    id: int
    at: Instant
    kind: str
    actor: str
    # The account's name when the actor is one (`manager:1`), else null.
    actor_name: str | None
    changes: list[CampaignChange]
    source_campaign_id: int | None


class CampaignHistory(BaseModel):
    items: list[CampaignEventOut]
    next_cursor: str | None
