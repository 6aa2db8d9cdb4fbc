"""A campaign's history (GET /api/campaigns/{id}/history) and its clone
(POST /api/campaigns/{id}/clone)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import Api, block_dialing, expect_error

from dialer.campaign.history import TRACKED_FIELDS, changes_between
from dialer.campaign.service import apply_campaign_files


def _history(api: Api, campaign_id: int, **params: Any) -> dict[str, Any]:
    r = api.get(f"/api/campaigns/{campaign_id}/history", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _kinds(api: Api, campaign_id: int) -> list[str]:
    return [i["kind"] for i in _history(api, campaign_id)["items"]]


def test_create_is_recorded_with_who_did_it(api: Api) -> None:
    campaign = api.campaign(name="History")
    items = _history(api, campaign["id"])["items"]
    assert len(items) == 1
    (created,) = items
    assert set(created) == {
        "id",
        "at",
        "kind",
        "actor",
        "actor_name",
        "changes",
        "source_campaign_id",
    }
    assert created["kind"] == "created"
    assert created["changes"] == []
    assert created["source_campaign_id"] is None
    assert created["actor"].startswith("manager:")
    assert created["actor_name"]  # the bootstrap manager's name
    # In the campaign's zone (Asia/Tokyo by default): 10:00 of the test clock.
    assert created["at"] == "2026-12-01T10:00:00+09:00"


def test_patch_records_each_field_whole_before_and_after(api: Api) -> None:
    campaign = api.campaign(name="Ladders")
    api.advance(60)
    r = api.patch(
        f"/api/campaigns/{campaign['id']}",
        json={"retry_policy": {"no_answer": [900, 3600]}, "wrapup_seconds": 30},
    )
    assert r.status_code == 200, r.text
    newest = _history(api, campaign["id"])["items"][0]
    assert newest["kind"] == "updated"
    assert newest["at"] == "2026-12-01T10:01:00+09:00"
    fields = [c["field"] for c in newest["changes"]]
    assert fields == ["retry_policy", "wrapup_seconds"]
    retry = newest["changes"][0]
    # The whole policy, not only the key given.
    assert retry["before"] == campaign["retry_policy"]
    assert retry["after"] == {**campaign["retry_policy"], "no_answer": [900, 3600]}
    assert newest["changes"][1] == {"field": "wrapup_seconds", "before": 0, "after": 30}


def test_a_patch_that_changes_nothing_records_nothing(api: Api) -> None:
    campaign = api.campaign(name="Same", wrapup_seconds=10)
    api.advance(60)
    r = api.patch(
        f"/api/campaigns/{campaign['id']}",
        json={"wrapup_seconds": 10, "name": "Same", "retry_policy": {}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["updated_at"] == campaign["updated_at"]
    assert _kinds(api, campaign["id"]) == ["created"]


def test_pause_and_resume_are_kinds_of_their_own(api: Api) -> None:
    campaign = api.campaign(name="Pausing")
    cid = campaign["id"]
    assert api.patch(f"/api/campaigns/{cid}", json={"status": "paused"}).status_code == 200
    assert api.patch(f"/api/campaigns/{cid}", json={"status": "paused"}).status_code == 200
    r = api.patch(f"/api/campaigns/{cid}", json={"status": "active", "cps": 3})
    assert r.status_code == 200, r.text
    items = _history(api, cid)["items"]
    assert [i["kind"] for i in items] == ["resumed", "updated", "paused", "created"]
    assert items[0]["changes"] == [{"field": "status", "before": "paused", "after": "active"}]
    assert items[1]["changes"] == [{"field": "cps", "before": 1, "after": 3}]
    assert items[2]["changes"] == [{"field": "status", "before": "active", "after": "paused"}]


def test_a_refused_patch_records_nothing(api: Api) -> None:
    campaign = api.campaign(name="Refused")
    r = api.patch(f"/api/campaigns/{campaign['id']}", json={"caller_id": "abc", "cps": 2})
    expect_error(r, 422, "validation_error")
    assert _kinds(api, campaign["id"]) == ["created"]


def test_history_pages_newest_first(api: Api) -> None:
    campaign = api.campaign(name="Pages")
    cid = campaign["id"]
    for seconds in (10, 20, 30, 40):
        r = api.patch(f"/api/campaigns/{cid}", json={"wrapup_seconds": seconds})
        assert r.status_code == 200, r.text
    first = _history(api, cid, limit=2)
    assert [c["changes"][0]["after"] for c in first["items"]] == [40, 30]
    assert first["next_cursor"] is not None
    second = _history(api, cid, limit=2, cursor=first["next_cursor"])
    assert [c["changes"][0]["after"] for c in second["items"]] == [20, 10]
    third = _history(api, cid, limit=2, cursor=second["next_cursor"])
    assert [i["kind"] for i in third["items"]] == ["created"]
    assert third["next_cursor"] is None
    ids = [i["id"] for p in (first, second, third) for i in p["items"]]
    assert ids == sorted(ids, reverse=True)


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"limit": 0}, 422, "limit"),
        ({"limit": 1001}, 422, "limit"),
        ({"cursor": "x"}, 422, "cursor"),
    ],
)
def test_history_refuses_bad_paging(
    api: Api, params: dict[str, Any], status: int, field: str
) -> None:
    campaign = api.campaign()
    r = api.get(f"/api/campaigns/{campaign['id']}/history", params=params)
    assert expect_error(r, status)["field"] == field


def test_history_of_an_unknown_campaign_is_404(api: Api) -> None:
    expect_error(api.get("/api/campaigns/999/history"), 404, "campaign_not_found")


def test_history_and_clone_are_for_managers(api: Api) -> None:
    campaign = api.campaign()
    agent = api.agent([campaign["id"]])
    r = api.get(f"/api/campaigns/{campaign['id']}/history", token=agent["token"])
    expect_error(r, 403)
    r = api.post(
        f"/api/campaigns/{campaign['id']}/clone", json={"name": "Mine"}, token=agent["token"]
    )
    expect_error(r, 403)


def test_clone_copies_every_field_but_id_name_status(api: Api) -> None:
    source = api.campaign(
        name="Source",
        timezone="Asia/Tokyo",
        calling_hours=[{"days": "mon-sat", "start": "10:00", "end": "19:00"}],
        skip_holidays=False,
        caller_id="+81312345678",
        dial_mode="progressive",
        retry_policy={"no_answer": [600], "max_attempts": 4},
        promise_policy={"grace_minutes": 10, "on_missed": "keep"},
        attribution_days=14,
        contract_number_pattern=r"\d{22}",
        machine_detection=True,
        cps=5,
        script="こんにちは {{name}} 様",
        seller_name="東京電力エナジー",
        call_reason="電気料金プランのご案内",
        callback_number="+81312340000",
        abandon_message="また改めてお電話いたします",
        tts_voice="Polly.Takumi",
        tts_language="ja-JP",
        pause_codes=["休憩", "会議"],
        wrapup_seconds=45,
    )
    api.advance(60)
    r = api.post(f"/api/campaigns/{source['id']}/clone", json={"name": "Copy"})
    assert r.status_code == 201, r.text
    clone = r.json()
    assert clone["id"] != source["id"]
    assert clone["name"] == "Copy"
    assert clone["status"] == "paused"
    assert clone["dialing_blocked"] is None
    ignored = {"id", "name", "status", "created_at", "updated_at", "dialing_blocked"}
    assert {k: v for k, v in clone.items() if k not in ignored} == {
        k: v for k, v in source.items() if k not in ignored
    }
    assert clone["created_at"] == "2026-12-01T10:01:00+09:00"
    assert api.get(f"/api/campaigns/{clone['id']}").json() == clone
    (cloned,) = _history(api, clone["id"])["items"]
    assert cloned["kind"] == "cloned"
    assert cloned["source_campaign_id"] == source["id"]
    assert cloned["changes"] == []
    # The source is untouched, its history too.
    assert _kinds(api, source["id"]) == ["created"]
    # The clone has none of the source's leads.
    api.import_csv(source["id"], "phone,name\n090-1111-2222,A\n")
    leads = api.get(f"/api/campaigns/{clone['id']}/leads").json()["items"]
    assert leads == []


def test_clone_of_a_paused_campaign_and_then_resumed(api: Api) -> None:
    source = api.campaign(name="Paused source", status="paused")
    clone = api.post(f"/api/campaigns/{source['id']}/clone", json={"name": "C2"}).json()
    assert clone["status"] == "paused"
    r = api.patch(f"/api/campaigns/{clone['id']}", json={"status": "active"})
    assert r.status_code == 200, r.text
    assert _kinds(api, clone["id"]) == ["resumed", "cloned"]


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"name": "Taken"}, 409, "campaign_exists", "name"),
        ({"name": ""}, 422, "validation_error", "name"),
        ({"name": "x" * 201}, 422, "validation_error", "name"),
        ({}, 422, "validation_error", "name"),
        ({"name": "Ok", "status": "active"}, 422, "validation_error", "status"),
    ],
)
def test_clone_refusals(api: Api, body: dict[str, Any], status: int, code: str, field: str) -> None:
    source = api.campaign(name="Taken")
    r = api.post(f"/api/campaigns/{source['id']}/clone", json=body)
    assert expect_error(r, status, code)["field"] == field
    assert len(api.get("/api/campaigns").json()["items"]) == 1


def test_clone_of_an_unknown_campaign_is_404(api: Api) -> None:
    r = api.post("/api/campaigns/999/clone", json={"name": "X"})
    expect_error(r, 404, "campaign_not_found")


def test_every_campaign_field_is_tracked(api: Api) -> None:
    """A field added to the campaign object is in the history's diff too."""
    campaign = api.campaign()
    derived = {"id", "created_at", "updated_at", "dialing_blocked"}
    assert set(TRACKED_FIELDS) == set(campaign) - derived
    assert list(TRACKED_FIELDS) == [k for k in campaign if k not in derived]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ({}, {}, []),
        ({"cps": 1}, {"cps": 1}, []),
        ({"cps": 1}, {"cps": 2}, [{"field": "cps", "before": 1, "after": 2}]),
        (
            {"pause_codes": ["a"], "cps": 1},
            {"pause_codes": ["a", "b"], "cps": 1},
            [{"field": "pause_codes", "before": ["a"], "after": ["a", "b"]}],
        ),
        (
            {"caller_id": None},
            {"caller_id": "+81312345678"},
            [{"field": "caller_id", "before": None, "after": "+81312345678"}],
        ),
        # In the campaign object's order, whatever order they come in.
        (
            {"wrapup_seconds": 0, "name": "a"},
            {"wrapup_seconds": 5, "name": "b"},
            [
                {"field": "name", "before": "a", "after": "b"},
                {"field": "wrapup_seconds", "before": 0, "after": 5},
            ],
        ),
        # Untracked keys are not history.
        ({"version": 1}, {"version": 2}, []),
    ],
)
def test_changes_between(
    before: dict[str, Any], after: dict[str, Any], expected: list[dict[str, Any]]
) -> None:
    assert changes_between(before, after) == expected


