"""Every duration, count, date and size a campaign or a query takes has a
documented range (docs/API.md, "Ranges"): a value past it is a 4xx naming the
field, never a 500 and never a partial write. A quick fuzz: boundary and huge
values in every campaign field, every body id list, and every query parameter
of every GET the OpenAPI description lists."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers import Api, expect_error

from dialer.campaign.schemas import RetryPolicy
from dialer.campaign.service import horizon_errors

BIG = 2**63
HUGE_INTS: list[Any] = [BIG, 2**64, -(2**63) - 1, 10**40, -1, 0, 1e308, "1e400"]
EXTREME_INSTANTS = [
    "0001-01-01T00:00:00+01:00",  # a year 0 in UTC
    "9999-12-31T23:59:59-01:00",  # a year 10000 in UTC
    "1999-12-31T23:59:59+00:00",
    "2101-01-01T00:00:00+00:00",
]
YEAR = 365 * 24 * 3600


def _refused(r: Any, field: str) -> None:
    """A 4xx whose `field` is `field` or inside it (`retry_policy.no_answer.0`)."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    named = str(expect_error(r, r.status_code).get("field"))
    assert named == field or named.startswith(field + "."), (field, r.json())


CAMPAIGN_REFUSED: list[tuple[str, dict[str, Any]]] = [
    ("retry_policy", {"retry_policy": {"no_answer": [YEAR + 1]}}),
    ("retry_policy", {"retry_policy": {"busy": [BIG]}}),
    ("retry_policy", {"retry_policy": {"machine": [10**40]}}),
    ("retry_policy", {"retry_policy": {"failed": [0]}}),
    ("retry_policy", {"retry_policy": {"not_interested": [60] * 21}}),
    ("retry_policy", {"retry_policy": {"max_attempts": 101}}),
    ("retry_policy", {"retry_policy": {"max_attempts": BIG}}),
    ("retry_policy", {"retry_policy": {"max_attempts_per_day": 101}}),
    ("promise_policy", {"promise_policy": {"no_answer_retry": [YEAR + 1]}}),
    ("promise_policy", {"promise_policy": {"no_answer_retry": [60] * 21}}),
    ("promise_policy", {"promise_policy": {"grace_minutes": 1441}}),
    ("promise_policy", {"promise_policy": {"grace_minutes": BIG}}),
    ("promise_policy", {"promise_policy": {"per_agent_per_slot": 1001}}),
    ("promise_policy", {"promise_policy": {"slot_minutes": 1441}}),
    ("attribution_days", {"attribution_days": 3651}),
    ("attribution_days", {"attribution_days": BIG}),
    ("cps", {"cps": BIG}),
    ("calling_hours", {"calling_hours": [{"days": "mon", "start": "09:00", "end": "10:00"}] * 51}),
    ("calling_hours", {"calling_hours": [{"days": "mon" * 100, "start": "09:00", "end": "10:00"}]}),
    ("calling_hours", {"calling_hours": [{"days": "mon", "start": "9" * 100, "end": "10:00"}]}),
    ("script", {"script": "x" * (64 * 1024 + 1)}),
    ("script", {"script": "あ" * 21846}),  # 65,538 bytes of UTF-8
    ("name", {"name": "n" * 201}),
    ("timezone", {"timezone": "A" * 10_000}),
    ("default_region", {"default_region": "J" * 10_000}),
    ("caller_id", {"caller_id": "+8" + "1" * 10_000}),
    ("contract_number_pattern", {"contract_number_pattern": r"\d" * 251}),
    ("contract_number_pattern", {"contract_number_pattern": r"(\d)\1"}),
    ("contract_number_pattern", {"contract_number_pattern": r"(?=\d)\d+"}),
    ("contract_number_pattern", {"contract_number_pattern": r"(\d{1000}){1000}"}),
    ("seller_name", {"seller_name": "売" * 101}),
    ("call_reason", {"call_reason": "x" * 201}),
    ("abandon_message", {"abandon_message": "あ" * 1001}),
    ("callback_number", {"callback_number": "0120-123-456"}),  # not E.164
    ("callback_number", {"callback_number": "+8" + "1" * 10_000}),
    ("tts_voice", {"tts_voice": "alice"}),  # a voice is named: Polly.* or Google.*
    ("tts_voice", {"tts_voice": "Polly." + "M" * 100}),
    ("tts_voice", {"tts_voice": "Google.en-US-Neural2-A"}),  # not the campaign's ja-JP
    ("tts_language", {"tts_language": "japanese"}),
]


@pytest.mark.parametrize(("field", "fields"), CAMPAIGN_REFUSED)
def test_campaign_values_out_of_range_are_refused_naming_the_field(
    api: Api, field: str, fields: dict[str, Any]
) -> None:
    _refused(api.post("/api/campaigns", json={"name": "Bounds", **fields}), field)
    c = api.campaign()
    _refused(api.patch(f"/api/campaigns/{c['id']}", json=fields), field)
    assert api.get(f"/api/campaigns/{c['id']}").json() == c  # nothing was written
    assert [x["name"] for x in api.get("/api/campaigns").json()["items"]] == [c["name"]]


