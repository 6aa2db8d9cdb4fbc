"""One settings object, read from the environment and `.env` (the table in docs/API.md)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class TelephonyMode(StrEnum):
    simulated = "simulated"
    twilio = "twilio"


class ClockMode(StrEnum):
    system = "system"
    simulated = "simulated"


class LogFormat(StrEnum):
    text = "text"
    json = "json"


class Settings(BaseSettings):
    # `.env` in the working directory, when present, fills in what the process
    # environment does not set (the environment wins; see config/.env.example).
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(default="sqlite:///./dialer.db", alias="DATABASE_URL")
    telephony: TelephonyMode = Field(default=TelephonyMode.simulated, alias="DIALER_TELEPHONY")
    clock: ClockMode = Field(default=ClockMode.system, alias="DIALER_CLOCK")
    clock_start: datetime | None = Field(default=None, alias="DIALER_CLOCK_START")
    sim_answer_rate: float = Field(default=0.35, ge=0.0, le=1.0, alias="DIALER_SIM_ANSWER_RATE")
    sim_seed: int = Field(default=0, alias="DIALER_SIM_SEED")
    bootstrap_token: str | None = Field(default=None, alias="DIALER_BOOTSTRAP_TOKEN")
    default_region: str = Field(default="JP", alias="DIALER_DEFAULT_REGION")
    public_url: str = Field(default="http://localhost:8000", alias="DIALER_PUBLIC_URL")
    twilio_account_sid: str | None = Field(default=None, alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: str | None = Field(default=None, alias="TWILIO_AUTH_TOKEN")
    twilio_api_base: str = Field(default="https://api.twilio.com", alias="TWILIO_API_BASE")
    twilio_http_timeout: float = Field(default=10.0, gt=0, alias="TWILIO_HTTP_TIMEOUT")
    # Calls created per second for the whole provider account, on top of each
    # campaign's own `cps`.
    account_cps: float = Field(default=1.0, gt=0, le=1000, alias="DIALER_ACCOUNT_CPS")
    # How long a call may ring (Twilio's `Timeout`); a call with no final status
    # this long after it was placed, plus a margin, is looked up at the provider.
    ring_timeout_seconds: int = Field(default=25, ge=5, le=600, alias="DIALER_RING_TIMEOUT_SECONDS")
    # How long the agent's endpoint rings once the customer answered (`<Dial
    # timeout>`): the customer is waiting on the line, so much shorter.
    agent_ring_timeout_seconds: int = Field(
        default=15, ge=5, le=60, alias="DIALER_AGENT_RING_TIMEOUT_SECONDS"
    )
    # Not in the API table: operational knobs with safe defaults.
    claim_ttl_seconds: int = Field(default=900, gt=0, alias="DIALER_CLAIM_TTL_SECONDS")
    # Ticks only read unless something is due, so they can be frequent: a promise
    # reaches its agent within a tick (plus the event stream's poll) of `due_at`.
    scheduler_interval_seconds: float = Field(
        default=0.25, gt=0, alias="DIALER_SCHEDULER_INTERVAL_SECONDS"
    )
    auto_upgrade: bool | None = Field(default=None, alias="DIALER_AUTO_UPGRADE")
    # The file of any upload (lead, do-not-call and conversion lists); dialer.limits.
    max_upload_mb: float = Field(default=200, gt=0, le=10240, alias="DIALER_MAX_UPLOAD_MB")
    # Lead lists up to this size are imported before the upload is answered;
    # larger ones run in the background (`status: running`).
    import_sync_mb: float = Field(default=1, ge=0, alias="DIALER_IMPORT_SYNC_MB")
    # One line per log record: `text` for a person at a terminal, `json` (one
    # object per line) for a log collector.
    log_format: LogFormat = Field(default=LogFormat.text, alias="DIALER_LOG_FORMAT")
    # `dialer web`: where the web workers' metric files live (prometheus_client's
    # multiprocess mode); emptied at start. Unset: a new temporary directory.
    metrics_dir: str | None = Field(default=None, alias="DIALER_METRICS_DIR")

    @field_validator("default_region")
    @classmethod
    def _upper_region(cls, value: str) -> str:
        return value.upper()

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def import_sync_bytes(self) -> int:
        return int(self.import_sync_mb * 1024 * 1024)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def upgrade_at_startup(self) -> bool:
        """SQLite is embedded, single-node: upgrading at start-up is safe and saves a step.
        PostgreSQL serves many replicas, so its schema is upgraded explicitly
        (`dialer db upgrade`) rather than raced by every starting worker."""
        if self.auto_upgrade is not None:
            return self.auto_upgrade
        return self.is_sqlite


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
