from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Index, String, UniqueConstraint, event, inspect, text
from sqlmodel import Field, SQLModel

from dialer.db import instant_column, json_column
from dialer.leads.search_keys import (
    CONTRACT_KEY_MAX,
    EXTERNAL_KEY_MAX,
    NAME_KEY_MAX,
    lead_keys,
)


class LeadStatus(StrEnum):
    # Internal, never shown: staged by an import that has not finished (see
    # dialer.leads.importer). Listings, lookups and the queue all skip it.
    importing = "importing"
    new = "new"
    scheduled = "scheduled"
    claimed = "claimed"
    awaiting_external = "awaiting_external"
    converted = "converted"
    refused = "refused"
    dnc = "dnc"
    exhausted = "exhausted"
    invalid = "invalid"


TERMINAL_STATUSES: frozenset[str] = frozenset(
    {
        LeadStatus.converted,
        LeadStatus.refused,
        LeadStatus.dnc,
        LeadStatus.exhausted,
        LeadStatus.invalid,
    }
)


class NextAttemptReason(StrEnum):
    """Why `next_attempt_at` holds a lead back: eligibility and the queue summary
    name the rule without recomputing the retry decision."""

    retry_delay = "retry_delay"
    daily_limit = "daily_limit"
    calling_hours = "calling_hours"
    promise = "promise"


def _partial(name: str, *columns: str, where: str) -> Index:
    """An index of the rows where `where` holds, on both engines."""
    return Index(name, *columns, sqlite_where=text(where), postgresql_where=text(where))


