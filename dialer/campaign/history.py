"""A campaign's history: every create, change, pause and resume, clone and
dialing-block lift, who did it and each top-level field's whole value before
and after. Written by the campaign service in the transaction of the change, so
a change and its record land together or not at all."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.campaign.models import Campaign, CampaignEvent, CampaignEventKind, CampaignStatus

# The fields a manager sets, as the API names them (CampaignOut but its id, its
# instants and the derived `dialing_blocked`): what a change is diffed over.
TRACKED_FIELDS = (
    "name",
    "status",
    "default_region",
    "timezone",
    "calling_hours",
    "skip_holidays",
    "caller_id",
    "dial_mode",
    "retry_policy",
    "promise_policy",
    "abandon_policy",
    "retry_timing",
    "attribution_days",
    "contract_number_pattern",
    "machine_detection",
    "cps",
    "script",
    "seller_name",
    "call_reason",
    "callback_number",
    "abandon_message",
    "tts_voice",
    "tts_language",
    "pause_codes",
    "wrapup_seconds",
)


def snapshot(campaign: Campaign) -> dict[str, Any]:
    """The tracked fields' values as JSON holds them (a copy: the stored lists and
    dicts may be replaced or changed in place afterwards)."""
    values = {name: getattr(campaign, name) for name in TRACKED_FIELDS}
    parsed: dict[str, Any] = json.loads(json.dumps(values, ensure_ascii=False, default=str))
    return parsed


def changes_between(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each field whose value differs, in TRACKED_FIELDS' order, as
    `{"field", "before", "after"}` with the whole values."""
    return [
        {"field": name, "before": before.get(name), "after": after.get(name)}
        for name in TRACKED_FIELDS
        if before.get(name) != after.get(name)
    ]


def record(
    session: Session,
    *,
    campaign_id: int,
    kind: CampaignEventKind,
    actor: str,
    at: datetime,
    changes: list[dict[str, Any]] | None = None,
    source_campaign_id: int | None = None,
) -> None:
    session.add(
        CampaignEvent(
            campaign_id=campaign_id,
            at=at,
            actor=actor,
            kind=kind,
            changes=changes or [],
            source_campaign_id=source_campaign_id,
        )
    )


def record_update(
    session: Session,
    *,
    campaign_id: int,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    actor: str,
    at: datetime,
) -> None:
    """A PATCH's record: nothing when nothing moved; a change of `status` is a
    `paused` or `resumed` event of its own, the other fields one `updated`."""
    changes = changes_between(before, after)
    status = [c for c in changes if c["field"] == "status"]
    rest = [c for c in changes if c["field"] != "status"]
    if rest:
        record(
            session,
            campaign_id=campaign_id,
            kind=CampaignEventKind.updated,
            actor=actor,
            at=at,
            changes=rest,
        )
    if status:
        paused = status[0]["after"] == CampaignStatus.paused
        kind = CampaignEventKind.paused if paused else CampaignEventKind.resumed
        record(session, campaign_id=campaign_id, kind=kind, actor=actor, at=at, changes=status)


def history_page(
    session: Session, *, campaign_id: int, limit: int, before_id: int | None
) -> list[CampaignEvent]:
    """Newest first; the cursor is the last id of a full page."""
    query = (
        select(CampaignEvent)
        .where(col(CampaignEvent.campaign_id) == campaign_id)
        .order_by(col(CampaignEvent.id).desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(col(CampaignEvent.id) < before_id)
    return list(session.scalars(query))
