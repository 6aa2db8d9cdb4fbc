"""One settings object, read from the environment and `.env` (the table in docs/API.md)."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from urllib.parse import urlsplit

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
    # During an auth-token rotation Twilio signs with either token: a webhook
    # signed with this one is accepted too, until it is unset.
    twilio_auth_token_secondary: str | None = Field(
        default=None, alias="TWILIO_AUTH_TOKEN_SECONDARY"
    )
    # Browser softphones' Access Tokens are signed with an API key, never with
    # the auth token; the TwiML app takes the calls a browser starts.
    twilio_api_key_sid: str | None = Field(default=None, alias="TWILIO_API_KEY_SID")
    twilio_api_key_secret: str | None = Field(default=None, alias="TWILIO_API_KEY_SECRET")
    twilio_twiml_app_sid: str | None = Field(default=None, alias="TWILIO_TWIML_APP_SID")
    # Twilio accepts Access Tokens valid for at most 24 hours.
    voice_token_ttl_seconds: int = Field(
        default=3600, ge=60, le=86400, alias="DIALER_VOICE_TOKEN_TTL_SECONDS"
    )
    # Where `npm ci` installed the console's softphone package (the directory with
    # its node_modules/); unset: the checkout's console/ (scripts/setup-softphone).
    softphone_dir: str | None = Field(default=None, alias="DIALER_SOFTPHONE_DIR")
    # Twilio mode refuses a public URL Twilio cannot reach safely (not https, or
    # this machine); a local Twilio-compatible test server needs this.
    allow_insecure_public_url: bool = Field(default=False, alias="DIALER_ALLOW_INSECURE_PUBLIC_URL")
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
    # Browser sessions (the consoles' cookie): at most this long after sign-in,
    # and ended sooner when unused this long.
    session_hours: int = Field(default=12, ge=1, le=168, alias="DIALER_SESSION_HOURS")
    session_idle_minutes: int = Field(
        default=120, ge=5, le=1440, alias="DIALER_SESSION_IDLE_MINUTES"
    )
    # How long a sign-in name stays locked after 10 consecutive failures (or
    # until a manager sets its password).
    sign_in_lockout_minutes: int = Field(
        default=30, ge=1, le=1440, alias="DIALER_SIGN_IN_LOCKOUT_MINUTES"
    )
    # Not in the API table: operational knobs with safe defaults.
    claim_ttl_seconds: int = Field(default=900, gt=0, alias="DIALER_CLAIM_TTL_SECONDS")
    # An available agent whose console (its own event stream) has been gone this
    # long, in clock time, is paused (dialer.agents.presence).
    console_loss_seconds: int = Field(
        default=60, ge=10, le=3600, alias="DIALER_CONSOLE_LOSS_SECONDS"
    )
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
    def twilio_auth_tokens(self) -> list[str]:
        """The tokens a webhook's signature may be made with: the current one and,
        while a rotation is under way, the secondary."""
        return [t for t in (self.twilio_auth_token, self.twilio_auth_token_secondary) if t]

    def check_public_url(self) -> None:
        """Raise SettingsRefused when twilio mode would hand Twilio a public URL it
        cannot use: webhooks are signed over it and carry call data, so plain
        http or this machine's loopback is a set-up mistake (the default is
        `http://localhost:8000`), unless DIALER_ALLOW_INSECURE_PUBLIC_URL says
        the provider is a local test server."""
        if self.telephony != TelephonyMode.twilio or self.allow_insecure_public_url:
            return
        why = _public_url_fault(self.public_url)
        if why is not None:
            raise SettingsRefused(
                f"DIALER_PUBLIC_URL {self.public_url!r} {why}: twilio mode needs the https URL"
                " Twilio reaches this service at (set DIALER_PUBLIC_URL, or"
                " DIALER_ALLOW_INSECURE_PUBLIC_URL=true for a local test server)"
            )

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


class SettingsRefused(Exception):
    """A configuration this process will not run with; its message is one line
    saying what is wrong and what to set."""


_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def _public_url_fault(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return "is not a URL"
    if parts.scheme != "https":
        return "is not https"
    if not host:
        return "names no host"
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return "is this machine (localhost)"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.is_loopback or address.is_unspecified:
        return "is this machine (a loopback address)"
    return None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
