"""Do-not-call: a phone on the list is never dialled, by any campaign."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.dnc.models import DncEntry, DncEvent, DncEventKind
from dialer.errors import BadInput, NotFound
from dialer.leads import history, lifecycle
from dialer.leads.dialrules import callable_numbers
from dialer.leads.models import TERMINAL_STATUSES, Lead, LeadStatus, Phone
from dialer.leads.phonebook import phone_facts
from dialer.leads.phones import PhoneError, normalize_phone
from dialer.promises.booking import cancel_for_dnc


def parse_dnc_phone(raw: str, *, region: str) -> str:
    try:
        return normalize_phone(raw, region=region)
    except PhoneError as exc:
        raise BadInput(str(exc), code="invalid_phone", field="phone") from exc


def add(
    session: Session,
    *,
    phone: str,
    reason: str,
    source: str,
    actor: str,
    now: datetime,
    kind: DncEventKind = DncEventKind.added,
) -> tuple[DncEntry, bool]:
    """Add a phone (E.164); returns (entry, created). Every lead whose phones are now
    all listed stops being callable at once, with the reason in its history. The
    audit keeps it as `kind` (`added` by hand, `imported` from a file)."""
    entry = session.scalar(select(DncEntry).where(col(DncEntry.phone) == phone))
    if entry is not None:
        return entry, False
    entry = DncEntry(phone=phone, reason=reason, source=source, created_at=now, created_by=actor)
    session.add(entry)
    _audit(session, phone=phone, kind=kind, actor=actor, reason=reason, now=now)
    session.flush()
    cancel_for_dnc(session, phone=phone, actor=actor, now=now)
    _close_fully_listed_leads(session, phone=phone, actor=actor, now=now)
    return entry, True


def _close_fully_listed_leads(session: Session, *, phone: str, actor: str, now: datetime) -> None:
    lead_ids = list(session.scalars(select(col(Phone.lead_id)).where(col(Phone.number) == phone)))
    for lead_id in lead_ids:
        lead = session.get(Lead, lead_id)
        if lead is None:
            continue
        history.record(session, lead_id=lead_id, kind="dnc_added", actor=actor, at=now, phone=phone)
        if lead.status in TERMINAL_STATUSES or lead.status in (
            LeadStatus.claimed,
            LeadStatus.importing,
        ):
            # A claimed lead is refused at dial time, its claim decides what comes
            # next; a staged one is not a lead yet, and is checked when claimed.
            continue
        if not callable_numbers(phone_facts(session, lead_id=lead_id)):
            lifecycle.close(
                session, lead=lead, status=LeadStatus.dnc, actor=actor, at=now, reason="dnc"
            )


def get(session: Session, *, phone: str) -> DncEntry:
    entry = session.scalar(select(DncEntry).where(col(DncEntry.phone) == phone))
    if entry is None:
        raise NotFound(f"{phone} is not on the do-not-call list", code="dnc_not_found")
    return entry


def list_entries(
    session: Session, *, phone: str | None, limit: int, after_id: int | None
) -> list[DncEntry]:
    query = select(DncEntry).order_by(col(DncEntry.id)).limit(limit)
    if phone is not None:
        query = query.where(col(DncEntry.phone) == phone)
    if after_id is not None:
        query = query.where(col(DncEntry.id) > after_id)
    return list(session.scalars(query))


def remove(session: Session, *, phone: str, reason: str, actor: str, now: datetime) -> None:
    """Lifting an entry does not reopen leads it closed: a refusal stays a refusal,
    and a manager reopens a lead deliberately, never as a side effect. The lift,
    who did it and why stay in the audit."""
    session.delete(get(session, phone=phone))
    _audit(session, phone=phone, kind=DncEventKind.lifted, actor=actor, reason=reason, now=now)


def _audit(
    session: Session, *, phone: str, kind: DncEventKind, actor: str, reason: str, now: datetime
) -> None:
    session.add(DncEvent(phone=phone, at=now, actor=actor, kind=kind, reason=reason))


def history_page(
    session: Session, *, phone: str | None, limit: int, before_id: int | None
) -> list[DncEvent]:
    """The audit, newest first (one phone's, or the whole list's); the cursor is
    the last id of a full page."""
    query = select(DncEvent).order_by(col(DncEvent.id).desc()).limit(limit)
    if phone is not None:
        query = query.where(col(DncEvent.phone) == phone)
    if before_id is not None:
        query = query.where(col(DncEvent.id) < before_id)
    return list(session.scalars(query))
