#!/usr/bin/env python3
"""Extract the facts the Twilio test server checks from Twilio's OpenAPI description.

    usage: scripts/twilio_facts.py PATH/TO/twilio_api_v2010.json [--tag T] [--commit C]

`tests/telephony/fake_twilio.py` validates every CreateCall and UpdateCall it
receives against Twilio's own description of those operations: the parameter
names, their types, enums, patterns and lengths, the required ones, and the
fields and statuses of a call resource. The description itself
(https://github.com/twilio/twilio-oai, `spec/json/twilio_api_v2010.json`, MIT)
is 1.8 MB; this script keeps only those facts, in
`tests/telephony/data/twilio_calls.json`, and copies the licence found beside
the input (`LICENSE`) to `tests/telephony/data/LICENSE.twilio-oai`. The suite
reads only the committed file, so a clone runs its tests on its own.

To refresh it: take `spec/json/twilio_api_v2010.json` and `LICENSE` from a
checkout of twilio-oai at a release tag, run this script on it with that tag and
commit, read the diff of the data file, run tests/telephony, commit. The output
is deterministic: the same input gives the same bytes.

Where the description lists a parameter's values only in prose ("Can be:
`Enable` or `DetectMessageEnd`") and not as an `enum`, those backticked values
are taken as its enum (`"enum_from": "description"`)."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPOSITORY = "https://github.com/twilio/twilio-oai"
FILE_IN_REPOSITORY = "spec/json/twilio_api_v2010.json"
CALLS = "/2010-04-01/Accounts/{AccountSid}/Calls.json"
CALL = "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json"
# The operations the fake serves with a form body, by the name the fake uses.
OPERATIONS = {"create": (CALLS, "post"), "update": (CALL, "post")}
CALL_SCHEMA = "api.v2010.account.call"

DATA_DIR = Path(__file__).resolve().parent.parent / "tests" / "telephony" / "data"
DEFAULT_OUT = DATA_DIR / "twilio_calls.json"
LICENSE_NAME = "LICENSE.twilio-oai"


def resolve(document: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follows a local `$ref` (`#/components/schemas/call_enum_status`)."""
    ref = schema.get("$ref")
    if not ref:
        return schema
    node: Any = document
    for part in str(ref).removeprefix("#/").split("/"):
        node = node[part]
    return resolve(document, node)


def enum_from_description(description: str) -> list[str] | None:
    """Values the description names in its "Can be: `a`, `b` or `c`." sentence.

    Several parameters (MachineDetection, AsyncAmd, StatusCallbackEvent, Trim…)
    have no `enum` in the schema; Twilio lists their values only in prose."""
    match = re.search(r"Can be:?\s(.*?)(?:\.(?:\s|$)|$)", description)
    if match is None:
        return None
    values = sorted(set(re.findall(r"`([^`]+)`", match.group(1))))
    return values or None


def param_facts(document: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    description = str(schema.get("description", ""))
    resolved = resolve(document, schema)
    items = resolve(document, resolved.get("items", {}))
    kind = str(resolved.get("type", "string"))
    enum_source = items if kind == "array" else resolved
    enum: list[str] | None = None
    enum_from: str | None = None
    if "enum" in enum_source:
        enum, enum_from = sorted({str(v) for v in enum_source["enum"]}), "schema"
    elif kind != "boolean":  # booleans are checked as booleans, whatever the prose says
        enum = enum_from_description(description)
        enum_from = "description" if enum is not None else None
    return {
        "type": kind,
        "format": resolved.get("format"),
        "enum": enum,
        "enum_from": enum_from,
        "pattern": resolved.get("pattern"),
        "min_length": resolved.get("minLength"),
        "max_length": resolved.get("maxLength"),
        # Whitespace-normalised: the spec writes "Separate  multiple values…" (two spaces).
        "space_separated": "separate multiple values with a space"
        in " ".join(description.lower().split()),
    }


def operation_facts(document: Mapping[str, Any], path: str, method: str) -> dict[str, Any]:
    op = document["paths"][path][method]
    schema = op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    return {
        "operation_id": op["operationId"],
        "method": method.upper(),
        "path": path,
        "required": sorted(schema.get("required", [])),
        # In the spec's order, which is the order Twilio documents them in.
        "params": {n: param_facts(document, s) for n, s in schema["properties"].items()},
    }


def git_blob_sha1(data: bytes) -> str:
    """The id git gives the file (`git hash-object`): finds the twilio-oai commit
    that holds exactly this input (`git log --find-object=<id>`)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def facts(data: bytes, *, tag: str | None = None, commit: str | None = None) -> dict[str, Any]:
    document = json.loads(data)
    call = document["components"]["schemas"][CALL_SCHEMA]
    statuses = resolve(document, call["properties"]["status"])["enum"]
    return {
        "source": {
            "repository": REPOSITORY,
            "file": FILE_IN_REPOSITORY,
            "tag": tag,
            "commit": commit,
            "git_blob_sha1": git_blob_sha1(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "openapi": document.get("openapi"),
            "info_version": document.get("info", {}).get("version"),
            "licence": f"MIT, Copyright (C) 2023, Twilio, Inc.; the text: {LICENSE_NAME}",
            "generated_by": "scripts/twilio_facts.py",
        },
        "operations": {
            name: operation_facts(document, *where) for name, where in OPERATIONS.items()
        },
        # Properties of a call resource, in the spec's order (the fake answers with all of them).
        "call_fields": list(call["properties"]),
        "call_statuses": sorted(str(s) for s in statuses),
    }


def render(value: Mapping[str, Any]) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0] if __doc__ else None,
        usage="%(prog)s PATH/TO/twilio_api_v2010.json [--tag T] [--commit C] "
        "(on this project's machines: /work/shared/twilio-oai/twilio_api_v2010.json)",
    )
    parser.add_argument("spec", type=Path, help="twilio_api_v2010.json from twilio-oai")
    parser.add_argument("--tag", help="twilio-oai release tag the file comes from (e.g. 2.6.7)")
    parser.add_argument("--commit", help="twilio-oai commit the file comes from")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: %(default)s")
    args = parser.parse_args(argv)

    data = args.spec.read_bytes()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(facts(data, tag=args.tag, commit=args.commit)), encoding="utf-8")
    licence = args.spec.parent / "LICENSE"
    if licence.is_file():
        shutil.copyfile(licence, args.out.parent / LICENSE_NAME)
    else:
        print(
            f"warning: no LICENSE beside {args.spec}; {LICENSE_NAME} not refreshed", file=sys.stderr
        )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
