"""Every 422 of POST/PATCH /api/campaigns names the field at fault in `field` as
the dotted path a form's input carries: top-level, nested policy keys, list
items. Table-driven over every campaign field and nested key."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import Api, expect_error

from dialer.campaign.schemas import (
    AbandonPolicyPatch,
    CampaignFields,
    PromisePolicyPatch,
    RetryPolicyPatch,
)

HOURS = {"days": "mon-fri", "start": "09:00", "end": "20:00"}

# (the field expected, a body with a bad value there)
CASES: list[tuple[str, dict[str, Any]]] = [
    ("name", {"name": ""}),
    ("status", {"status": "sleeping"}),
    ("default_region", {"default_region": "ZZ"}),
    # A region with phone numbers but no holiday calendar, while holidays are skipped.
    ("default_region", {"default_region": "AC", "skip_holidays": True}),
    ("timezone", {"timezone": "Mars/Olympus"}),
    ("calling_hours", {"calling_hours": "mon-fri"}),
    ("calling_hours", {"calling_hours": [HOURS] * 51}),
    ("calling_hours.0", {"calling_hours": ["mon-fri 09:00-20:00"]}),
    ("calling_hours.0.days", {"calling_hours": [{**HOURS, "days": "someday"}]}),
    ("calling_hours.0.start", {"calling_hours": [{**HOURS, "start": "25:00"}]}),
    ("calling_hours.1.end", {"calling_hours": [HOURS, {**HOURS, "end": "9pm"}]}),
    ("calling_hours.2.start", {"calling_hours": [HOURS, HOURS, {"days": "sat", "end": "18:00"}]}),
    ("skip_holidays", {"skip_holidays": "sometimes"}),
    ("caller_id", {"caller_id": "abc"}),
    ("dial_mode", {"dial_mode": "predictive-ish"}),
    ("retry_policy", {"retry_policy": [1, 2]}),
    ("retry_policy.no_answer", {"retry_policy": {"no_answer": []}}),
    ("retry_policy.no_answer.1", {"retry_policy": {"no_answer": [60, 0]}}),
    ("retry_policy.busy", {"retry_policy": {"busy": [60] * 21}}),
    ("retry_policy.machine.0", {"retry_policy": {"machine": [31_536_001]}}),
    ("retry_policy.failed.0", {"retry_policy": {"failed": ["soon"]}}),
    ("retry_policy.not_interested", {"retry_policy": {"not_interested": 60}}),
    ("retry_policy.max_attempts", {"retry_policy": {"max_attempts": 0}}),
    ("retry_policy.max_attempts_per_day", {"retry_policy": {"max_attempts_per_day": 101}}),
    ("retry_policy.bogus", {"retry_policy": {"bogus": 1}}),
    ("promise_policy", {"promise_policy": "tight"}),
    ("promise_policy.slot_minutes", {"promise_policy": {"slot_minutes": 0}}),
    ("promise_policy.per_agent_per_slot", {"promise_policy": {"per_agent_per_slot": 1001}}),
    ("promise_policy.grace_minutes", {"promise_policy": {"grace_minutes": -1}}),
    ("promise_policy.no_answer_retry", {"promise_policy": {"no_answer_retry": []}}),
    ("promise_policy.no_answer_retry.0", {"promise_policy": {"no_answer_retry": [0]}}),
    ("promise_policy.on_missed", {"promise_policy": {"on_missed": "forget"}}),
    ("abandon_policy", {"abandon_policy": 0.03}),
    ("abandon_policy.max_rate", {"abandon_policy": {"max_rate": 0}}),
    ("abandon_policy.max_rate", {"abandon_policy": {"max_rate": 0.21}}),
    ("abandon_policy.max_rate", {"abandon_policy": {"max_rate": "3%"}}),
    ("abandon_policy.window_days", {"abandon_policy": {"window_days": 0}}),
    ("abandon_policy.window_days", {"abandon_policy": {"window_days": 367}}),
    ("abandon_policy.connect_seconds", {"abandon_policy": {"connect_seconds": 0}}),
    ("abandon_policy.connect_seconds", {"abandon_policy": {"connect_seconds": 31}}),
    ("abandon_policy.no_recall_hours", {"abandon_policy": {"no_recall_hours": -1}}),
    ("abandon_policy.no_recall_hours", {"abandon_policy": {"no_recall_hours": 721}}),
    ("abandon_policy.bogus", {"abandon_policy": {"bogus": 1}}),
    ("retry_timing", {"retry_timing": "whenever"}),
    ("attribution_days", {"attribution_days": 3651}),
    ("contract_number_pattern", {"contract_number_pattern": "(a"}),
    ("contract_number_pattern", {"contract_number_pattern": r"(\d)\1"}),
    ("machine_detection", {"machine_detection": "perhaps"}),
    ("cps", {"cps": 0}),
    ("script", {"script": "あ" * 30_000}),
    ("seller_name", {"seller_name": "x" * 101}),
    ("call_reason", {"call_reason": "x" * 201}),
    ("callback_number", {"callback_number": "call me"}),
    ("abandon_message", {"abandon_message": "x" * 1001}),
    ("tts_voice", {"tts_voice": "alice"}),
    ("tts_voice", {"tts_voice": "Google.en-US-Neural2-A", "tts_language": "ja-JP"}),
    ("tts_language", {"tts_language": "japanese"}),
    ("pause_codes", {"pause_codes": []}),
    ("pause_codes", {"pause_codes": [f"code {i}" for i in range(21)]}),
    ("pause_codes.2", {"pause_codes": ["休憩", "研修", "   "]}),
    ("pause_codes.1", {"pause_codes": ["休憩", "x" * 41]}),
    ("pause_codes.1", {"pause_codes": ["休憩", 3]}),
    ("pause_codes.2", {"pause_codes": ["休憩", "研修", " 休憩 "]}),
    ("wrapup_seconds", {"wrapup_seconds": 3601}),
    ("wrapup_seconds", {"wrapup_seconds": -1}),
    ("bogus", {"bogus": True}),
]


@pytest.mark.parametrize(
    ("field", "body"), CASES, ids=[f"{f}:{i}" for i, (f, _) in enumerate(CASES)]
)
def test_a_422_names_the_field_at_fault(api: Api, field: str, body: dict[str, Any]) -> None:
    campaign = api.campaign(name="Fields")
    patched = api.patch(f"/api/campaigns/{campaign['id']}", json=body)
    error = expect_error(patched, 422, "validation_error")
    assert error["field"] == field, error
    assert error["detail"].startswith(f"{field}: "), error
    # Nothing was written.
    assert api.get(f"/api/campaigns/{campaign['id']}").json() == campaign
    created = api.post("/api/campaigns", json={"name": "New", **body})
    error = expect_error(created, 422, "validation_error")
    assert error["field"] == field, error
    assert [c["name"] for c in api.get("/api/campaigns").json()["items"]] == ["Fields"]


def test_every_field_and_nested_key_has_a_case() -> None:
    covered = {f for f, _ in CASES}
    heads = {f.split(".")[0] for f in covered}
    assert set(CampaignFields.model_fields) | {"name"} <= heads
    for policy, model in (
        ("retry_policy", RetryPolicyPatch),
        ("promise_policy", PromisePolicyPatch),
        ("abandon_policy", AbandonPolicyPatch),
    ):
        nested = {f.split(".")[1] for f in covered if f.startswith(f"{policy}.")}
        assert set(model.model_fields) <= nested, policy
    for key in ("days", "start", "end"):
        assert any(f.startswith("calling_hours.") and f.endswith(f".{key}") for f in covered)


def test_every_fault_is_listed_with_its_path(api: Api) -> None:
    r = api.post(
        "/api/campaigns",
        json={"name": "Many", "cps": 0, "calling_hours": [{**HOURS, "start": "x"}]},
    )
    error = expect_error(r, 422, "validation_error")
    assert {e["field"] for e in error["errors"]} == {"cps", "calling_hours.0.start"}
    assert error["field"] in {"cps", "calling_hours.0.start"}


def test_the_item_prefix_is_taken_off_the_reason(api: Api) -> None:
    r = api.post("/api/campaigns", json={"name": "Dup", "pause_codes": ["a", "a"]})
    error = expect_error(r, 422, "validation_error")
    assert error["field"] == "pause_codes.1"
    assert error["errors"][0]["reason"] == "'a' is given twice"
    assert error["detail"] == "pause_codes.1: 'a' is given twice"


def test_the_abandon_policy_and_retry_timing_default_and_merge(api: Api) -> None:
    campaign = api.campaign(name="Predictive")
    assert campaign["abandon_policy"] == {
        "max_rate": 0.03,
        "window_days": 30,
        "connect_seconds": 2,
        "no_recall_hours": 72,
    }
    assert campaign["retry_timing"] == "fixed"
    r = api.patch(
        f"/api/campaigns/{campaign['id']}",
        json={
            "dial_mode": "predictive",
            "retry_timing": "best_hour",
            "abandon_policy": {"max_rate": 0.01, "window_days": 1},
        },
    )
    assert r.status_code == 200, r.text
    patched = r.json()
    assert patched["dial_mode"] == "predictive" and patched["retry_timing"] == "best_hour"
    # Keys not given keep their current value, like promise_policy.
    assert patched["abandon_policy"] == {
        "max_rate": 0.01,
        "window_days": 1,
        "connect_seconds": 2,
        "no_recall_hours": 72,
    }
    r = api.patch(
        f"/api/campaigns/{campaign['id']}", json={"abandon_policy": {"no_recall_hours": 0}}
    )
    assert r.json()["abandon_policy"]["no_recall_hours"] == 0
    assert r.json()["abandon_policy"]["max_rate"] == 0.01
    clone = api.post(f"/api/campaigns/{campaign['id']}/clone", json={"name": "Copy"}).json()
    assert clone["abandon_policy"] == r.json()["abandon_policy"]
    assert clone["retry_timing"] == "best_hour" and clone["dial_mode"] == "predictive"
    history = api.get(f"/api/campaigns/{campaign['id']}/history").json()["items"]
    moved = {c["field"] for e in history for c in e["changes"]}
    assert {"abandon_policy", "retry_timing", "dial_mode"} <= moved