def test_campaign_values_at_the_edge_of_their_range_are_taken(api: Api) -> None:
    c = api.campaign(
        retry_policy={
            "no_answer": [YEAR] * 20,
            "busy": [1],
            "max_attempts": 100,
            "max_attempts_per_day": 100,
        },
        promise_policy={
            "no_answer_retry": [YEAR],
            "grace_minutes": 1440,
            "per_agent_per_slot": 1000,
            "slot_minutes": 1440,
        },
        attribution_days=3650,
        calling_hours=[{"days": "mon-fri", "start": "09:00", "end": "20:00"}] * 50,
        script="あ" * 21845,  # 65,535 bytes
        contract_number_pattern=r"\d{22}",
        seller_name="売" * 100,
        call_reason="x" * 200,
        abandon_message="あ" * 1000,
        tts_voice="Google.ja-JP-Neural2-B",
    )
    assert c["retry_policy"]["max_attempts"] == 100 and len(c["calling_hours"]) == 50
    assert c["tts_voice"] == "Google.ja-JP-Neural2-B" and len(c["abandon_message"]) == 1000


def test_a_policy_that_would_overflow_a_date_is_refused_naming_its_field() -> None:
    """The ranges keep every schedule short of year 9999; the write-time check
    is what holds if they are ever widened (and names the field)."""
    policy = RetryPolicy(no_answer=[YEAR], max_attempts=100)
    assert horizon_errors(policy, now=datetime(2026, 12, 1, tzinfo=UTC)) == []
    late = datetime(9950, 1, 1, tzinfo=UTC)
    assert horizon_errors(policy, now=late) == ["retry_policy.no_answer"]
    short = RetryPolicy(no_answer=[60], max_attempts=100)
    assert horizon_errors(short, now=late) == []
    assert horizon_errors(short, now=datetime.max.replace(tzinfo=UTC) - timedelta(hours=1)) == [
        "retry_policy.no_answer",
        "retry_policy.busy",
        "retry_policy.machine",
        "retry_policy.failed",
        "retry_policy.not_interested",
    ]


def test_catastrophic_contract_number_patterns_match_in_linear_time(api: Api) -> None:
    """`(a+)+$` backtracks for ever in Python's `re` on 'aaaa…!'; RE2 answers at once."""
    import time

    c = api.campaign(contract_number_pattern=r"(a+)+$")
    started = time.monotonic()
    r = api.post(
        "/api/conversions",
        json={
            "campaign_id": c["id"],
            "reference": "EVIL-1",
            "channel": "web",
            "contract_number": "a" * 60 + "!",
        },
    )
    assert time.monotonic() - started < 5
    _refused(r, "contract_number")
    r = api.post(
        "/api/conversions",
        json={
            "campaign_id": c["id"],
            "reference": "OK-1",
            "channel": "web",
            "contract_number": "a" * 60,
        },
    )
    assert r.status_code in (200, 201), r.text


# --- ids inside bodies ---


@pytest.mark.parametrize("bad", [BIG, 2**64, 0, -1])
def test_ids_in_body_lists_are_bounded(api: Api, bad: int) -> None:
    c = api.campaign()
    r = api.post("/api/agents", json={"name": "Kato", "campaign_ids": [c["id"], bad]})
    _refused(r, "campaign_ids")
    agent = api.agent([c["id"]])
    r = api.patch(f"/api/agents/{agent['id']}", json={"campaign_ids": [bad]})
    _refused(r, "campaign_ids")


def test_id_lists_in_bodies_are_bounded_in_length(api: Api) -> None:
    r = api.post("/api/agents", json={"name": "Kato", "campaign_ids": list(range(1, 1002))})
    _refused(r, "campaign_ids")


@pytest.mark.parametrize("instant", EXTREME_INSTANTS)
def test_instants_in_bodies_are_within_2000_to_2100(api: Api, instant: str) -> None:
    c = api.campaign()
    r = api.post(
        "/api/conversions",
        json={"campaign_id": c["id"], "reference": "R-1", "channel": "web", "occurred_at": instant},
    )
    _refused(r, "occurred_at")
    _refused(api.post("/api/admin/clock", json={"to": instant}), "to")
    _refused(api.post("/api/leads/1/promises", json={"at": instant}), "at")
    window = {"start": "2026-12-01T12:00:00+09:00", "end": instant}
    _refused(api.post("/api/leads/1/promises", json={"window": window}), "window.end")


# --- every query parameter of every GET ---


