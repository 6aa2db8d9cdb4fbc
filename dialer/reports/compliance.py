"""A campaign's compliance report: every dial of a period held to the rules it
had to pass, computed again from the lead histories (what happened), never
from the `checks` a dial recorded about itself (what the dialer believed).

The leads looked at are those with a call placed in the period or in the
abandon window before it (a range of `ix_call_campaign_created`, read in
batches); each lead's history is then read whole (`ix_event_lead_at`), so a
refusal or an abandoned call before the period still counts, with the
do-not-call audit of the numbers dialled (`ix_dnc_event_phone`, the list's
unique phone). The rules are `dialer.reports.compliance_rules`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.calls.models import Call
from dialer.campaign.history import snapshot
from dialer.campaign.hours import CallingHours
from dialer.campaign.models import Campaign, CampaignEvent, CampaignEventKind
from dialer.campaign.service import abandon_policy_of, calling_hours_of, get_campaign, zone_of
from dialer.dnc.models import DncEntry, DncEvent
from dialer.errors import BadInput, Invalid
from dialer.leads.models import Event, Lead
from dialer.reports import compliance_rules as rules
from dialer.reports.schemas import (
    ComplianceCheck,
    CompliancePolicy,
    ComplianceReport,
    ComplianceViolation,
    ComplianceWindow,
)
from dialer.reports.service import parse_bound, to_csv
from dialer.wire import local_day, localized

# The longest period one report covers (the abandon window before it is read too).
MAX_PERIOD = timedelta(days=366)
# A report without `from` covers the 30 local days ending with `to`'s.
DEFAULT_DAYS = 30
# What one report lists at most; the counts count every violation.
MAX_VIOLATIONS = 1000
# Calls read per query to find the leads, and leads whose histories are read at once.
CALL_BATCH = 2000
LEAD_BATCH = 500


@dataclass(frozen=True, slots=True)
class CompliancePeriod:
    since: datetime
    until: datetime  # exclusive


def period_of(
    session: Session, *, campaign_id: int, since: str | None, until: str | None, now: datetime
) -> CompliancePeriod:
    """`from`/`to` as the other reports read them (a local date of the campaign,
    `to` through its day; an instant; a wall time). Without `to`: through today;
    without `from`: the 30 days ending with `to`'s day. At most 366 days."""
    zone = ZoneInfo(get_campaign(session, campaign_id=campaign_id).timezone)
    start = parse_bound(since, tz=zone, field="from", end=False)
    end = parse_bound(until, tz=zone, field="to", end=True)
    if end is None:
        end = local_day(now.astimezone(zone).date(), zone)[1].astimezone(zone)
    if start is None:
        last_day = (end - timedelta(microseconds=1)).astimezone(zone).date()
        start = local_day(last_day - timedelta(days=DEFAULT_DAYS - 1), zone)[0].astimezone(zone)
    if end <= start:
        raise BadInput("to must be after from", field="to")
    if end - start > MAX_PERIOD:
        raise Invalid(
            f"a compliance report covers at most {MAX_PERIOD.days} days",
            code="period_too_long",
            field="to",
        )
    return CompliancePeriod(since=start, until=end)


@dataclass
class _Tally:
    dials: int = 0
    counts: dict[rules.Check, int] = field(default_factory=lambda: defaultdict(int))
    violations: list[rules.Violation] = field(default_factory=list)
    answered: rules.AnswerCounts = field(default_factory=rules.AnswerCounts)

    def add(self, violation: rules.Violation) -> None:
        self.counts[violation.check] += 1
        self.violations.append(violation)
        if len(self.violations) > 2 * MAX_VIOLATIONS:
            self._trim()

    def _trim(self) -> None:
        # The earliest ones are kept: bounded memory whatever a period holds.
        self.violations.sort(key=_order)
        del self.violations[MAX_VIOLATIONS:]


def _order(v: rules.Violation) -> tuple[datetime, int, int, int]:
    return (v.at, rules.CHECK_ORDER[v.check], v.lead_id or 0, v.call_id or 0)


