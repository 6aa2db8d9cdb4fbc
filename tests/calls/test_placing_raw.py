"""The dial's hand-written write path (dialer.calls.placing.place_call): the
attempt's row inserted raw and attached to the session as that persistent row,
the lead's counters counted raw (dialer.leads.lifecycle.count_attempt_raw) by
the same rule as the ORM's `count_attempt`, and a lead the session already
holds kept in step, so nothing is stale or left to flush."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers import Api
from sqlalchemy import func, inspect, select

from dialer.agents.queue import claim_for_dialer
from dialer.calls.models import Call, CallStatus
from dialer.calls.placing import place_call
from dialer.leads import lifecycle
from dialer.leads.lifecycle import Attempts
from dialer.leads.models import Event, Lead

CALLER_ID = "+81312345678"
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("before", "for_promise", "local_date", "after"),
    [
        # A first attempt: the day starts at 1.
        (Attempts(0, 0, 0, None), False, "2026-12-01", Attempts(1, 1, 1, "2026-12-01")),
        # Same local day: the day's count goes on.
        (Attempts(2, 2, 2, "2026-12-01"), False, "2026-12-01", Attempts(3, 3, 3, "2026-12-01")),
        # A new local day: the day's count starts again.
        (Attempts(3, 3, 3, "2026-11-30"), False, "2026-12-01", Attempts(4, 4, 1, "2026-12-01")),
        # A promise call counts in attempts only, not against the caps.
        (Attempts(3, 2, 2, "2026-11-30"), True, "2026-12-01", Attempts(4, 2, 2, "2026-11-30")),
    ],
)
def test_an_attempt_is_counted(
    before: Attempts, for_promise: bool, local_date: str, after: Attempts
) -> None:
    assert lifecycle.counted(before, for_promise=for_promise, local_date=local_date) == after
    # The ORM's count applies the very rule.
    lead = Lead(
        campaign_id=1,
        timezone="Asia/Tokyo",
        attempts=before.attempts,
        unsolicited_attempts=before.unsolicited_attempts,
        day_attempts=before.day_attempts,
        day_attempts_date=before.day_attempts_date,
        failure_counts={},
        extra={},
        raw={},
        created_at=NOW,
        updated_at=NOW,
    )
    lifecycle.count_attempt(lead=lead, for_promise=for_promise, local_date=local_date, now=NOW)
    assert (
        lead.attempts,
        lead.unsolicited_attempts,
        lead.day_attempts,
        lead.day_attempts_date,
    ) == (after.attempts, after.unsolicited_attempts, after.day_attempts, after.day_attempts_date)


def _runtime(api: Api) -> Any:
    return api.client.app.state.runtime  # type: ignore[attr-defined]


def _campaign(api: Api, leads: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    c = api.campaign(dial_mode="predictive", seller_name="関東でんき", caller_id=CALLER_ID, cps=10)
    rows = "".join(f"L{i},090-7000-{i:04d}\n" for i in range(leads))
    assert api.import_csv(c["id"], "name,phone\n" + rows).status_code == 201
    items = api.get(f"/api/campaigns/{c['id']}/leads").json()["items"]
    return c, sorted(items, key=lambda x: x["id"])


@pytest.mark.parametrize("held", [False, True], ids=["lead not held", "lead held"])
def test_a_dial_writes_its_call_and_count_raw_and_keeps_the_session_in_step(
    api: Api, held: bool
) -> None:
    c, leads = _campaign(api, 1)
    lead_id = leads[0]["id"]
    runtime = _runtime(api)

    def dial(_call_id: int) -> None:
        return None

    with runtime.db.work() as work:
        session = work.session
        now = runtime.now_in(session)
        assert claim_for_dialer(
            work, campaign_id=c["id"], count=1, now=now, ttl=timedelta(minutes=5),
            no_recall_since=None,
        ) == [lead_id]  # fmt: skip
        lead = session.get(Lead, lead_id) if held else None
        if lead is not None:
            # Counted through the ORM, not flushed: the dial must see it (its
            # raw read comes after the session's flush).
            lead.attempts = 5
        call = place_call(
            session, principal=None, lead_id=lead_id, phone=None, now=now,
            telephony=runtime.telephony, dial=dial,
        )  # fmt: skip
        state = inspect(call)
        assert state.persistent and not state.expired_attributes
        assert call.id is not None and call.to == "+819070000000"
        assert not session.dirty and not session.new
        if lead is not None:
            # The held row says what the raw count wrote: nothing stale, nothing to flush.
            assert (lead.attempts, lead.unsolicited_attempts, lead.day_attempts) == (6, 1, 1)
            assert lead.last_attempt_at == now and lead.updated_at == now
            assert not inspect(lead).modified
        # The provider's changes to the attached call were written by the ORM.
        row = session.execute(
            select(Call.status, Call.provider_sid, Call.created_at).where(Call.id == call.id)
        ).one()
        assert row.status == call.status and row.status != CallStatus.queued
        assert row.provider_sid == call.provider_sid and row.created_at == now
        counters = session.execute(
            select(Lead.attempts, Lead.unsolicited_attempts, Lead.day_attempts).where(
                Lead.id == lead_id
            )
        ).one()
        assert tuple(counters) == (6 if held else 1, 1, 1)
        placed = session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.lead_id == lead_id, Event.kind == "call_placed")
        )
        assert placed == 1
