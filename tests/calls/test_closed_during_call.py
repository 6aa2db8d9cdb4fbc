"""A lead closed by another channel while its call rings (the customer signs up
on the web meanwhile): the call's end is recorded, the lead stays converted and
is not scheduled again, whatever the provider then reports."""

from __future__ import annotations

import pytest

from helpers import Api


@pytest.mark.parametrize("outcome", ["no-answer", "busy", "machine"])
def test_an_unanswered_end_after_a_web_sign_up_leaves_the_lead_converted(
    api: Api, outcome: str
) -> None:
    c = api.campaign()
    assert api.import_csv(c["id"], "name,phone\nYamada,090-8800-0101\n").status_code == 201
    sato = api.agent([c["id"]])
    lead = api.next(sato).json()["lead"]
    api.post("/api/admin/sim/outcomes", json={"phone": "090-8800-0101", "outcomes": [outcome]})
    call = api.post(f"/api/leads/{lead['id']}/calls", token=sato["token"], json={}).json()
    assert call["status"] in ("queued", "ringing")
    r = api.post(
        "/api/conversions",
        json={"campaign_id": c["id"], "reference": "WEB-9", "channel": "web",
              "phone": "090-8800-0101"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    api.advance(120)  # the ring ends, unanswered (or a machine)
    ended = api.get(f"/api/calls/{call['id']}").json()
    assert ended["disposition"] is not None and ended["ended_at"] is not None
    after = api.get(f"/api/leads/{lead['id']}").json()
    assert after["status"] == "converted"
    assert after["next_attempt_at"] is None
    kinds = [e["kind"] for e in after["events"]]
    assert "retry_scheduled" not in kinds
    assert kinds.count("conversion") == 1
