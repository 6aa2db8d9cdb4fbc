"""A lead as answers show it: the summary an agent works from, the detail with
its whole history, and the campaign's list."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.models import Agent, Claim, Role
from dialer.calls.models import Call
from dialer.campaign.service import get_campaign
from dialer.conversions.models import Conversion
from dialer.errors import Forbidden, NotFound
from dialer.leads.models import Contact, Event, Lead, LeadStatus, Phone
from dialer.leads.schemas import LeadDetail, LeadList, LeadOut
from dialer.views.overlay import Overlay
from dialer.views.paging import next_cursor
from dialer.views.promises import find_promises, promise_view
from dialer.views.zones import zone_for
from dialer.wire import localized, localized_payload


def get_lead(session: Session, *, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id)
    # A lead its import has not finished does not exist yet, for anyone.
    if lead is None or lead.status == LeadStatus.importing:
        raise NotFound(f"lead {lead_id} does not exist", code="lead_not_found")
    return lead


def check_lead_access(session: Session, *, principal: Agent, lead: Lead) -> None:
    """Agents see only the lead they hold; managers see everything."""
    if principal.role == Role.manager:
        return
    claim = session.scalar(select(Claim).where(col(Claim.lead_id) == lead.id))
    if claim is None or claim.agent_id != principal.id:
        raise Forbidden("agents may read only the lead they hold", code="not_your_resource")


def _with_people(session: Session, lead: Lead) -> Overlay:
    phones = session.scalars(
        select(Phone)
        .where(col(Phone.lead_id) == lead.id)
        .order_by(col(Phone.position), col(Phone.id))
    )
    contacts = session.scalars(
        select(Contact).where(col(Contact.lead_id) == lead.id).order_by(col(Contact.id))
    )
    return Overlay(lead, phones=list(phones), contacts=list(contacts))


def lead_summary(session: Session, *, lead: Lead) -> LeadOut:
    out = LeadOut.model_validate(_with_people(session, lead), from_attributes=True)
    return localized(out, zone_for(lead))


# The lead's own fields in a summary (the rest, phones and contacts, are rows of
# their own).
_SUMMARY_FIELDS = tuple(name for name in LeadOut.model_fields if name not in ("phones", "contacts"))


def lead_summaries(session: Session, *, leads: list[Lead]) -> list[LeadOut]:
    """A page of leads with their phones and contacts: two queries for the page,
    not two per lead, and each lead validated from plain values (a search's page
    of 50 is mostly this Python)."""
    ids = [lead.id for lead in leads if lead.id is not None]
    if not ids:
        return []
    phones: dict[int, list[dict[str, object]]] = {lead_id: [] for lead_id in ids}
    contacts: dict[int, list[dict[str, object]]] = {lead_id: [] for lead_id in ids}
    for lead_id, number, retired in session.execute(
        select(col(Phone.lead_id), col(Phone.number), col(Phone.retired))
        .where(col(Phone.lead_id).in_(ids))
        .order_by(col(Phone.lead_id), col(Phone.position), col(Phone.id))
    ):
        phones[lead_id].append({"number": number, "retired": retired})
    for lead_id, name, role in session.execute(
        select(col(Contact.lead_id), col(Contact.name), col(Contact.role))
        .where(col(Contact.lead_id).in_(ids))
        .order_by(col(Contact.lead_id), col(Contact.id))
    ):
        contacts[lead_id].append({"name": name, "role": role})
    out = []
    for lead in leads:
        if lead.id is None:
            continue
        fields = {name: getattr(lead, name) for name in _SUMMARY_FIELDS}
        fields["phones"] = phones[lead.id]
        fields["contacts"] = contacts[lead.id]
        out.append(localized(LeadOut.model_validate(fields), zone_for(lead)))
    return out


def lead_detail(session: Session, *, lead: Lead) -> LeadDetail:
    calls = session.scalars(select(Call).where(col(Call.lead_id) == lead.id).order_by(col(Call.id)))
    conversions = session.scalars(
        select(Conversion).where(col(Conversion.lead_id) == lead.id).order_by(col(Conversion.id))
    )
    events = session.scalars(
        select(Event).where(col(Event.lead_id) == lead.id).order_by(col(Event.id))
    )
    promises = find_promises(session, lead_id=lead.id, limit=1000)
    assert lead.id is not None
    names = {lead.id: (lead.name, lead.company)}
    zone = zone_for(lead)
    out = LeadDetail.model_validate(
        Overlay(
            _with_people(session, lead),
            calls=list(calls),
            promises=[promise_view(p, names=names) for p in promises],
            conversions=list(conversions),
            # History details hold instants as text: shown in the zone too.
            events=[Overlay(e, detail=localized_payload(e.detail, zone)) for e in events],
        ),
        from_attributes=True,
    )
    return localized(out, zone)


def lead_page(
    session: Session,
    *,
    campaign_id: int,
    status: LeadStatus | None,
    limit: int,
    after_id: int | None,
) -> LeadList:
    get_campaign(session, campaign_id=campaign_id)
    query = (
        select(Lead)
        .where(col(Lead.campaign_id) == campaign_id, col(Lead.status) != LeadStatus.importing)
        .order_by(col(Lead.id))
        .limit(limit)
    )
    if status:
        query = query.where(col(Lead.status) == status)
    if after_id is not None:
        query = query.where(col(Lead.id) > after_id)
    leads = list(session.scalars(query))
    return LeadList(
        items=lead_summaries(session, leads=leads),
        next_cursor=next_cursor(leads, limit=limit),
    )
