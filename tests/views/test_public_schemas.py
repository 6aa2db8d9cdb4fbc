"""Output and input schemas typed by the domain enums: the internal lead status
never goes out, and an agent records only the outcomes that are an agent's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from dialer.calls.models import Outcome
from dialer.calls.outcomes import AGENT_OUTCOMES
from dialer.calls.schemas import DispositionIn
from dialer.conversions.schemas import ConversionIn
from dialer.leads.models import LeadStatus
from dialer.leads.schemas import PUBLIC_LEAD_STATUSES, LeadOut
from dialer.views.overlay import Overlay

AT = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)


def _lead(status: str) -> dict[str, Any]:
    return {
        "id": 1,
        "campaign_id": 1,
        "status": status,
        "name": None,
        "company": None,
        "priority": 0,
        "current_provider": None,
        "contract_number": None,
        "postal_code": None,
        "prefecture": None,
        "timezone": "Asia/Tokyo",
        "external_id": None,
        "notes": None,
        "phones": [],
        "contacts": [],
        "attempts": 0,
        "next_attempt_at": None,
        "last_attempt_at": None,
        "last_outcome": None,
        "import_id": None,
        "extra": {},
        "raw": {},
        "created_at": AT,
        "updated_at": AT,
    }


def test_public_statuses_are_every_status_but_importing() -> None:
    assert set(PUBLIC_LEAD_STATUSES) == set(LeadStatus) - {LeadStatus.importing}
    assert list(PUBLIC_LEAD_STATUSES) == [s for s in LeadStatus if s != LeadStatus.importing]


@pytest.mark.parametrize("status", list(LeadStatus))
def test_a_lead_goes_out_in_any_status_but_importing(status: LeadStatus) -> None:
    for given in (status, status.value):
        if status is LeadStatus.importing:
            with pytest.raises(ValidationError):
                LeadOut.model_validate(_lead(given))
        else:
            out = LeadOut.model_validate(_lead(given))
            assert out.status is status
            assert out.model_dump(mode="json")["status"] == status.value


def test_the_documented_lead_status_omits_importing() -> None:
    schema = LeadOut.model_json_schema(mode="serialization")
    assert schema["properties"]["status"]["enum"] == [s.value for s in PUBLIC_LEAD_STATUSES]


@pytest.mark.parametrize("outcome", list(Outcome))
def test_an_agent_records_only_agent_outcomes(outcome: Outcome) -> None:
    if outcome in AGENT_OUTCOMES:
        assert DispositionIn.model_validate({"outcome": outcome.value}).outcome_enum() is outcome
        return
    with pytest.raises(ValidationError) as caught:
        DispositionIn.model_validate({"outcome": outcome.value})
    (error,) = caught.value.errors()
    assert error["loc"] == ("outcome",) and error["type"] == "literal_error"


def test_agent_outcomes_are_documented_in_the_enum_order() -> None:
    schema = DispositionIn.model_json_schema()
    assert schema["properties"]["outcome"]["enum"] == [o for o in Outcome if o in AGENT_OUTCOMES]
    assert {Outcome.failed, Outcome.abandoned}.isdisjoint(AGENT_OUTCOMES)


def test_a_subset_given_in_order_keeps_its_order() -> None:
    # The 422 for a bad channel has always named them web, postcard, phone, other.
    assert ConversionIn.model_json_schema()["properties"]["channel"]["enum"] == [
        "web",
        "postcard",
        "phone",
        "other",
    ]


class _Row:
    def __init__(self) -> None:
        self.name = "row"
        self.kept = 1


def test_overlay_puts_extras_in_front_of_the_row() -> None:
    view = Overlay(_Row(), name="extra", more=[1])
    assert (view.name, view.kept, view.more) == ("extra", 1, [1])
    with pytest.raises(AttributeError):
        _ = view.missing
