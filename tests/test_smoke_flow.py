"""An agent works a simulated campaign end to end through the API."""

from __future__ import annotations

from helpers import Api

LEADS = (
    "name,phone,phone2,priority\n"
    "山田 太郎,090-1234-5678,,0\n"
    "佐藤 花子,03-1234-5678,080-1111-2222,5\n"
)


def test_agent_works_a_campaign_end_to_end(api: Api) -> None:
    campaign = api.campaign()
    report = api.import_csv(campaign["id"], LEADS)
    assert report.status_code == 201, report.text
    assert report.json()["accepted"] == 2
    agent = api.agent([campaign["id"]])

    # Higher priority first.
    got = api.next(agent)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["reason"] == "new" and body["lead"]["name"] == "佐藤 花子"
    lead_id = body["lead"]["id"]
    # Idempotent while held.
    assert api.next(agent).json()["lead"]["id"] == lead_id

    api.post("/api/admin/sim/outcomes", json={"phone": "03-1234-5678", "outcomes": ["no-answer"]})
    call = api.post(f"/api/leads/{lead_id}/calls", token=agent["token"], json={})
    assert call.status_code == 201, call.text
    assert call.json()["status"] in ("queued", "ringing")
    assert call.json()["to"] == "+81312345678"

    api.advance(30)
    lead = api.get(f"/api/leads/{lead_id}").json()
    assert lead["status"] == "scheduled"
    assert lead["attempts"] == 1
    assert lead["calls"][0]["status"] == "no-answer"
    kinds = [e["kind"] for e in lead["events"]]
    assert kinds[0] == "imported" and "claimed" in kinds and "call_placed" in kinds

    # The other lead is next; answer and convert it.
    got = api.next(agent).json()
    assert got["lead"]["name"] == "山田 太郎"
    api.post("/api/admin/sim/outcomes", json={"phone": "090-1234-5678", "outcomes": ["answered"]})
    call = api.post(f"/api/leads/{got['lead']['id']}/calls", token=agent["token"], json={}).json()
    assert call["status"] == "in-progress"
    api.advance(120)
    done = api.post(
        f"/api/calls/{call['id']}/disposition", token=agent["token"], json={"outcome": "converted"}
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed" and done.json()["duration"] == 120
    lead = api.get(f"/api/leads/{got['lead']['id']}").json()
    assert lead["status"] == "converted"
    assert lead["conversions"][0]["agent_id"] == agent["id"]
    # Nothing callable until the retry is due (30 minutes after the no-answer).
    assert api.next(agent).status_code == 204
    api.advance(1800)
    assert api.next(agent).json()["reason"] == "retry"
