"""Each kind of search and call list reads one index range in the order it shows
(the plans below are what make them fast on a million leads: docs/BENCHMARKS.md).
Checked against the planner of both engines with the views' own statements, so a
rewritten query that loses its index fails here, not as a slow search."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Select, text

from dialer.db import Database, is_postgres
from dialer.leads.models import Lead, LeadStatus
from dialer.views.calls import CallQuery, calls_statement
from dialer.views.search import LeadQuery, search_statement

AFTER = Lead(id=5, campaign_id=1, status=LeadStatus.new, name_key="山田", company_key="abc")
AT = datetime(2026, 12, 1, tzinfo=UTC)

# (what, statement, the index the planner must use)
CASES: list[tuple[str, Select[tuple[object]] | Select[object], str]] = [
    (
        "phone",
        search_statement(LeadQuery(phone="090-1234-5678"), region="JP", limit=50, after=None),
        "ix_phone_number",
    ),
    (
        "name",
        search_statement(LeadQuery(name="山田"), region="JP", limit=50, after=None),
        "ix_lead_name_key",
    ),
    (
        "name, next page",
        search_statement(LeadQuery(name="山田"), region="JP", limit=50, after=AFTER),
        "ix_lead_name_key",
    ),
    (
        "name in a campaign",
        search_statement(LeadQuery(name="山", campaign_id=1), region="JP", limit=50, after=None),
        "ix_lead_name_key",
    ),
    (
        "company",
        search_statement(LeadQuery(company="ABC"), region="JP", limit=50, after=AFTER),
        "ix_lead_company_key",
    ),
    (
        "contract number",
        search_statement(LeadQuery(contract_number="0312-3456"), region="JP", limit=50, after=None),
        "ix_lead_contract_key",
    ),
    (
        "external id",
        search_statement(
            LeadQuery(external_id="CRM-1", name="x"), region="JP", limit=50, after=None
        ),
        "ix_lead_external_key",
    ),
    (
        "calls of an agent",
        calls_statement(CallQuery(agent_id=1, since=AT), limit=50, after=None),
        "ix_call_agent_created",
    ),
    (
        "calls of a campaign",
        calls_statement(CallQuery(campaign_id=1, until=AT), limit=50, after=(AT, 9)),
        "ix_call_campaign_created",
    ),
    (
        "calls of a lead",
        calls_statement(CallQuery(lead_id=1), limit=50, after=None),
        "ix_call_lead",
    ),
    (
        "every call",
        calls_statement(CallQuery(since=AT, until=AT), limit=50, after=(AT, 9)),
        "ix_call_created",
    ),
]


@pytest.mark.parametrize(("what", "statement", "index"), CASES, ids=[c[0] for c in CASES])
def test_each_search_uses_its_index(
    db_url: str, what: str, statement: Select[tuple[object]], index: str
) -> None:
    db = Database(db_url)
    try:
        with db.read() as session:
            compiled = statement.compile(
                dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
            )
            if is_postgres(session):
                # An empty table is cheapest to scan; ask which index the planner *can* use.
                session.execute(text("SET LOCAL enable_seqscan = off"))
                plan = session.execute(text(f"EXPLAIN {compiled}")).all()
            else:
                plan = session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            lines = "\n".join(" ".join(str(cell) for cell in row) for row in plan)
    finally:
        db.dispose()
    assert index in lines, f"{what}: {lines}"
    # In the order shown: no sort of the whole match (SQLite says "TEMP B-TREE").
    if what not in ("phone", "calls of a lead"):
        assert "TEMP B-TREE" not in lines and "Sort" not in lines, f"{what}: {lines}"
