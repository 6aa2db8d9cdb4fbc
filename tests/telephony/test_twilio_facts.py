"""The Twilio facts file: committed, sourced, licensed, and the only thing the fake
checks requests against.

Whether the file is what `scripts/twilio_facts.py` makes from Twilio's full
description cannot be checked without that description (it is not in the
repository); the generator is tested here on a miniature description instead."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fake_twilio import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    DEFAULT_FACTS_PATH,
    FakeTwilio,
    load_facts,
)

REPO = Path(__file__).resolve().parents[2]
CREATE = {"To": "+819012345678", "From": "+815012345678", "Url": "https://dialer.example/v"}


def _generator() -> ModuleType:
    path = REPO / "scripts" / "twilio_facts.py"
    spec = importlib.util.spec_from_file_location("twilio_facts", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("twilio_facts", module)
    spec.loader.exec_module(module)
    return module


def _create(fake: FakeTwilio, form: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{fake.base_url}/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Calls.json",
        data=form,
        auth=(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN),
        timeout=5,
    )


def test_the_facts_file_is_in_the_repository_with_its_source_and_licence() -> None:
    assert DEFAULT_FACTS_PATH.is_relative_to(REPO)
    document = json.loads(DEFAULT_FACTS_PATH.read_text(encoding="utf-8"))
    source = document["source"]
    assert source["repository"] == "https://github.com/twilio/twilio-oai"
    assert source["file"] == "spec/json/twilio_api_v2010.json"
    assert source["tag"] and len(source["commit"]) == 40
    assert source["licence"].startswith("MIT")
    licence = (DEFAULT_FACTS_PATH.parent / "LICENSE.twilio-oai").read_text(encoding="utf-8")
    assert licence.startswith("MIT License") and "Twilio, Inc." in licence

    facts = load_facts(DEFAULT_FACTS_PATH)
    assert facts.create.name == "CreateCall" and facts.update.name == "UpdateCall"
    assert facts.create.required == {"To", "From"}
    # The parameters the dialer's adapter sends are all named there.
    for name in ("StatusCallback", "StatusCallbackEvent", "MachineDetection", "AsyncAmd"):
        assert name in facts.create.params
    assert facts.create.params["MachineDetection"].enum == {"Enable", "DetectMessageEnd"}
    assert facts.create.params["StatusCallbackEvent"].enum == {
        "initiated",
        "ringing",
        "answered",
        "completed",
    }
    assert facts.update.params["Status"].enum == {"canceled", "completed"}
    assert {"queued", "ringing", "in-progress", "completed", "no-answer"} <= facts.call_statuses
    assert "sid" in facts.call_fields and "answered_by" in facts.call_fields


@pytest.mark.parametrize(
    ("extra", "code", "named"),
    [
        pytest.param(
            {"StatusCallbackEvents": "completed"}, 20001, "StatusCallbackEvents", id="unknown"
        ),
        pytest.param({"MachineDetection": "enable"}, 21200, "MachineDetection", id="bad-enum"),
        pytest.param(
            {"StatusCallbackMethod": "PUT"}, 21200, "StatusCallbackMethod", id="schema-enum"
        ),
    ],
)
def test_the_fake_refuses_what_the_facts_do_not_allow(
    extra: dict[str, str], code: int, named: str
) -> None:
    with FakeTwilio() as fake:
        r = _create(fake, {**CREATE, **extra})
        assert r.status_code == 400, r.text
        assert r.json()["code"] == code and named in r.json()["message"]
        assert fake.calls == {}
        assert _create(fake, CREATE).status_code == 201


def test_the_fake_checks_against_the_file_it_is_given(tmp_path: Path) -> None:
    """Take `Enable` out of MachineDetection's values: the fake refuses it."""
    document = json.loads(DEFAULT_FACTS_PATH.read_text(encoding="utf-8"))
    document["operations"]["create"]["params"]["MachineDetection"]["enum"] = ["DetectMessageEnd"]
    edited = tmp_path / "facts.json"
    edited.write_text(json.dumps(document), encoding="utf-8")
    with FakeTwilio(facts_path=edited) as fake:
        r = _create(fake, {**CREATE, "MachineDetection": "Enable"})
        assert (r.status_code, r.json()["code"]) == (400, 21200)
        assert _create(fake, {**CREATE, "MachineDetection": "DetectMessageEnd"}).status_code == 201