def _gets(api: Api) -> list[tuple[str, list[dict[str, Any]]]]:
    spec = api.get("/openapi.json").json()
    found = []
    for path, item in spec["paths"].items():
        get = item.get("get")
        # The event stream never ends: its parameters are checked below.
        if get is None or path.endswith("/events"):
            continue
        found.append((path, get.get("parameters", [])))
    return found


# One of each kind of extreme: past a BIGINT, negative, huge, a day whose end
# overflows, an instant before year 1 in UTC.
QUERY_VALUES: list[Any] = [BIG, -1, "x" * 5000, "9999-12-31", EXTREME_INSTANTS[0]]


def test_no_query_value_gets_a_500(api: Api) -> None:
    """Each query parameter of each GET, one extreme value at a time (paths
    with ids filled with 1 and with 2**63): a 2xx or a 4xx, never a 5xx."""
    c = api.campaign()
    api.import_csv(c["id"], "name,phone\nA,090-1234-0001\n")
    agent = api.agent([c["id"]])
    checked = 0
    for path, parameters in _gets(api):
        for ident in ("1", str(BIG)):
            url = re.sub(r"\{[^}]+\}", ident, path)
            r = api.get(url)
            assert r.status_code < 500, (url, r.status_code, r.text)
            for parameter in parameters:
                if parameter["in"] != "query":
                    continue
                for value in QUERY_VALUES:
                    r = api.get(re.sub(r"\{[^}]+\}", "1", path), params={parameter["name"]: value})
                    assert r.status_code < 500, (path, parameter["name"], value, r.text[:300])
                    checked += 1
    assert checked > 100
    # The event stream's own parameters, refused before any streaming.
    for value in (BIG, -1, "x"):
        r = api.client.get(
            f"/api/agents/{agent['id']}/events",
            headers={"Last-Event-ID": str(value), "Authorization": f"Bearer {agent['token']}"},
        )
        _refused(r, "Last-Event-ID")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "9999-12-31"}, "since"),
        ({"until": "9999-12-31"}, "until"),
        ({"since": "1999-12-31"}, "since"),
        ({"until": "2101-01-01"}, "until"),
        ({"since": "0001-01-01T00:00:00+01:00"}, "since"),
        ({"until": "9999-12-31T23:59:59-01:00"}, "until"),
        ({"since": "x" * 100}, "since"),
    ],
)
def test_report_ranges_are_within_2000_to_2100(
    api: Api, params: dict[str, str], field: str
) -> None:
    c = api.campaign()
    for url in (
        "/api/reports/agents",
        "/api/reports/agents.csv",
        f"/api/reports/campaigns/{c['id']}",
        f"/api/reports/campaigns/{c['id']}.csv",
        *(
            f"/api/reports/campaigns/{c['id']}/{report}"
            for name in ("funnel", "promises", "conversions", "hours")
            for report in (name, f"{name}.csv")
        ),
        f"/api/reports/campaigns/{c['id']}/hours.svg",
        f"/api/reports/campaigns/{c['id']}/promises.svg",
    ):
        _refused(api.get(url, params=params), field)
    r = api.get("/api/reports/agents", params={"since": "2000-01-01", "until": "2100-12-31"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/conversions", {"limit": 1001}, "limit"),
        ("/api/conversions", {"campaign_id": BIG}, "campaign_id"),
        ("/api/conversions", {"cursor": str(BIG)}, "cursor"),
        ("/api/dnc", {"limit": 0}, "limit"),
        ("/api/dnc", {"phone": "1" * 65}, "phone"),
        ("/api/promises", {"limit": 1001}, "limit"),
        ("/api/reports/agents", {"campaign_id": BIG}, "campaign_id"),
        (f"/api/reports/campaigns/{BIG + 1}/funnel", {}, "campaign_id"),
        ("/api/reports/campaigns/1/hours.svg", {"lang": "x" * 100}, "lang"),
    ],
)
def test_query_bounds_name_the_parameter(
    api: Api, url: str, params: dict[str, Any], field: str
) -> None:
    _refused(api.get(url, params=params), field)


# --- the TOML definitions ---


def test_the_shipped_campaign_files_are_within_their_ranges() -> None:
    from pathlib import Path

    from dialer.campaign.service import campaign_files, load_campaign_file

    files = campaign_files(Path(__file__).resolve().parent.parent / "campaigns")
    assert len(files) >= 2
    for path in files:
        assert load_campaign_file(path).name


def test_a_campaign_file_out_of_range_is_refused_naming_file_and_field(tmp_path: Any) -> None:
    from dialer.campaign.service import load_campaign_file
    from dialer.errors import Invalid

    path = tmp_path / "bad.toml"
    path.write_text('name = "Bad"\n[retry_policy]\nno_answer = [31536001]\n', encoding="utf-8")
    with pytest.raises(Invalid) as caught:
        load_campaign_file(path)
    assert "bad.toml" in caught.value.detail and "retry_policy.no_answer" in caught.value.detail
