from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from dialer.db import instant_column, json_column

DEFAULT_PAUSE_CODES = ("休憩", "研修", "打ち合わせ")


class CampaignStatus(StrEnum):
    active = "active"
    paused = "paused"


class DialMode(StrEnum):
    preview = "preview"
    progressive = "progressive"
    # More calls than free agents, paced against the abandon cap (dialer.calls.pacer).
    predictive = "predictive"


class RetryTiming(StrEnum):
    """When an unanswered lead is tried again: the retry ladder's delays as they
    are, or moved to the local hour with the best observed answer rate
    (dialer.calls.best_hour), never sooner than the ladder's delay."""

    fixed = "fixed"
    best_hour = "best_hour"


# The abandon policy a campaign starts with (US TSR: 3% of person-answered calls
# per campaign per 30 days, an agent within 2 s; UK practice: no repeat call
# within 72 h). dialer.campaign.schemas.AbandonPolicy holds the ranges.
DEFAULT_ABANDON_POLICY: dict[str, Any] = {
    "max_rate": 0.03,
    "window_days": 30,
    "connect_seconds": 2,
    "no_recall_hours": 72,
}


class Campaign(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=String(200), unique=True, index=True)
    status: str = Field(default=CampaignStatus.active, sa_type=String(16))
    default_region: str = Field(default="JP", sa_type=String(2))
    timezone: str = Field(default="Asia/Tokyo", sa_type=String(64))
    calling_hours: list[dict[str, str]] = Field(sa_column=json_column())
    skip_holidays: bool = True
    caller_id: str | None = Field(default=None, sa_type=String(20))
    dial_mode: str = Field(default=DialMode.preview, sa_type=String(16))
    retry_policy: dict[str, Any] = Field(sa_column=json_column())
    promise_policy: dict[str, Any] = Field(sa_column=json_column())
    abandon_policy: dict[str, Any] = Field(
        default_factory=lambda: dict(DEFAULT_ABANDON_POLICY), sa_column=json_column()
    )
    retry_timing: str = Field(default=RetryTiming.fixed, sa_type=String(16))
    attribution_days: int = 30
    contract_number_pattern: str | None = Field(default=None, sa_type=String(500))
    machine_detection: bool = False
    cps: int = 1
    script: str = ""
    # What a customer hears when no agent can take the answered call (the agent's
    # endpoint did not pick up, the voice webhook failed): the seller's identity,
    # why we called and a number to call back, which 特定商取引法 §16 requires
    # first. `abandon_message` is the whole text when set; otherwise it is built
    # from the other three (the name and the caller id by default).
    seller_name: str | None = Field(default=None, sa_type=String(100))
    call_reason: str | None = Field(default=None, sa_type=String(200))
    callback_number: str | None = Field(default=None, sa_type=String(20))
    abandon_message: str | None = Field(default=None, sa_type=String(1000))
    # Chosen explicitly: Twilio's default voice reads Japanese as English.
    tts_voice: str = Field(default="Polly.Mizuki", sa_type=String(64))
    tts_language: str = Field(default="ja-JP", sa_type=String(16))
    # The agent console: why an agent may pause (one is chosen with `paused`), and
    # how long an agent gets after a disposition before the next lead (0: none).
    pause_codes: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PAUSE_CODES), sa_column=json_column()
    )
    wrapup_seconds: int = 0
    # Every time zone a lead of this campaign lives in: the queue asks "which of
    # these are open now" instead of scanning leads for their zones.
    lead_timezones: list[str] = Field(sa_column=json_column())
    # Bumped on every change: caches of campaign rules (the claim path's) key on it,
    # since under a frozen simulated clock `updated_at` need not move.
    version: int = 1
    created_at: datetime = Field(sa_column=instant_column(nullable=False))
    updated_at: datetime = Field(sa_column=instant_column(nullable=False))


class CampaignEventKind(StrEnum):
    created = "created"
    updated = "updated"
    paused = "paused"
    resumed = "resumed"
    cloned = "cloned"
    dialing_block_lifted = "dialing_block_lifted"


class CampaignEvent(SQLModel, table=True):
    """What happened to a campaign's settings, and who did it: append-only, like
    a lead's history. `changes` lists each top-level field that moved, with its
    whole value before and after (`[{"field", "before", "after"}]`)."""

    __tablename__ = "campaign_event"
    __table_args__ = (Index("ix_campaign_event_campaign", "campaign_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    at: datetime = Field(sa_column=instant_column(nullable=False))
    actor: str = Field(sa_type=String(64))
    kind: str = Field(sa_type=String(32))
    changes: list[dict[str, Any]] = Field(sa_column=json_column())
    # A clone's: the campaign it was copied from.
    source_campaign_id: int | None = None