MINI_SPEC: dict[str, Any] = {
    "openapi": "3.0.1",
    "info": {"version": "1.0.0"},
    "paths": {
        "/2010-04-01/Accounts/{AccountSid}/Calls.json": {
            "post": {
                "operationId": "CreateCall",
                "requestBody": {
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "required": ["To", "From"],
                                "properties": {
                                    "To": {"type": "string", "format": "endpoint"},
                                    "From": {"type": "string", "format": "endpoint"},
                                    "Method": {"$ref": "#/components/schemas/method"},
                                    "Events": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                        "description": "Can be: `b`, `a` or `c`. Separate  "
                                        "multiple values with a space.",
                                    },
                                    "Record": {
                                        "type": "boolean",
                                        "description": "Can be `true` or `false`.",
                                    },
                                    "Sid": {
                                        "type": "string",
                                        "pattern": "^AP[0-9a-f]{32}$",
                                        "minLength": 34,
                                        "maxLength": 34,
                                    },
                                },
                            }
                        }
                    }
                },
            }
        },
        "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json": {
            "post": {
                "operationId": "UpdateCall",
                "requestBody": {
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "properties": {
                                    "Status": {"$ref": "#/components/schemas/status"},
                                }
                            }
                        }
                    }
                },
            }
        },
    },
    "components": {
        "schemas": {
            "method": {"type": "string", "enum": ["POST", "GET"]},
            "status": {"type": "string", "enum": ["completed", "canceled"]},
            "call_status": {"type": "string", "enum": ["queued", "completed"]},
            "api.v2010.account.call": {
                "properties": {
                    "sid": {"type": "string"},
                    "status": {"$ref": "#/components/schemas/call_status"},
                }
            },
        }
    },
}


def test_the_generator_extracts_refs_prose_enums_and_bounds(tmp_path: Path) -> None:
    generator = _generator()
    spec = tmp_path / "twilio_api_v2010.json"
    spec.write_text(json.dumps(MINI_SPEC), encoding="utf-8")
    (tmp_path / "LICENSE").write_text("MIT License\n\nCopyright (C) Twilio, Inc.\n")
    out = tmp_path / "data" / "facts.json"

    assert (
        generator.main([str(spec), "--tag", "9.9.9", "--commit", "c" * 40, "--out", str(out)]) == 0
    )
    first = out.read_bytes()
    assert (
        generator.main([str(spec), "--tag", "9.9.9", "--commit", "c" * 40, "--out", str(out)]) == 0
    )
    assert out.read_bytes() == first  # deterministic: a refresh diffs only what changed
    assert (out.parent / "LICENSE.twilio-oai").read_text().startswith("MIT License")

    document = json.loads(first)
    assert document["source"]["tag"] == "9.9.9"
    params = document["operations"]["create"]["params"]
    assert list(params) == ["To", "From", "Method", "Events", "Record", "Sid"]
    assert (params["Method"]["enum"], params["Method"]["enum_from"]) == (["GET", "POST"], "schema")
    assert (params["Events"]["enum"], params["Events"]["enum_from"]) == (
        ["a", "b", "c"],
        "description",
    )
    assert params["Events"]["space_separated"] is True
    assert params["Record"]["enum"] is None  # a boolean is checked as a boolean
    assert (params["Sid"]["min_length"], params["Sid"]["max_length"]) == (34, 34)

    facts = load_facts(out)
    assert facts.update.params["Status"].enum == {"completed", "canceled"}
    assert facts.call_fields == ("sid", "status")
    assert facts.call_statuses == {"queued", "completed"}
