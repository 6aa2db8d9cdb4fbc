"""Campaign CRUD and the rules a campaign implies (calling hours per zone, policies)."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.campaign import history
from dialer.campaign.hours import CallingHours, HoursSpecError, validate_region
from dialer.campaign.models import (
    DEFAULT_ABANDON_POLICY,
    Campaign,
    CampaignEventKind,
    CampaignStatus,
)
from dialer.campaign.schemas import (
    DEFAULT_CALLING_HOURS,
    AbandonPolicy,
    CampaignCreate,
    CampaignFields,
    CampaignUpdate,
    PromisePolicy,
    RetryPolicy,
    merged_policy,
)
from dialer.errors import Conflict, Invalid, NotFound


def get_campaign(session: Session, *, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} does not exist", code="campaign_not_found")
    return campaign


def zone_of(campaign: Campaign) -> ZoneInfo:
    """The zone a campaign's answers and messages speak (its resources' instants,
    its error messages, its date-only inputs)."""
    return ZoneInfo(campaign.timezone)


def campaign_zone(session: Session, *, campaign_id: int) -> ZoneInfo:
    # session.get answers from the identity map after the first row of a page.
    return zone_of(get_campaign(session, campaign_id=campaign_id))


def list_campaigns(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(col(Campaign.id))))


# What a schedule may add after its delays: finding the next opening of calling
# hours looks up to hours.SEARCH_DAYS ahead, a daily cap moves to the next day.
_HORIZON_MARGIN = timedelta(days=2 * 366)
_RETRY_LADDERS = ("no_answer", "busy", "machine", "failed", "not_interested")


def horizon_errors(retry: RetryPolicy, *, now: datetime) -> list[str]:
    """The ladders (as field names) whose longest schedule from `now` would pass
    the last instant a datetime holds (year 9999): every delay of the ladder the
    longest, `max_attempts` times over, and calling hours' furthest look-ahead.
    The ranges keep this empty; this holds if they are ever widened, and for
    policies stored before them."""
    errors: list[str] = []
    for ladder in _RETRY_LADDERS:
        try:
            longest = timedelta(seconds=max(getattr(retry, ladder)))
            now + longest * retry.max_attempts + _HORIZON_MARGIN
        except OverflowError:
            errors.append(f"retry_policy.{ladder}")
    return errors


def _check_horizon(campaign: Campaign, *, now: datetime) -> None:
    errors = horizon_errors(retry_policy_of(campaign), now=now)
    try:
        longest = max(PromisePolicy.model_validate(campaign.promise_policy).no_answer_retry)
        now + timedelta(seconds=longest) + _HORIZON_MARGIN
    except OverflowError:
        errors.append("promise_policy.no_answer_retry")
    if errors:
        raise Invalid(
            f"{errors[0]}: a retry would be scheduled past the year 9999",
            code="validation_error",
            field=errors[0],
        )


def _check_name_free(session: Session, *, name: str) -> None:
    if session.scalar(select(col(Campaign.id)).where(col(Campaign.name) == name)) is not None:
        raise Conflict(f"a campaign named {name!r} exists", code="campaign_exists", field="name")


def create_campaign(
    session: Session, *, data: CampaignCreate, now: datetime, actor: str = "system"
) -> Campaign:
    _check_name_free(session, name=data.name)
    campaign = Campaign(
        name=data.name,
        calling_hours=DEFAULT_CALLING_HOURS,
        retry_policy=RetryPolicy().model_dump(),
        promise_policy=PromisePolicy().model_dump(),
        abandon_policy=AbandonPolicy().model_dump(),
        lead_timezones=[],
        created_at=now,
        updated_at=now,
    )
    _apply_fields(campaign, data, now=now)
    campaign.lead_timezones = [campaign.timezone]
    session.add(campaign)
    session.flush()
    assert campaign.id is not None
    history.record(
        session, campaign_id=campaign.id, kind=CampaignEventKind.created, actor=actor, at=now
    )
    return campaign


def update_campaign(
    session: Session,
    *,
    campaign_id: int,
    data: CampaignUpdate,
    now: datetime,
    actor: str = "system",
) -> Campaign:
    campaign = get_campaign(session, campaign_id=campaign_id)
    before = history.snapshot(campaign)
    if data.name is not None and data.name != campaign.name:
        _check_name_free(session, name=data.name)
        campaign.name = data.name
    _apply_fields(campaign, data, now=now)
    after = history.snapshot(campaign)
    if after == before:
        # Nothing moved: no record, and caches keyed on the version stay warm.
        return campaign
    if campaign.timezone not in campaign.lead_timezones:
        campaign.lead_timezones = [*campaign.lead_timezones, campaign.timezone]
    campaign.updated_at = now
    campaign.version += 1
    session.flush()
    history.record_update(
        session, campaign_id=campaign_id, before=before, after=after, actor=actor, at=now
    )
    return campaign


def clone_campaign(
    session: Session, *, campaign_id: int, name: str, now: datetime, actor: str
) -> Campaign:
    """A copy of every setting under a new name, `paused` so that nothing dials
    before the manager has looked; its leads, imports and dialing block stay
    with the source."""
    source = get_campaign(session, campaign_id=campaign_id)
    _check_name_free(session, name=name)
    values = history.snapshot(source)
    values.update(name=name, status=CampaignStatus.paused.value)
    clone = Campaign(
        **values,
        lead_timezones=[source.timezone],
        created_at=now,
        updated_at=now,
    )
    session.add(clone)
    session.flush()
    assert clone.id is not None
    history.record(
        session,
        campaign_id=clone.id,
        kind=CampaignEventKind.cloned,
        actor=actor,
        at=now,
        source_campaign_id=campaign_id,
    )
    return clone


def record_block_lifted(
    session: Session, *, campaign_id: int, block: dict[str, Any], actor: str, now: datetime
) -> None:
    """The campaign's own dialing block lifted (by hand, or by a test call the
    provider took): `block` as the campaign's `dialing_blocked` showed it."""
    history.record(
        session,
        campaign_id=campaign_id,
        kind=CampaignEventKind.dialing_block_lifted,
        actor=actor,
        at=now,
        changes=[{"field": "dialing_blocked", "before": block, "after": None}],
    )