class _Settings:
    """The campaign's calling hours and abandon policy as they were at an
    instant, from its history of changes: a dial is held to the rules of its
    day, not to today's (a manager may since have moved the hours)."""

    FIELDS = ("calling_hours", "skip_holidays", "default_region", "abandon_policy")

    def __init__(self, session: Session, *, campaign: Campaign) -> None:
        changes = session.execute(
            select(col(CampaignEvent.at), col(CampaignEvent.changes))
            .where(
                col(CampaignEvent.campaign_id) == campaign.id,
                col(CampaignEvent.kind) == CampaignEventKind.updated,
            )
            .order_by(col(CampaignEvent.id))
        ).all()
        self.timeline = rules.settings_timeline(
            now=snapshot(campaign), changes=[(at, moved) for at, moved in changes],
            fields=self.FIELDS,
        )  # fmt: skip
        # Unsaved copies, so the campaign service's own rules read each setting.
        self._campaigns = [
            Campaign(timezone=campaign.timezone, **setting.values) for setting in self.timeline
        ]
        self._policies = [abandon_policy_of(c) for c in self._campaigns]
        self._hours: dict[tuple[int, str], CallingHours] = {}
        self.now = self._policies[-1]

    def hours(self, at: datetime, zone: str) -> CallingHours:
        n = rules.setting_at(self.timeline, at)
        found = self._hours.get((n, zone))
        if found is None:
            found = self._hours[(n, zone)] = calling_hours_of(self._campaigns[n], timezone=zone)
        return found

    def no_recall(self, at: datetime) -> timedelta:
        policy = self._policies[rules.setting_at(self.timeline, at)]
        return timedelta(hours=policy.no_recall_hours)

    def window(self, at: datetime) -> tuple[timedelta, float]:
        policy = self._policies[rules.setting_at(self.timeline, at)]
        return timedelta(days=policy.window_days), policy.max_rate


def compliance_report(
    session: Session, *, campaign_id: int, period: CompliancePeriod
) -> ComplianceReport:
    campaign = get_campaign(session, campaign_id=campaign_id)
    assert campaign.id is not None
    zone = zone_of(campaign)
    settings = _Settings(session, campaign=campaign)
    policy = settings.now
    ends = rules.window_ends(
        since=period.since, until=period.until, zone=zone, policy=settings.window
    )
    reach = min([period.since, *(e.until_at - e.window for e in ends)])
    tally = _Tally()
    batches = _lead_batches(session, campaign_id=campaign.id, since=reach, until=period.until)
    for lead_ids in batches:
        _check_leads(
            session, campaign=campaign, settings=settings, lead_ids=lead_ids, period=period,
            reach=reach, zone=zone, tally=tally,
        )  # fmt: skip
    windows = tally.answered.windows(ends=ends)
    for w in windows:
        if w.over:
            tally.add(rules.window_violation(w, zone=zone))
    truncated = sum(tally.counts.values()) > MAX_VIOLATIONS
    tally._trim()
    out = ComplianceReport(
        campaign_id=campaign.id,
        from_=period.since,
        to=period.until,
        timezone=campaign.timezone,
        dials=tally.dials,
        policy=CompliancePolicy(
            max_rate=policy.max_rate,
            window_days=policy.window_days,
            connect_seconds=policy.connect_seconds,
            no_recall_hours=policy.no_recall_hours,
        ),
        checks=[
            ComplianceCheck(check=c.value, count=tally.counts[c], ok=tally.counts[c] == 0)
            for c in rules.Check
        ],
        violations=[
            ComplianceViolation(
                check=v.check.value, lead_id=v.lead_id, call_id=v.call_id, at=v.at, detail=v.detail
            )
            for v in tally.violations
        ],
        violations_truncated=truncated,
        abandon_windows=[
            ComplianceWindow(
                day=w.day,
                since_at=w.since_at,
                until_at=w.until_at,
                answered=w.answered,
                abandoned=w.abandoned,
                rate=w.rate,
                over=w.over,
            )
            for w in windows
        ],
    )
    return localized(out, zone)


def _lead_batches(
    session: Session, *, campaign_id: int, since: datetime, until: datetime
) -> Iterator[list[int]]:
    """The distinct leads of the campaign's calls placed in [since, until), a
    batch at a time: the calls are walked in index order (created_at, id)."""
    seen: set[int] = set()
    pending: list[int] = []
    after: tuple[datetime, int] | None = None
    while True:
        query = (
            select(col(Call.created_at), col(Call.id), col(Call.lead_id))
            .where(
                col(Call.campaign_id) == campaign_id,
                col(Call.created_at) >= since,
                col(Call.created_at) < until,
            )
            .order_by(col(Call.created_at), col(Call.id))
            .limit(CALL_BATCH)
        )
        if after is not None:
            query = query.where(tuple_(col(Call.created_at), col(Call.id)) > after)
        rows = session.execute(query).all()
        for _, _, lead_id in rows:
            if lead_id not in seen:
                seen.add(lead_id)
                pending.append(lead_id)
        while len(pending) >= LEAD_BATCH:
            yield pending[:LEAD_BATCH]
            del pending[:LEAD_BATCH]
        if len(rows) < CALL_BATCH:
            break
        last_at, last_id = rows[-1][0], rows[-1][1]
        assert last_id is not None
        after = (last_at, last_id)
    if pending:
        yield pending