def _raise_block(api: Api, *, provider_code: int, campaign_id: int) -> None:
    db = api.client.app.state.runtime.db  # type: ignore[attr-defined]
    block_dialing(db, provider_code=provider_code, campaign_id=campaign_id)


def test_a_lifted_dialing_block_is_recorded_once(api: Api) -> None:
    c = api.campaign(caller_id="+81312345678")
    _raise_block(api, provider_code=21210, campaign_id=c["id"])
    shown = api.get(f"/api/campaigns/{c['id']}").json()["dialing_blocked"]
    api.advance(60)
    assert api.delete(f"/api/campaigns/{c['id']}/dialing-block").status_code == 200
    # Nothing left to lift: nothing recorded.
    assert api.delete(f"/api/campaigns/{c['id']}/dialing-block").status_code == 200
    items = _history(api, c["id"])["items"]
    assert [i["kind"] for i in items] == ["dialing_block_lifted", "created"]
    assert items[0]["changes"] == [{"field": "dialing_blocked", "before": shown, "after": None}]
    assert items[0]["at"] == "2026-12-01T10:01:00+09:00"
    assert items[0]["actor"].startswith("manager:")


def test_a_test_call_that_lifts_the_campaign_s_block_is_recorded(api: Api) -> None:
    c = api.campaign(caller_id="+81312345678")
    other = api.campaign(caller_id="+81312345679")
    _raise_block(api, provider_code=21215, campaign_id=c["id"])
    _raise_block(api, provider_code=20003, campaign_id=c["id"])  # the account's
    r = api.post(f"/api/campaigns/{c['id']}/test-call", json={"to": "090-1234-5678"})
    assert r.status_code == 200, r.text
    items = _history(api, c["id"])["items"]
    assert [i["kind"] for i in items] == ["dialing_block_lifted", "created"]
    assert items[0]["changes"][0]["before"]["code"] == "geo_permission_denied"
    # The account's block is no campaign's history.
    assert _kinds(api, other["id"]) == ["created"]


def test_campaign_files_are_recorded_as_the_system(api: Api, tmp_path: Path) -> None:
    db = api.client.app.state.runtime.db  # type: ignore[attr-defined]
    now = datetime.fromisoformat("2026-12-01T01:00:00+00:00")
    path = tmp_path / "kanto.toml"

    def apply(text: str) -> int:
        path.write_text(text, encoding="utf-8")
        with db.write() as session:
            ((_action, campaign),) = apply_campaign_files(session, paths=[path], now=now)
            assert campaign.id is not None
            return campaign.id

    cid = apply('name = "Kanto"\ncps = 2\n')
    assert apply('name = "Kanto"\ncps = 2\n') == cid  # the same again: nothing moved
    apply('name = "Kanto"\ncps = 3\n')
    items = _history(api, cid)["items"]
    assert [(i["kind"], i["actor"], i["actor_name"]) for i in items] == [
        ("updated", "system", None),
        ("created", "system", None),
    ]
    assert items[0]["changes"] == [{"field": "cps", "before": 2, "after": 3}]