def _apply_fields(campaign: Campaign, data: CampaignFields, *, now: datetime) -> None:
    given = data.model_dump(exclude_unset=True)
    for field in (
        "status",
        "default_region",
        "timezone",
        "skip_holidays",
        "dial_mode",
        "retry_timing",
        "attribution_days",
        "contract_number_pattern",
        "machine_detection",
        "cps",
        "script",
        "tts_voice",
        "tts_language",
        "pause_codes",
        "wrapup_seconds",
    ):
        if field in given and given[field] is not None:
            setattr(campaign, field, given[field])
    # Cleared by null (or blank): the default applies again.
    for field in ("caller_id", "seller_name", "call_reason", "callback_number", "abandon_message"):
        if field in given:
            setattr(campaign, field, given[field])
    _check_voice(campaign)
    if "contract_number_pattern" in given and given["contract_number_pattern"] is None:
        campaign.contract_number_pattern = None
    if data.calling_hours is not None:
        campaign.calling_hours = [rule.model_dump() for rule in data.calling_hours]
    campaign.retry_policy = _merged(campaign.retry_policy, data.retry_policy, "retry_policy")
    campaign.promise_policy = _merged(
        campaign.promise_policy, data.promise_policy, "promise_policy"
    )
    campaign.abandon_policy = _merged(
        campaign.abandon_policy, data.abandon_policy, "abandon_policy"
    )
    _check_horizon(campaign, now=now)
    if campaign.skip_holidays:
        try:
            validate_region(campaign.default_region)
        except HoursSpecError as exc:
            raise Invalid(
                f"default_region: {exc}", code="validation_error", field="default_region"
            ) from exc


def _check_voice(campaign: Campaign) -> None:
    """A Google voice is named for its language (`Google.ja-JP-Neural2-B`): one
    of another language would read the message with the wrong accent or not at all."""
    voice, language = campaign.tts_voice, campaign.tts_language
    if voice.startswith("Google.") and not voice.removeprefix("Google.").startswith(language):
        raise Invalid(
            f"tts_voice: {voice!r} does not speak tts_language {language!r}", field="tts_voice"
        )


