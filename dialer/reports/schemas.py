from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from dialer.wire import Instant


class ConversionCounts(BaseModel):
    total: int
    phone: int
    external: int
    cancelled: int


class PromiseCounts(BaseModel):
    made: int
    kept: int
    missed: int
    kept_rate: float | None


class Figures(BaseModel):
    """What an agent did over a period: the agents report's row and an agent's day."""

    calls: int
    contacts: int
    talk_seconds: int
    conversions: ConversionCounts
    conversion_rate: float | None
    promises: PromiseCounts


class AgentRow(Figures):
    agent_id: int
    name: str


class AgentsReport(BaseModel):
    campaign_id: int | None
    since: Instant | None
    until: Instant | None
    agents: list[AgentRow]


class ChannelCounts(BaseModel):
    gross: int
    net: int
    cancelled: int
    duplicate: int


class HourRate(BaseModel):
    hour: int
    calls: int
    answered: int
    answer_rate: float | None


class CampaignReport(BaseModel):
    campaign_id: int
    timezone: str
    since: Instant | None
    until: Instant | None
    leads_by_status: dict[str, int]
    calls_by_status: dict[str, int]
    promises_by_status: dict[str, int]
    conversions_by_channel: dict[str, ChannelCounts]
    answer_rate_by_hour: list[HourRate]
    median_days_to_conversion: float | None
    abandon: AbandonStandingOut
    hour_rates: list[LearnedHourRate]


class CampaignDayFigures(Figures):
    campaign_id: int
    campaign_name: str
    timezone: str
    date: date
    since: Instant
    until: Instant


class AgentDayStats(BaseModel):
    """`GET /api/agents/{id}/stats`: the agent's own figures for one local day."""

    agent_id: int
    name: str
    campaigns: list[CampaignDayFigures]
    total: Figures


class FunnelStage(BaseModel):
    stage: str
    count: int
    rate: float | None


class FunnelReport(BaseModel):
    campaign_id: int
    since: Instant | None
    until: Instant | None
    stages: list[FunnelStage]
    median_days_to_conversion: float | None


class PromiseDay(BaseModel):
    date: date
    kept: int
    missed: int
    kept_rate: float | None


class AgentPromises(BaseModel):
    agent_id: int
    name: str
    made: int
    kept: int
    missed: int
    kept_rate: float | None
    trend: list[PromiseDay]


class PromisesReport(BaseModel):
    campaign_id: int
    since: Instant | None
    until: Instant | None
    days: list[date]
    agents: list[AgentPromises]


class ChannelTotals(BaseModel):
    gross: int
    cancelled: int
    net: int


class ChannelRow(ChannelTotals):
    channel: str


class ConversionsReport(BaseModel):
    campaign_id: int
    since: Instant | None
    until: Instant | None
    channels: list[ChannelRow]
    total: ChannelTotals


class HoursReport(BaseModel):
    campaign_id: int
    since: Instant | None
    until: Instant | None
    timezone: str
    hours: list[HourRate]


class AbandonStandingOut(BaseModel):
    """A campaign's abandon rate over its abandon window, against its cap: the
    campaign report's `abandon` and the floor's `abandon_window`."""

    abandoned: int
    answered: int
    rate: float | None
    max_rate: float
    window_days: int
    since_at: Instant
    over: bool


class LearnedHourRate(BaseModel):
    hour: int
    attempts: int
    answered: int
    rate: float | None
    estimate: float


class ComplianceCheck(BaseModel):
    check: str
    count: int
    ok: bool


class ComplianceViolation(BaseModel):
    check: str
    lead_id: int | None
    call_id: int | None
    at: Instant
    detail: str


class ComplianceWindow(BaseModel):
    day: date
    since_at: Instant
    until_at: Instant
    answered: int
    abandoned: int
    rate: float | None
    over: bool


class CompliancePolicy(BaseModel):
    max_rate: float
    window_days: int
    connect_seconds: int
    no_recall_hours: int


class ComplianceReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    campaign_id: int
    from_: Instant = Field(alias="from")
    to: Instant
    timezone: str
    dials: int
    policy: CompliancePolicy
    checks: list[ComplianceCheck]
    violations: list[ComplianceViolation]
    violations_truncated: bool
    abandon_windows: list[ComplianceWindow]
