"""Conversions and the credit ledger.

A conversion is a sign-up, from any channel. Phone conversions come from the
`converted` disposition; the others (web, postcard) are reported later, by API or
CSV, and matched back to their lead by `external_id`, then `contract_number`,
then any of the lead's phones. The credit rule is `attribution.credit_for`.

Reports are idempotent by `reference`: the same reference again returns the
first result. A second report of a sign-up already counted (the web form after
the phone call) is kept as `duplicate` and never counted twice. Credit moves only
through `CreditEntry` rows: +1 when credited, -1 when taken back."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.queue import release
from dialer.calls.models import Call, Outcome, contact_clause
from dialer.campaign.hours import local_text
from dialer.campaign.models import Campaign
from dialer.campaign.patterns import matches_contract_pattern
from dialer.campaign.service import get_campaign, zone_of
from dialer.conversions.attribution import Attribution, Touch, TouchKind, credit_for
from dialer.conversions.models import (
    Channel,
    Conversion,
    ConversionReport,
    ConversionStatus,
    CreditEntry,
    CreditKind,
)
from dialer.errors import Conflict, Invalid, NotFound
from dialer.leads import history, lifecycle
from dialer.leads.models import Lead, LeadStatus, Phone
from dialer.leads.phones import PhoneError, normalize_phone
from dialer.promises.booking import cancel_open
from dialer.promises.models import Promise, PromiseStatus
from dialer.wire import local_day, wall_time_in

log = logging.getLogger("dialer.conversions")


class ConversionClosed(Conflict):
    code = "conversion_closed"


def get_conversion(session: Session, *, conversion_id: int, lock: bool = False) -> Conversion:
    """`lock`: for a change (match, cancel) that two managers may make at once."""
    query = select(Conversion).where(col(Conversion.id) == conversion_id)
    if lock:
        # A row lock on PostgreSQL; SQLite's write transactions are serialized.
        query = query.with_for_update()
    conversion = session.scalar(query)
    if conversion is None:
        raise NotFound(f"conversion {conversion_id} does not exist", code="conversion_not_found")
    return conversion


def by_reference(session: Session, *, reference: str) -> Conversion | None:
    return session.scalar(select(Conversion).where(col(Conversion.reference) == reference))


def check_contract_number(campaign: Campaign, value: str | None) -> str | None:
    """A campaign may say what its contract numbers look like (the 22-digit supply
    point number); a wrong one is refused, not saved to never match anything."""
    number = (value or "").strip() or None
    pattern = campaign.contract_number_pattern
    if not number or not pattern:
        return number
    matched = matches_contract_pattern(pattern, number)
    if matched is None:
        # Stored before patterns were checked at write time, and not one RE2
        # runs: not applied (a number is never refused by a check we can't run).
        log.warning(
            "campaign %s: contract_number_pattern %r is not RE2; not applied",
            campaign.id,
            pattern,
        )
    elif not matched:
        raise Invalid(
            f"contract_number {number!r} does not match the campaign's pattern {pattern!r}",
            code="bad_contract_number",
            field="contract_number",
        )
    return number


def occurred_instant(value: datetime | date | None, *, zone: ZoneInfo, now: datetime) -> datetime:
    """When a sign-up happened. Absent: now. A date alone is that local day of the
    campaign's zone: counted at the day's last second, so every call of the day
    can earn it, or now while the day is still running (a list exported this
    morning is dated today). A time without offset is a wall time of the zone.
    Later than now is refused."""
    if value is None:
        return now
    if isinstance(value, datetime):
        instant = wall_time_in(value, zone, field="occurred_at")
    else:
        start, end = local_day(value, zone)
        if start > now:
            raise Invalid(
                f"occurred_at {value.isoformat()} is in the future (it is {local_text(now, zone)})",
                field="occurred_at",
            )
        return min(end - timedelta(seconds=1), now)
    if instant > now:
        raise Invalid(
            f"occurred_at {local_text(instant, zone)} is in the future "
            f"(it is {local_text(now, zone)})",
            field="occurred_at",
        )
    return instant


def _clean(report: ConversionReport, *, campaign: Campaign, now: datetime) -> ConversionReport:
    reference = report.reference.strip()
    if not reference:
        raise Invalid("reference is empty", field="reference")
    phone = None
    if report.phone and report.phone.strip():
        try:
            phone = normalize_phone(report.phone, region=campaign.default_region)
        except PhoneError as exc:
            raise Invalid(str(exc), code="invalid_phone", field="phone") from exc
    occurred_at = occurred_instant(report.occurred_at, zone=zone_of(campaign), now=now)
    return ConversionReport(
        campaign_id=report.campaign_id,
        reference=reference,
        channel=report.channel,
        occurred_at=occurred_at,
        phone=phone,
        contract_number=check_contract_number(campaign, report.contract_number),
        external_id=(report.external_id or "").strip() or None,
        raw=report.raw,
    )


def find_lead(
    session: Session,
    *,
    campaign_id: int,
    external_id: str | None,
    contract_number: str | None,
    phone: str | None,
) -> Lead | None:
    """By `external_id`, then `contract_number`, then any phone (retired ones too:
    a number the household stopped answering is still the household's)."""
    live = col(Lead.status) != LeadStatus.importing
    in_campaign = col(Lead.campaign_id) == campaign_id
    for column, value in ((Lead.external_id, external_id), (Lead.contract_number, contract_number)):
        if not value:
            continue
        lead = session.scalar(
            select(Lead)
            .where(in_campaign, live, col(column) == value)
            .order_by(col(Lead.id))
            .limit(1)
        )
        if lead is not None:
            return lead
    if phone:
        return session.scalar(
            select(Lead)
            .join(Phone, col(Phone.lead_id) == col(Lead.id))
            .where(in_campaign, live, col(Phone.number) == phone)
            .order_by(col(Lead.id))
            .limit(1)
        )
    return None


def touches_of(session: Session, *, lead_id: int) -> list[Touch]:
    touches: list[Touch] = []
    for agent_id, at in session.execute(
        select(col(Call.agent_id), col(Call.dispositioned_at)).where(
            col(Call.lead_id) == lead_id, col(Call.disposition) == Outcome.will_self_apply
        )
    ):
        if at is not None:
            touches.append(Touch(TouchKind.will_self_apply, agent_id, at))
    for agent_id, at in session.execute(
        select(col(Promise.agent_id), col(Promise.created_at)).where(
            col(Promise.lead_id) == lead_id, col(Promise.status) == PromiseStatus.scheduled
        )
    ):
        touches.append(Touch(TouchKind.open_promise, agent_id, at))
    for agent_id, at in session.execute(
        select(col(Call.agent_id), col(Call.answered_at)).where(
            col(Call.lead_id) == lead_id, contact_clause()
        )
    ):
        if at is not None:
            touches.append(Touch(TouchKind.contact, agent_id, at))
    return touches


def _credit(session: Session, *, conversion: Conversion, now: datetime, reason: str) -> None:
    if conversion.agent_id is None:
        return
    assert conversion.id is not None
    session.add(
        CreditEntry(
            conversion_id=conversion.id,
            campaign_id=conversion.campaign_id,
            agent_id=conversion.agent_id,
            channel=conversion.channel,
            kind=CreditKind.credit,
            amount=1,
            occurred_at=conversion.occurred_at,
            at=now,
            reason=reason,
        )
    )


def _attach(
    session: Session, *, conversion: Conversion, lead: Lead, actor: str, now: datetime
) -> None:
    """Credit a conversion matched to `lead` (or mark it a duplicate of the one
    already counted), and close the lead as converted."""
    assert lead.id is not None and conversion.id is not None
    # Two reports of one sign-up at once must not both find nothing counted (a row
    # lock on PostgreSQL; SQLite's write transactions are serialized).
    session.execute(select(col(Lead.id)).where(col(Lead.id) == lead.id).with_for_update())
    conversion.lead_id = lead.id
    counted = session.scalar(
        select(Conversion)
        .where(
            col(Conversion.lead_id) == lead.id,
            col(Conversion.status) == ConversionStatus.active,
            col(Conversion.id) != conversion.id,
        )
        .order_by(col(Conversion.id))
        .limit(1)
    )
    if counted is not None:
        conversion.status = ConversionStatus.duplicate
        conversion.duplicate_of_id = counted.id
        conversion.agent_id = counted.agent_id
        conversion.attribution = counted.attribution
        history.record(
            session,
            lead_id=lead.id,
            kind="conversion_duplicate",
            actor=actor,
            at=now,
            conversion_id=conversion.id,
            duplicate_of=counted.id,
            reference=conversion.reference,
        )
        return
    campaign = session.get(Campaign, lead.campaign_id)
    assert campaign is not None
    credit = credit_for(
        occurred_at=conversion.occurred_at,
        window_days=campaign.attribution_days,
        touches=touches_of(session, lead_id=lead.id),
    )
    conversion.agent_id = credit.agent_id
    conversion.attribution = credit.attribution
    _credit(session, conversion=conversion, now=now, reason=f"attribution:{credit.attribution}")
    history.record(
        session,
        lead_id=lead.id,
        kind="conversion",
        actor=actor,
        at=now,
        conversion_id=conversion.id,
        channel=conversion.channel,
        reference=conversion.reference,
        agent_id=credit.agent_id,
        attribution=credit.attribution,
    )
    close_lead_as_converted(session, lead=lead, actor=actor, now=now)


def close_lead_as_converted(session: Session, *, lead: Lead, actor: str, now: datetime) -> None:
    assert lead.id is not None
    pending = session.scalar(
        select(Promise).where(
            col(Promise.lead_id) == lead.id, col(Promise.status) == PromiseStatus.scheduled
        )
    )
    if pending is not None:
        cancel_open(session, promise=pending, actor=actor, now=now, reason="converted")
    lifecycle.release_promise(lead=lead)
    lifecycle.close(session, lead=lead, status=LeadStatus.converted, actor=actor, at=now)
    # Nobody needs to call a customer who signed up; an agent holding the lead
    # still records how the call went, which no longer moves the lead.
    release(session, lead=lead, actor=actor, now=now, why="converted")


def _same_campaign(seen: Conversion, report: ConversionReport) -> None:
    """A reference names one sign-up; the same one reported for another campaign
    is a mistake to show, not the first campaign's conversion to hand back."""
    if seen.campaign_id != report.campaign_id:
        raise Conflict(
            f"reference {seen.reference!r} was reported for campaign {seen.campaign_id}",
            code="reference_in_other_campaign",
            field="reference",
        )


def record_external(
    session: Session, *, report: ConversionReport, actor: str, source: str, now: datetime
) -> tuple[Conversion, bool]:
    """(conversion, created). A reference seen before returns the first result."""
    seen = by_reference(session, reference=report.reference.strip())
    if seen is not None:
        _same_campaign(seen, report)
        return seen, False
    campaign = get_campaign(session, campaign_id=report.campaign_id)
    clean = _clean(report, campaign=campaign, now=now)
    assert isinstance(clean.occurred_at, datetime)
    conversion = Conversion(
        campaign_id=report.campaign_id,
        reference=clean.reference,
        channel=clean.channel,
        attribution=Attribution.unmatched,
        status=ConversionStatus.active,
        contract_number=clean.contract_number,
        phone=clean.phone,
        external_id=clean.external_id,
        occurred_at=clean.occurred_at,
        created_at=now,
        source=source,
        raw=clean.raw,
    )
    try:
        # A concurrent report of the same reference loses here, not with a 500.
        with session.begin_nested():
            session.add(conversion)
            session.flush()
    except IntegrityError:
        seen = by_reference(session, reference=clean.reference)
        if seen is None:
            raise
        _same_campaign(seen, report)
        return seen, False
    lead = find_lead(
        session,
        campaign_id=report.campaign_id,
        external_id=clean.external_id,
        contract_number=clean.contract_number,
        phone=clean.phone,
    )
    if lead is not None:
        conversion.matched_at = now
        conversion.matched_by = "auto"
        _attach(session, conversion=conversion, lead=lead, actor=actor, now=now)
    session.flush()
    return conversion, True


def record_phone_conversion(
    session: Session, *, call: Call, lead: Lead, contract_number: str | None, now: datetime
) -> Conversion:
    """The `converted` disposition: credited to the agent on the call."""
    assert lead.id is not None and call.id is not None
    conversion = Conversion(
        campaign_id=call.campaign_id,
        reference=f"call-{call.id}",
        channel=Channel.phone,
        lead_id=lead.id,
        agent_id=call.agent_id,
        call_id=call.id,
        attribution=Attribution.call,
        contract_number=contract_number,
        phone=call.to,
        external_id=lead.external_id,
        occurred_at=now,
        created_at=now,
        source=f"call:{call.id}",
        matched_at=now,
        matched_by="call",
    )
    session.add(conversion)
    session.flush()
    _credit(session, conversion=conversion, now=now, reason="attribution:call")
    history.record(
        session,
        lead_id=lead.id,
        kind="conversion",
        actor=f"agent:{call.agent_id}",
        at=now,
        conversion_id=conversion.id,
        channel=Channel.phone.value,
        reference=conversion.reference,
        agent_id=call.agent_id,
        attribution=Attribution.call.value,
    )
    return conversion


def match(
    session: Session, *, conversion_id: int, lead_id: int, actor: str, now: datetime
) -> Conversion:
    conversion = get_conversion(session, conversion_id=conversion_id, lock=True)
    if conversion.lead_id is not None:
        raise ConversionClosed(
            f"conversion {conversion_id} is already matched to lead {conversion.lead_id}"
        )
    if conversion.status != ConversionStatus.active:
        raise ConversionClosed(f"conversion {conversion_id} is {conversion.status}")
    lead = session.get(Lead, lead_id)
    if lead is None or lead.status == LeadStatus.importing:
        raise Invalid(f"lead {lead_id} does not exist", code="lead_not_found", field="lead_id")
    if lead.campaign_id != conversion.campaign_id:
        raise Invalid(
            f"lead {lead_id} is in campaign {lead.campaign_id}, the conversion in "
            f"campaign {conversion.campaign_id}",
            code="wrong_campaign",
            field="lead_id",
        )
    conversion.matched_at = now
    conversion.matched_by = actor
    _attach(session, conversion=conversion, lead=lead, actor=actor, now=now)
    session.flush()
    return conversion


def cancel(
    session: Session, *, conversion_id: int, reason: str, actor: str, now: datetime
) -> Conversion:
    """Cooling-off: the record stays, its credit is reversed by a -1 entry."""
    conversion = get_conversion(session, conversion_id=conversion_id, lock=True)
    if conversion.status != ConversionStatus.active:
        raise ConversionClosed(f"conversion {conversion_id} is {conversion.status}")
    conversion.status = ConversionStatus.cancelled
    conversion.cancelled_at = now
    conversion.cancel_reason = reason
    assert conversion.id is not None
    for entry in session.scalars(
        select(CreditEntry).where(
            col(CreditEntry.conversion_id) == conversion.id,
            col(CreditEntry.kind) == CreditKind.credit,
        )
    ):
        session.add(
            CreditEntry(
                conversion_id=conversion.id,
                campaign_id=entry.campaign_id,
                agent_id=entry.agent_id,
                channel=entry.channel,
                kind=CreditKind.reversal,
                amount=-entry.amount,
                occurred_at=entry.occurred_at,
                at=now,
                reason=f"cancelled: {reason}"[:200],
            )
        )
    if conversion.lead_id is not None:
        history.record(
            session,
            lead_id=conversion.lead_id,
            kind="conversion_cancelled",
            actor=actor,
            at=now,
            conversion_id=conversion.id,
            reason=reason,
        )
    session.flush()
    return conversion


def list_conversions(
    session: Session,
    *,
    campaign_id: int | None,
    status: ConversionStatus | None,
    unmatched: bool | None,
    limit: int,
    after_id: int | None,
) -> list[Conversion]:
    query = select(Conversion).order_by(col(Conversion.id)).limit(limit)
    if campaign_id is not None:
        query = query.where(col(Conversion.campaign_id) == campaign_id)
    if status is not None:
        query = query.where(col(Conversion.status) == status)
    if unmatched is True:
        query = query.where(col(Conversion.lead_id).is_(None))
    elif unmatched is False:
        query = query.where(col(Conversion.lead_id).is_not(None))
    if after_id is not None:
        query = query.where(col(Conversion.id) > after_id)
    return list(session.scalars(query))
