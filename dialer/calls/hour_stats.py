"""A campaign's attempts and person-answers per local hour: what best-hour retry
timing (`calls/best_hour.py`) and the campaign report's learned rates read.

The hour is the lead's local hour when the call was placed (the customer's day,
not the campaign's). The scan is bounded twice, by the last WINDOW of calls and
by their newest MAX_CALLS, and grouped in SQL per lead time zone and 15-minute
bucket (a quarter hour divides every offset in use), so the rows that come back
are few whatever the campaign's size. Calls kept for a promise (the customer
chose the time) and calls still ringing say nothing about an hour and are left
out. The answer is cached per campaign for CACHE_FOR of domain time: a
disposition asks it for every retry, and an hour's rate moves slowly."""

from __future__ import annotations

from datetime import datetime, timedelta
from threading import Lock
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, func, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.calls.best_hour import HourStats
from dialer.calls.models import FINAL_CALL_STATUSES, AnsweredBy, Call, Outcome
from dialer.db import is_postgres
from dialer.leads.models import Lead
from dialer.reports.rules import BUCKET_SECONDS, bucket_start

WINDOW = timedelta(days=30)
MAX_CALLS = 50_000
CACHE_FOR = timedelta(minutes=5)

_cache: dict[tuple[str, int], tuple[datetime, dict[int, HourStats]]] = {}
_cache_lock = Lock()


def answer_stats(session: Session, *, campaign_id: int, now: datetime) -> dict[int, HourStats]:
    """Attempts and person-answers (abandoned calls included: a person answered)
    per local hour 0..23 over the last WINDOW; hours without calls are absent."""
    key = (str(session.get_bind().engine.url), campaign_id)
    cached = _cache.get(key)
    # A clock moved back (a simulation restarted) is a new history: read again.
    if cached is not None and cached[0] <= now < cached[0] + CACHE_FOR:
        return cached[1]
    stats = _read(session, campaign_id=campaign_id, now=now)
    with _cache_lock:
        if len(_cache) > 1024:
            _cache.clear()
        _cache[key] = (now, stats)
    return stats


def forget(*, campaign_id: int | None = None) -> None:
    """Drop cached answers (a campaign's, or all): for tests and simulations that
    rewrite a history under the same clock."""
    with _cache_lock:
        if campaign_id is None:
            _cache.clear()
            return
        for key in [k for k in _cache if k[1] == campaign_id]:
            del _cache[key]


def _bucket(session: Session, column: Any) -> Any:
    if is_postgres(session):
        return func.floor(func.extract("epoch", column) / BUCKET_SECONDS)
    # `//`: SQLAlchemy renders `/` as true division, which would group by the second.
    return func.cast(func.strftime("%s", column), Integer) // BUCKET_SECONDS


def _read(session: Session, *, campaign_id: int, now: datetime) -> dict[int, HourStats]:
    recent = (
        select(
            col(Call.lead_id).label("lead_id"),
            col(Call.created_at).label("created_at"),
            col(Call.answered_by).label("answered_by"),
            col(Call.disposition).label("disposition"),
        )
        .where(
            col(Call.campaign_id) == campaign_id,
            col(Call.created_at) >= now - WINDOW,
            col(Call.created_at) <= now,
            col(Call.for_promise).is_(False),
            or_(col(Call.answered_at).is_not(None), col(Call.status).in_(FINAL_CALL_STATUSES)),
        )
        .order_by(col(Call.created_at).desc())
        .limit(MAX_CALLS)
        .subquery()
    )
    bucket = _bucket(session, recent.c.created_at)
    person = or_(
        recent.c.answered_by == AnsweredBy.human, recent.c.disposition == Outcome.abandoned
    )
    rows = session.execute(
        select(col(Lead.timezone), bucket, func.count(), func.count().filter(person))
        .join(Lead, col(Lead.id) == recent.c.lead_id)
        .group_by(col(Lead.timezone), bucket)
    )
    counts: dict[int, list[int]] = {}
    zones: dict[str, ZoneInfo] = {}
    for zone, slot, attempts, answered in rows:
        tz = zones.get(zone) or zones.setdefault(zone, ZoneInfo(zone))
        hour = bucket_start(int(slot)).astimezone(tz).hour
        row = counts.setdefault(hour, [0, 0])
        row[0] += int(attempts)
        row[1] += int(answered)
    return {hour: HourStats(attempts=a, answered=b) for hour, (a, b) in sorted(counts.items())}
