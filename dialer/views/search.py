"""Finding a lead from what a customer says when they ring back: "you called me".

By phone (any format, normalized as imports do, against every phone of a lead,
retired ones too), by name or company (prefix of the folded form), by contract
number or external id (the whole folded form); see dialer.leads.search_keys.
Criteria given together must all hold. Staged leads of an unfinished import are
never found.

Every search is a range of one index read in the order the page is shown, so a
page costs the same on a million leads as on a hundred: the first criterion of
phone, external id, contract number, name, company drives (the most selective
kind first) and the others filter what it reads. Name and company results come
in the order of their key (code point order), the others by id. The cursor is the
last lead of a full page, as in every list; the next page starts after that
lead's place in the order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select, tuple_
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.campaign.service import get_campaign
from dialer.errors import Invalid
from dialer.leads.models import Lead, LeadStatus, Phone
from dialer.leads.phones import PhoneError, normalize_phone
from dialer.leads.schemas import LeadList
from dialer.leads.search_keys import (
    CONTRACT_KEY_MAX,
    EXTERNAL_KEY_MAX,
    NAME_KEY_MAX,
    id_key,
    prefix_end,
    text_key,
)
from dialer.views.leads import lead_summaries
from dialer.views.paging import next_cursor

# The criteria, in the order they are tried as the driving one.
CRITERIA = ("phone", "external_id", "contract_number", "name", "company")


@dataclass(frozen=True, slots=True)
class LeadQuery:
    phone: str | None = None
    external_id: str | None = None
    contract_number: str | None = None
    name: str | None = None
    company: str | None = None
    campaign_id: int | None = None
    status: LeadStatus | None = None


@dataclass(frozen=True, slots=True)
class _Criterion:
    field: str
    column: Any  # the key column compared, or Lead.id for a phone
    value: str
    prefix: bool


def _criteria(query: LeadQuery, *, region: str) -> list[_Criterion]:
    found: list[_Criterion] = []
    for field in CRITERIA:
        given: str | None = getattr(query, field)
        if given is None:
            continue
        if field == "phone":
            try:
                number = normalize_phone(given, region=region)
            except PhoneError as exc:
                raise Invalid(str(exc), code="invalid_phone", field="phone") from None
            found.append(_Criterion(field, col(Lead.id), number, prefix=False))
            continue
        if field in ("name", "company"):
            key = text_key(given, limit=NAME_KEY_MAX)
        else:
            key = id_key(
                given, limit=CONTRACT_KEY_MAX if field == "contract_number" else EXTERNAL_KEY_MAX
            )
        if key is None:
            raise Invalid(f"{field}: nothing to search for in {given!r}", field=field)
        column = {
            "name": Lead.name_key,
            "company": Lead.company_key,
            "contract_number": Lead.contract_key,
            "external_id": Lead.external_key,
        }[field]
        found.append(_Criterion(field, col(column), key, prefix=field in ("name", "company")))
    if not found:
        raise Invalid(
            "give at least one of " + ", ".join(CRITERIA) + " to search leads",
            code="no_search_criteria",
            field="phone",
        )
    return found


def _matching(criterion: _Criterion) -> list[Any]:
    if criterion.field == "phone":
        return [
            col(Lead.id).in_(select(col(Phone.lead_id)).where(col(Phone.number) == criterion.value))
        ]
    if not criterion.prefix:
        return [criterion.column == criterion.value]
    # A prefix as a range: the index's own order, on both engines (no LIKE, whose
    # index use depends on the engine, its collation and its escaping).
    clauses = [criterion.column >= criterion.value]
    end = prefix_end(criterion.value)
    if end is not None:
        clauses.append(criterion.column < end)
    return clauses


def search_statement(
    query: LeadQuery, *, region: str, limit: int, after: Lead | None
) -> Select[Lead]:
    """The page's statement: the driving criterion's index range, in its order."""
    criteria = _criteria(query, region=region)
    driver = criteria[0]
    statement = select(Lead).where(col(Lead.status) != LeadStatus.importing)
    for criterion in criteria:
        statement = statement.where(*_matching(criterion))
    if query.campaign_id is not None:
        # A filter, never the index driven by: `+ 0` keeps both planners off the
        # campaign's indexes, which would read the whole campaign and sort it
        # (SQLite prefers an equality to a range, whatever the sizes).
        statement = statement.where(col(Lead.campaign_id) + 0 == query.campaign_id)
    if query.status is not None:
        statement = statement.where(col(Lead.status) == query.status)
    if not driver.prefix:
        # An exact match: the index gives its rows in id order already.
        order = [col(Lead.id)]
        if after is not None:
            statement = statement.where(col(Lead.id) > after.id)
    else:
        order = [driver.column, col(Lead.id)]
        if after is not None:
            after_key = getattr(after, driver.column.key)
            if after_key is None:
                raise _stale_cursor(after.id)
            statement = statement.where(tuple_(driver.column, col(Lead.id)) > (after_key, after.id))
    return statement.order_by(*order).limit(limit)


def _stale_cursor(lead_id: int | None) -> Invalid:
    return Invalid(
        f"cursor {str(lead_id)!r} is not one this search gave", code="bad_cursor", field="cursor"
    )


def search_leads(
    session: Session,
    *,
    query: LeadQuery,
    limit: int,
    after_id: int | None,
    default_region: str,
) -> LeadList:
    """One page of the leads matching every criterion given. Phones in national
    format are read in the campaign's region, or `default_region` without one."""
    region = default_region
    if query.campaign_id is not None:
        region = get_campaign(session, campaign_id=query.campaign_id).default_region
    after = None
    if after_id is not None:
        after = session.get(Lead, after_id)
        if after is None or after.status == LeadStatus.importing:
            raise _stale_cursor(after_id)
    statement = search_statement(query, region=region, limit=limit, after=after)
    leads = list(session.scalars(statement))
    return LeadList(
        items=lead_summaries(session, leads=leads), next_cursor=next_cursor(leads, limit=limit)
    )