def _key_type(length: int) -> String:
    """Keys compare in code point order on both engines (SQLite's BINARY): a
    prefix is then a range of the index, whatever the database's own collation."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")  # type: ignore[return-value]


# The search keys (dialer.leads.search_keys) of the fields they fold: written with
# the lead, by the import (dialer.leads.prepare) and by every ORM write (below).
SEARCH_KEYS: dict[str, str] = {
    "name_key": "name",
    "company_key": "company",
    "contract_key": "contract_number",
    "external_key": "external_id",
}


class Lead(SQLModel, table=True):
    # Partial indexes: a new lead has no next attempt, reservation, external id
    # or contract number yet, so a million-row import (and its `importing → new`
    # flip) writes none of these; every query on them compares the column, which
    # implies the index's condition.
    __table_args__ = (
        # Queue tiers: "retry due, earliest first" and "new, priority then import order".
        _partial(
            "ix_lead_queue_retry",
            "campaign_id",
            "status",
            "next_attempt_at",
            "id",
            where="next_attempt_at IS NOT NULL",
        ),
        _partial(
            "ix_lead_campaign_external",
            "campaign_id",
            "external_id",
            where="external_id IS NOT NULL",
        ),
        _partial(
            "ix_lead_campaign_contract",
            "campaign_id",
            "contract_number",
            where="contract_number IS NOT NULL",
        ),
        # The promise tier: promises due in a campaign (own and anyone's, few at a time).
        _partial(
            "ix_lead_queue_promise",
            "campaign_id",
            "status",
            "next_attempt_reason",
            "next_attempt_at",
            where="next_attempt_at IS NOT NULL",
        ),
        _partial("ix_lead_reserved_until", "reserved_until", where="reserved_until IS NOT NULL"),
        # Lead search (dialer.views.search): each key with the id, so a page is a
        # range of one index in the order it is shown, whatever the campaign.
        *(_partial(f"ix_lead_{key}", key, "id", where=f"{key} IS NOT NULL") for key in SEARCH_KEYS),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    import_id: int | None = Field(default=None, foreign_key="lead_import.id", index=True)
    status: str = Field(default=LeadStatus.new, sa_type=String(24))
    name: str | None = Field(default=None, sa_type=String(300))
    company: str | None = Field(default=None, sa_type=String(300))
    priority: int = 0
    current_provider: str | None = Field(default=None, sa_type=String(200))
    contract_number: str | None = Field(default=None, sa_type=String(64))
    postal_code: str | None = Field(default=None, sa_type=String(16))
    prefecture: str | None = Field(default=None, sa_type=String(32))
    timezone: str = Field(sa_type=String(64))
    external_id: str | None = Field(default=None, sa_type=String(128))
    notes: str | None = None
    name_key: str | None = Field(default=None, sa_type=_key_type(NAME_KEY_MAX))
    company_key: str | None = Field(default=None, sa_type=_key_type(NAME_KEY_MAX))
    contract_key: str | None = Field(default=None, sa_type=_key_type(CONTRACT_KEY_MAX))
    external_key: str | None = Field(default=None, sa_type=_key_type(EXTERNAL_KEY_MAX))
    attempts: int = 0
    # Attempts the campaign initiated; promise calls and their follow-ups are
    # requested by the customer and don't count against the caps.
    unsolicited_attempts: int = 0
    day_attempts: int = 0
    day_attempts_date: str | None = Field(default=None, sa_type=String(10))
    failure_counts: dict[str, int] = Field(sa_column=json_column())
    next_attempt_at: datetime | None = Field(default=None, sa_column=instant_column())
    next_attempt_reason: str | None = Field(default=None, sa_type=String(24))
    # The promise that governs the next attempt (open, missed, or being followed
    # up); set exactly when `next_attempt_reason` is `promise`.
    promise_id: int | None = Field(default=None)
    # Only this agent may take the lead, until `reserved_until` (None: no end).
    reserved_agent_id: int | None = Field(default=None)
    reserved_until: datetime | None = Field(default=None, sa_column=instant_column())
    last_attempt_at: datetime | None = Field(default=None, sa_column=instant_column())
    last_outcome: str | None = Field(default=None, sa_type=String(24))
    # The lead's last abandoned call (answered, no agent in time): no unreserved
    # call again within the policy's no_recall_hours. Written by lifecycle only.
    abandoned_at: datetime | None = Field(default=None, sa_column=instant_column())
    extra: dict[str, Any] = Field(sa_column=json_column())
    raw: dict[str, Any] = Field(sa_column=json_column())
    created_at: datetime = Field(sa_column=instant_column(nullable=False))
    updated_at: datetime = Field(sa_column=instant_column(nullable=False))


_lead_columns = Lead.__table__.c  # type: ignore[attr-defined]
Index(
    "ix_lead_queue_new",
    _lead_columns.campaign_id,
    _lead_columns.status,
    _lead_columns.priority.desc(),
    _lead_columns.id,
)


class Phone(SQLModel, table=True):
    """A number belongs to at most one lead per campaign: the unique constraint is
    what keeps two concurrent imports from creating the same household twice."""

    __table_args__ = (UniqueConstraint("campaign_id", "number", name="uq_phone_campaign_number"),)

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    number: str = Field(sa_type=String(20), index=True)
    position: int = 0
    retired: bool = False
    retired_reason: str | None = Field(default=None, sa_type=String(64))


class ContactRole(StrEnum):
    registrant = "registrant"
    decision_maker = "decision_maker"
    user = "user"
    other = "other"


class Contact(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True)
    name: str = Field(sa_type=String(300))
    role: str = Field(default=ContactRole.registrant, sa_type=String(32))


class Event(SQLModel, table=True):
    """Append-only history of a lead. Never updated, never deleted."""

    __table_args__ = (Index("ix_event_lead_at", "lead_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id")
    at: datetime = Field(sa_column=instant_column(nullable=False))
    kind: str = Field(sa_type=String(40))
    actor: str = Field(sa_type=String(64))
    detail: dict[str, Any] = Field(sa_column=json_column())


class ImportStatus(StrEnum):
    running = "running"
    done = "done"
    failed = "failed"


class LeadImport(SQLModel, table=True):
    __tablename__ = "lead_import"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    status: str = Field(default=ImportStatus.running, sa_type=String(16))
    filename: str | None = Field(default=None, sa_type=String(500))
    encoding: str | None = Field(default=None, sa_type=String(32))
    delimiter: str | None = Field(default=None, sa_type=String(4))
    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    invalid: int = 0
    suppressed: int = 0
    # Progress: the uploaded file's size, and how far the processing has read it
    # (equal once done), so a progress bar can show rows processed as a fraction.
    # (DIALER_MAX_UPLOAD_MB allows files past 2 GiB: 64-bit counts.)
    size_bytes: int = Field(default=0, sa_type=BigInteger)
    bytes_read: int = Field(default=0, sa_type=BigInteger)
    error: str | None = None
    created_by: str = Field(default="system", sa_type=String(64))
    created_at: datetime = Field(sa_column=instant_column(nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=instant_column())
    # Wall-clock liveness of the process running the import (not domain time:
    # a frozen simulated clock must not make a live import look dead).
    heartbeat_at: datetime | None = Field(default=None, sa_column=instant_column())
    # The process running the import: host, boot, pid namespace, pid, start time
    # (dialer.leads.importer.process_owner), so a start-up can tell a dead import
    # from one another live worker is running.
    owner: str | None = Field(default=None, sa_type=String(500))


class RowErrorKind(StrEnum):
    invalid = "invalid"
    duplicate = "duplicate"
    suppressed = "suppressed"


class ImportRowError(SQLModel, table=True):
    __tablename__ = "import_row_error"
    __table_args__ = (Index("ix_import_row_error_import_row", "import_id", "row"),)

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = Field(foreign_key="lead_import.id")
    row: int
    kind: str = Field(sa_type=String(16))
    field: str | None = Field(default=None, sa_type=String(64))
    reason: str
    raw: dict[str, Any] = Field(sa_column=json_column())


@event.listens_for(Lead, "before_insert")
def _keys_of_a_new_lead(_mapper: Any, _connection: Any, lead: Lead) -> None:
    _fill_search_keys(lead)


@event.listens_for(Lead, "before_update")
def _keys_of_a_changed_lead(_mapper: Any, _connection: Any, lead: Lead) -> None:
    # Most updates are status and schedule: fold only when a searched field moved.
    state = inspect(lead)
    if any(state.attrs[field].history.has_changes() for field in SEARCH_KEYS.values()):
        _fill_search_keys(lead)


def _fill_search_keys(lead: Lead) -> None:
    """A lead written through the ORM (a disposition that learns the contract
    number, a test's lead) keeps its search keys in step with its fields; the
    import writes them itself (dialer.leads.prepare)."""
    (lead.name_key, lead.company_key, lead.contract_key, lead.external_key) = lead_keys(
        name=lead.name,
        company=lead.company,
        contract_number=lead.contract_number,
        external_id=lead.external_id,
    )