# The keys of a history event's detail the rules read, taken out in SQL (the
# engine's JSON functions): decoding each event's JSON in Python was most of a
# report's time.
_DETAIL_KEYS = ("call_id", "to", "reserved", "outcome", "answered_by", "phone")
_detail = Event.__table__.c.detail  # type: ignore[attr-defined]
_DETAIL = (
    _detail["call_id"].as_integer(),
    _detail["to"].as_string(),
    _detail["reserved"].as_boolean(),
    _detail["outcome"].as_string(),
    _detail["answered_by"].as_string(),
    _detail["phone"].as_string(),
)


def _check_leads(
    session: Session,
    *,
    campaign: Campaign,
    settings: _Settings,
    lead_ids: list[int],
    period: CompliancePeriod,
    reach: datetime,
    zone: ZoneInfo,
    tally: _Tally,
) -> None:
    zones: dict[int | None, str] = {
        lead_id: zone_name
        for lead_id, zone_name in session.execute(
            select(col(Lead.id), col(Lead.timezone)).where(col(Lead.id).in_(lead_ids))
        )
    }
    histories: dict[int, list[rules.HistoryEvent]] = defaultdict(list)
    # Core, not the ORM: a history's rows are many, and plain rows are cheaper.
    events = Event.__table__.c  # type: ignore[attr-defined]
    for lead_id, event_id, at, kind, *values in (
        session.connection()
        .execute(
            select(events.lead_id, events.id, events.at, events.kind, *_DETAIL)
            .where(events.lead_id.in_(lead_ids), events.kind.in_(rules.KINDS))
            .order_by(events.lead_id, events.id)
        )
        .all()
    ):
        detail = {k: v for k, v in zip(_DETAIL_KEYS, values, strict=True) if v is not None}
        if "reserved" in detail:
            detail["reserved"] = bool(detail["reserved"])
        histories[lead_id].append(rules.HistoryEvent(id=event_id, at=at, kind=kind, detail=detail))
    phones = sorted(
        {
            e.detail["to"]
            for events in histories.values()
            for e in events
            if e.kind == "call_placed" and isinstance(e.detail.get("to"), str)
        }
    )
    dnc = _listings(session, phones=phones)
    for lead_id in lead_ids:
        lead_zone = zones.get(lead_id) or campaign.timezone
        found = rules.check_lead(
            lead_id=lead_id,
            events=histories.get(lead_id, []),
            hours=partial(settings.hours, zone=lead_zone),
            dnc=dnc,
            no_recall=settings.no_recall,
            since=period.since,
            until=period.until,
            reach=reach,
            zone=zone,
        )
        tally.dials += found.dials
        for violation in found.violations:
            tally.add(violation)
        for at, abandoned in found.answered:
            tally.answered.add(at=at, abandoned=abandoned)


def _listings(session: Session, *, phones: list[str]) -> dict[str, list[rules.Listing]]:
    """When each phone was on the do-not-call list: its audit, in the order
    written, and the entries listed before the audit was kept."""
    audit: list[tuple[str, datetime, str]] = []
    entries: list[tuple[str, datetime]] = []
    for start in range(0, len(phones), LEAD_BATCH):
        chunk = phones[start : start + LEAD_BATCH]
        audit += [
            (phone, at, kind)
            for phone, at, kind in session.execute(
                select(col(DncEvent.phone), col(DncEvent.at), col(DncEvent.kind))
                .where(col(DncEvent.phone).in_(chunk))
                .order_by(col(DncEvent.phone), col(DncEvent.id))
            )
        ]
        entries += [
            (phone, created_at)
            for phone, created_at in session.execute(
                select(col(DncEntry.phone), col(DncEntry.created_at)).where(
                    col(DncEntry.phone).in_(chunk)
                )
            )
        ]
    return rules.listings(audit=audit, entries=entries)


CSV_HEADER = [
    "row", "check", "day", "at", "lead_id", "call_id", "count", "ok",
    "answered", "abandoned", "rate", "detail",
]  # fmt: skip


def compliance_csv(report: dict[str, Any]) -> bytes:
    """One sheet: a `check` row per check (count, ok), a `violation` row per
    violation listed, a `window` row per abandon window (ok: not over the cap)."""
    rows: list[list[Any]] = [CSV_HEADER]
    for c in report["checks"]:
        rows.append(["check", c["check"], "", "", "", "", c["count"], c["ok"], "", "", "", ""])
    for v in report["violations"]:
        rows.append(
            ["violation", v["check"], "", v["at"], v["lead_id"], v["call_id"], "", "", "", "", "",
             v["detail"]]
        )  # fmt: skip
    for w in report["abandon_windows"]:
        rows.append(
            ["window", rules.Check.abandon_rate_over_cap.value, w["day"], w["until_at"], "", "",
             "", not w["over"], w["answered"], w["abandoned"], w["rate"],
             f"since {w['since_at']}"]
        )  # fmt: skip
    return to_csv(rows)