_POLICIES: dict[str, type[BaseModel]] = {
    "retry_policy": RetryPolicy,
    "promise_policy": PromisePolicy,
    "abandon_policy": AbandonPolicy,
}


def _merged(current: dict[str, Any], patch: BaseModel | None, field: str) -> dict[str, Any]:
    """The stored policy with the request's part over it. The request is in its
    ranges already; what is stored may predate them, and is named if it fails."""
    model = _POLICIES[field]
    try:
        return merged_policy(current, patch, model)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join([field, *(str(p) for p in first["loc"])])
        raise Invalid(f"{where}: {first['msg']}", field=where) from exc


def retry_policy_of(campaign: Campaign) -> RetryPolicy:
    return retry_policy_from(campaign.retry_policy)


def retry_policy_from(stored: Mapping[str, Any] | str) -> RetryPolicy:
    """A stored retry policy (the column's value, or its JSON text as read raw),
    validated once per distinct policy: every call that ends asks for it. The
    policy returned is shared: its readers don't change it."""
    return _retry_policy(stored if isinstance(stored, str) else json.dumps(stored, sort_keys=True))


@lru_cache(maxsize=1024)
def _retry_policy(stored_json: str) -> RetryPolicy:
    return RetryPolicy.model_validate(json.loads(stored_json))


def abandon_policy_of(campaign: Campaign) -> AbandonPolicy:
    """The campaign's abandon policy; a campaign stored without one (or with part
    of one) reads the defaults for what is missing."""
    return AbandonPolicy.model_validate(
        {**DEFAULT_ABANDON_POLICY, **(campaign.abandon_policy or {})}
    )


def calling_hours_of(campaign: Campaign, *, timezone: str | None = None) -> CallingHours:
    """The calling hours of a campaign in one zone (a lead's own, or the campaign's)."""
    return calling_hours_from(
        campaign.calling_hours,
        timezone=timezone or campaign.timezone,
        holiday_region=campaign.default_region if campaign.skip_holidays else None,
    )


def calling_hours_from(stored: Any, *, timezone: str, holiday_region: str | None) -> CallingHours:
    """`calling_hours_of` from the stored rules (the column's value, or its JSON
    text as read raw) and the zone and holiday region already chosen."""
    text = stored if isinstance(stored, str) else json.dumps(stored, sort_keys=True)
    return _calling_hours(text, timezone, holiday_region)


@lru_cache(maxsize=1024)
def _calling_hours(rules_json: str, timezone: str, holiday_region: str | None) -> CallingHours:
    return CallingHours.from_spec(
        rules=json.loads(rules_json), timezone=timezone, holiday_region=holiday_region
    )


def load_campaign_file(path: Path) -> CampaignCreate:
    """Read one TOML definition. Errors name the file and the field at fault."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise Invalid(f"{path}: not valid TOML: {exc}", code="bad_campaign_file") from exc
    try:
        return CampaignCreate.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise Invalid(f"{path}: {where}: {first['msg']}", code="bad_campaign_file") from exc


def apply_campaign_files(
    session: Session, *, paths: list[Path], now: datetime
) -> list[tuple[str, Campaign]]:
    """Create or update each campaign by name. All files are read first, so one bad
    file applies nothing."""
    definitions = [(path, load_campaign_file(path)) for path in paths]
    results: list[tuple[str, Campaign]] = []
    for _path, definition in definitions:
        existing = session.scalar(select(Campaign).where(col(Campaign.name) == definition.name))
        if existing is None:
            results.append(("created", create_campaign(session, data=definition, now=now)))
        else:
            update = CampaignUpdate.model_validate(definition.model_dump(exclude_unset=True))
            assert existing.id is not None
            results.append(
                ("updated", update_campaign(session, campaign_id=existing.id, data=update, now=now))
            )
    return results


def campaign_files(target: Path) -> list[Path]:
    if target.is_dir():
        return sorted(target.glob("*.toml"))
    return [target]
