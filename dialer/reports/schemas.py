from __future__ import annotations

from pydantic import BaseModel

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


class AgentRow(BaseModel):
    agent_id: int
    name: str
    calls: int
    contacts: int
    talk_seconds: int
    conversions: ConversionCounts
    conversion_rate: float | None
    promises: PromiseCounts


class AgentsReport(BaseModel):
    campaign_id: int | None
    since: Instant | None
    until: Instant | None
    agents: list[AgentRow]
