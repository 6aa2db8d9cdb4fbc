"""The simulated provider's dial written in hand-written SQL
(SimulatedTelephony._ringing): the call's sid, its scripted outcome and
instant and its ringing status in one UPDATE, the session's row kept in step
(nothing left to flush, nothing stale), and the report's record as the ORM's
`apply_status_update` writes it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from helpers import Api
from sqlalchemy import inspect, select

from dialer.agents.queue import claim_for_dialer
from dialer.calls.models import Call, CallStatus
from dialer.calls.placing import place_call
from dialer.leads.models import Event
from dialer.telephony.simulated import Lognormal

PHONE = "090-8800-0201"


@pytest.mark.parametrize("outcome", ["no-answer", "answered"])
def test_a_simulated_dial_is_one_raw_update_and_its_record(
    api: Api, monkeypatch: pytest.MonkeyPatch, outcome: str
) -> None:
    c = api.campaign(dial_mode="predictive", caller_id="+81312345678", cps=10)
    assert api.import_csv(c["id"], f"name,phone\nL0,{PHONE}\n").status_code == 201
    api.post("/api/admin/sim/outcomes", json={"phone": PHONE, "outcomes": [outcome]})
    runtime: Any = api.client.app.state.runtime  # type: ignore[attr-defined]
    # An answered call rings first (as on a simulated floor), then is answered.
    monkeypatch.setattr(runtime.telephony, "ring", Lognormal(10.0, 5.0))
    with runtime.db.work() as work:
        session = work.session
        now = runtime.now_in(session)
        (lead_id,) = claim_for_dialer(
            work, campaign_id=c["id"], count=1, now=now, ttl=timedelta(minutes=5),
            no_recall_since=None,
        )  # fmt: skip
        call = place_call(
            session, principal=None, lead_id=lead_id, phone=None, now=now,
            telephony=runtime.telephony, dial=lambda _call_id: None,
        )  # fmt: skip
        state = inspect(call)
        assert not state.modified and not state.expired_attributes
        assert not session.dirty and not session.new
        assert call.status == CallStatus.ringing and call.provider_sid == f"SIM{call.id:010d}"
        assert call.sim_outcome == outcome and call.sim_final_at is not None
        assert call.sim_final_at > now
        if outcome == "no-answer":
            assert call.sim_final_at == now + runtime.telephony.ring_timeout
        stored = session.execute(
            select(
                Call.status, Call.answered_by, Call.provider_sid, Call.sim_outcome,
                Call.sim_final_at,
            ).where(Call.id == call.id)
        ).one()  # fmt: skip
        assert tuple(stored) == (
            call.status, call.answered_by, call.provider_sid, call.sim_outcome, call.sim_final_at,
        )  # fmt: skip
        events = session.scalars(
            select(Event).where(Event.lead_id == lead_id).order_by(Event.id)
        ).all()
        assert [(e.kind, e.actor) for e in events[-2:]] == [
            ("call_placed", "dialer"),
            ("call_status", "provider:simulated"),
        ]
        assert events[-1].detail == {"call_id": call.id, "status": "ringing", "answered_by": None}
