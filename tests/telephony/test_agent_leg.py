"""The agent leg end to end: the app in twilio mode over real HTTP, the local
Twilio-compatible server executing the TwiML it answers (`<Dial action>`,
`<Pause>`/`<Redirect>` while AMD decides, `<Say>`, FallbackUrl), and what the
dialer records: the bridge's DialCallStatus, an agent who did not pick up, the
campaign's abandon message, and who answered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fake_twilio import FakeTwilio, TwimlRun
from helpers import LiveServer, live_twilio, ringing_call
from sqlalchemy import select
from sqlmodel import col

from dialer.agents.models import AgentEvent

ACCOUNT = "AC" + "2" * 32
TOKEN = "agent-leg-test-token"
SELLER = "関東でんきサービス"
REASON = "電気料金プランのご案内"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(account_sid=ACCOUNT, auth_token=TOKEN) as server:
        yield server


@pytest.fixture
def live(db_url: str, fake: FakeTwilio, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    server = live_twilio(
        db_url,
        account=ACCOUNT,
        token=TOKEN,
        api_base=fake.base_url,
        **getattr(request, "param", {}),
    )
    try:
        yield server
    finally:
        server.close()


def _placed(
    live: LiveServer, fake: FakeTwilio, **campaign: Any
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    return ringing_call(live, fake, phone="090-4700-0001", **{"name": "Agent leg", **campaign})


def _call(live: LiveServer, call: dict[str, Any]) -> dict[str, Any]:
    got: dict[str, Any] = live.http.get(f"/api/calls/{call['id']}").json()
    return got


def _agent(live: LiveServer, agent: dict[str, Any]) -> dict[str, Any]:
    got: dict[str, Any] = live.http.get(f"/api/agents/{agent['id']}").json()
    return got


def _events(live: LiveServer, kind: str) -> list[AgentEvent]:
    with live.runtime.db.read() as session:
        return list(
            session.scalars(
                select(AgentEvent).where(col(AgentEvent.kind) == kind).order_by(col(AgentEvent.id))
            )
        )


def _only_message(run: TwimlRun) -> tuple[str, dict[str, str]]:
    assert [verb for verb, _attrs, _text in run.verbs] == ["Say", "Hangup"], run.documents
    assert run.hung_up and run.dial is None
    return run.said[0]


def test_the_agent_leg_rings_for_its_own_timeout_and_an_answer_ends_the_call(
    live: LiveServer, fake: FakeTwilio
) -> None:
    _c, agent, call = _placed(live, fake)
    run = fake.answer(call["provider_sid"])
    assert run.dial is not None and run.dial["endpoint"] == "Client:a0"
    assert run.dial["timeout"] == "15"  # not the customer leg's 25
    assert run.dial["action"] == f"dial?call={call['id']}"
    done = fake.end_dial(call["provider_sid"], run, "completed", duration=42)
    assert done.requests == [(f"{live.url}/webhooks/twilio/dial?call={call['id']}", 200)]
    assert done.hung_up and done.said == []
    got = _call(live, call)
    assert got["agent_leg_status"] == "completed" and got["disposition"] is None
    assert _agent(live, agent)["state"] == "available"


@pytest.mark.parametrize("live", [{"DIALER_AGENT_RING_TIMEOUT_SECONDS": "20"}], indirect=True)
def test_the_agent_ring_timeout_is_a_setting(live: LiveServer, fake: FakeTwilio) -> None:
    _c, _agent, call = _placed(live, fake)
    run = fake.answer(call["provider_sid"])
    assert run.dial is not None and run.dial["timeout"] == "20"


@pytest.mark.parametrize("dial_status", ["no-answer", "busy", "failed", "canceled"])
def test_an_agent_who_does_not_pick_up_is_not_answering_and_the_customer_hears_the_message(
    live: LiveServer, fake: FakeTwilio, dial_status: str
) -> None:
    c, agent, call = _placed(
        live, fake, seller_name=SELLER, call_reason=REASON, callback_number="+81120123456",
        tts_voice="Polly.Takumi",
    )  # fmt: skip
    run = fake.answer(call["provider_sid"])
    assert run.dial is not None
    after = fake.end_dial(call["provider_sid"], run, dial_status)
    text, attrs = _only_message(after)
    # The seller and the reason first (特定商取引法 §16), then a number to call back.
    assert text.startswith(f"{SELLER}でございます。{REASON}でお電話いたしました")
    assert "0 1 2 0、1 2 3、4 5 6" in text
    assert attrs == {"voice": "Polly.Takumi", "language": "ja-JP"}
    got = _call(live, call)
    assert got["agent_leg_status"] == dial_status
    assert got["disposition"] == "abandoned" and got["answered_by"] == "unknown"
    lead = live.http.get(f"/api/leads/{call['lead_id']}").json()
    assert lead["status"] == "scheduled"  # the retry policy applies
    assert [e["kind"] for e in lead["events"]].count("agent_leg") == 1
    # Paused by the system: no more leads until the agent is back.
    assert _agent(live, agent)["state"] == "not_answering"
    auth = {"Authorization": f"Bearer {agent['token']}"}
    r = live.http.post(f"/api/agents/{agent['id']}/next", headers=auth)
    assert r.status_code == 409 and r.json()["code"] == "agent_not_available"
    told = _events(live, "agent_not_answering")
    assert [(e.agent_id, e.campaign_id) for e in told] == [(agent["id"], c["id"]), (None, c["id"])]
    assert told[1].payload["for_agent_id"] == agent["id"]
    # Twilio asking again changes nothing more.
    again = fake.end_dial(call["provider_sid"], run, dial_status)
    assert _only_message(again)[0] == text
    assert len(_events(live, "agent_not_answering")) == 2
    # The agent cannot claim the system's state; `available` brings them back.
    r = live.http.put(f"/api/agents/{agent['id']}/state", headers=auth,
                      json={"state": "not_answering"})  # fmt: skip
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    r = live.http.put(f"/api/agents/{agent['id']}/state", headers=auth, json={"state": "available"})
    assert r.status_code == 200 and r.json()["state"] == "available"


def test_a_customer_who_hangs_up_while_the_agent_rings_does_not_blame_the_agent(
    live: LiveServer, fake: FakeTwilio
) -> None:
    _c, agent, call = _placed(live, fake)
    run = fake.answer(call["provider_sid"])
    fake.set_call_status(call["provider_sid"], "completed")  # the parent call ended
    fake.end_dial(call["provider_sid"], run, "no-answer")
    assert _call(live, call)["disposition"] == "abandoned"
    assert _agent(live, agent)["state"] == "available"


def test_the_default_message_names_the_campaign_and_its_caller_id(
    live: LiveServer, fake: FakeTwilio
) -> None:
    _c, _agent, call = _placed(live, fake, name="さくら電力")
    run = fake.answer(call["provider_sid"])
    text, attrs = _only_message(fake.end_dial(call["provider_sid"], run, "no-answer"))
    assert text.startswith("さくら電力でございます。お電話いたしましたが")
    assert "0 3、1 2 3 4、5 6 7 8" in text  # +81312345678, read digit by digit
    assert attrs == {"voice": "Polly.Mizuki", "language": "ja-JP"}


def test_the_fallback_url_answers_with_the_message(live: LiveServer, fake: FakeTwilio) -> None:
    _c, _agent, call = _placed(live, fake, abandon_message="ただいま混み合っております。")
    run = fake.answer(call["provider_sid"], voice_fails="11200")
    assert run.requests == [(f"{live.url}/webhooks/twilio/fallback?call={call['id']}", 200)]
    assert _only_message(run)[0] == "ただいま混み合っております。"
    got = _call(live, call)
    assert got["disposition"] == "abandoned"
    lead = live.http.get(f"/api/leads/{call['lead_id']}").json()
    abandoned = [e for e in lead["events"] if e["kind"] == "call_abandoned"]
    assert "11200" in abandoned[0]["detail"]["why"]


def test_the_fallback_answers_even_for_a_call_it_cannot_find(
    live: LiveServer, fake: FakeTwilio
) -> None:
    _c, _agent, call = _placed(live, fake)
    with fake._lock:
        fake.calls[call["provider_sid"]]["_params"]["FallbackUrl"] = [
            f"{live.url}/webhooks/twilio/fallback?call=999999"
        ]
    run = fake.answer(call["provider_sid"], voice_fails="11205")
    said, attrs = _only_message(run)
    assert said and attrs["language"] == "ja-JP" and attrs["voice"].startswith("Polly.")


# --- contacts are people ---


def test_without_amd_who_answered_is_unknown_until_the_disposition(
    live: LiveServer, fake: FakeTwilio
) -> None:
    _c, agent, call = _placed(live, fake)
    assert fake.send_status(call["provider_sid"], "in-progress").status_code == 204
    assert _call(live, call)["answered_by"] == "unknown"
    auth = {"Authorization": f"Bearer {agent['token']}"}
    r = live.http.post(f"/api/calls/{call['id']}/disposition", headers=auth,
                       json={"outcome": "machine"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert _call(live, call)["answered_by"] == "machine"


def test_with_amd_a_human_verdict_before_the_answer_bridges_at_once(
    live: LiveServer, fake: FakeTwilio
) -> None:
    _c, _agent, call = _placed(live, fake, machine_detection=True)
    assert fake.send_amd(call["provider_sid"], "human").status_code == 204
    run = fake.answer(call["provider_sid"])
    assert run.paused == 0 and run.dial is not None and run.dial["endpoint"] == "Client:a0"


def test_with_amd_the_customer_is_held_until_a_human_verdict_after_the_answer(
    live: LiveServer, fake: FakeTwilio
) -> None:
    _c, _agent, call = _placed(live, fake, machine_detection=True)
    pauses: list[int] = []

    def verdict_later(seconds: int) -> None:
        pauses.append(seconds)
        if len(pauses) == 2:  # the verdict lands during the second pause
            assert fake.send_amd(call["provider_sid"], "human").status_code == 204

    run = fake.answer(call["provider_sid"], on_pause=verdict_later)
    assert pauses == [2, 2] and run.dial is not None
    assert [url for url, _status in run.requests] == [
        f"{live.url}/webhooks/twilio/voice?call={call['id']}",
        f"{live.url}/webhooks/twilio/voice?call={call['id']}&held=2",
        f"{live.url}/webhooks/twilio/voice?call={call['id']}&held=4",
    ]
    assert _call(live, call)["answered_by"] == "human"


def test_with_amd_a_machine_is_never_bridged(live: LiveServer, fake: FakeTwilio) -> None:
    _c, agent, call = _placed(live, fake, machine_detection=True)

    def machine(_seconds: int) -> None:
        fake.send_amd(call["provider_sid"], "machine_end_beep")

    run = fake.answer(call["provider_sid"], on_pause=machine)
    assert run.dial is None and run.hung_up
    assert "Dial" not in [verb for verb, _attrs, _text in run.verbs]
    assert fake.calls[call["provider_sid"]]["status"] == "completed"
    fake.send_status(call["provider_sid"], "completed")
    got = _call(live, call)
    assert got["answered_by"] == "machine" and got["disposition"] == "machine"
    assert _agent(live, agent)["state"] == "available"


def test_with_amd_no_verdict_within_the_hold_is_not_bridged(
    live: LiveServer, fake: FakeTwilio
) -> None:
    _c, agent, call = _placed(live, fake, machine_detection=True, seller_name=SELLER)
    run = fake.answer(call["provider_sid"], on_pause=lambda _seconds: None)
    assert run.paused == 10 and run.dial is None
    assert _only_message(TwimlRun(url=run.url, verbs=run.verbs[-2:], said=run.said,
                                  hung_up=run.hung_up))[0].startswith(SELLER)  # fmt: skip
    got = _call(live, call)
    assert got["disposition"] == "abandoned" and got["answered_by"] is None
    assert _agent(live, agent)["state"] == "available"  # nobody rang the agent


def _contacts(live: LiveServer, campaign: dict[str, Any]) -> int:
    r = live.http.get(f"/api/reports/agents?campaign_id={campaign['id']}")
    assert r.status_code == 200, r.text
    return sum(int(row["contacts"]) for row in r.json()["agents"])


def test_only_people_an_agent_spoke_with_are_contacts(live: LiveServer, fake: FakeTwilio) -> None:
    c, agent, call = _placed(live, fake)
    fake.send_status(call["provider_sid"], "in-progress")
    assert _contacts(live, c) == 0  # unknown: maybe a voicemail
    auth = {"Authorization": f"Bearer {agent['token']}"}
    r = live.http.post(f"/api/calls/{call['id']}/disposition", headers=auth,
                       json={"outcome": "not_interested"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert _call(live, call)["answered_by"] == "human" and _contacts(live, c) == 1


def test_a_person_abandoned_after_a_human_verdict_is_not_a_contact(
    live: LiveServer, fake: FakeTwilio
) -> None:
    c, agent, call = _placed(live, fake, machine_detection=True)
    fake.send_amd(call["provider_sid"], "human")
    run = fake.answer(call["provider_sid"])
    fake.end_dial(call["provider_sid"], run, "no-answer")
    got = _call(live, call)
    assert got["answered_by"] == "human" and got["disposition"] == "abandoned"
    assert _contacts(live, c) == 0
    assert _agent(live, agent)["state"] == "not_answering"
