"""Bodies bounded before they are read, and wrong media types refused (415):
dialer.limits around the app, dialer.uploads in the upload routes.

The "before it is read" half is shown on a real uvicorn server over a raw
socket: the request is sent in chunks and the answer arrives while the body is
still unfinished, so the server decided without waiting for (or storing) the
rest."""

from __future__ import annotations

import json
import select
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import MANAGER_TOKEN, Api, LiveServer, expect_error, make_settings
from sqlalchemy import func
from sqlalchemy import select as sql_select

from dialer.app import create_app
from dialer.campaign.models import Campaign
from dialer.limits import JSON_LIMIT, UPLOAD_PATHS, WEBHOOK_LIMIT
from dialer.settings import Settings

UPLOADS = (
    "/api/campaigns/{c}/imports",
    "/api/campaigns/{c}/imports/preview",
    "/api/dnc/imports",
    "/api/campaigns/{c}/conversions/imports",
)


def _campaigns(api: Api) -> int:
    return len(api.get("/api/campaigns").json()["items"])


# --- media types ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "content"),
    [
        pytest.param({"Content-Type": "text/plain"}, b'{"name": "x"}', id="text-plain"),
        pytest.param({"Content-Type": "application/x-www-form-urlencoded"}, b"name=x", id="form"),
        pytest.param(
            {"Content-Type": "multipart/form-data; boundary=b"},
            b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--b--\r\n',
            id="multipart",
        ),
        pytest.param({}, b'{"name": "x"}', id="no-content-type"),
    ],
)
def test_a_json_endpoint_refuses_other_media_types_with_415(
    api: Api, headers: dict[str, str], content: bytes
) -> None:
    r = api.client.post(
        "/api/campaigns",
        content=content,
        headers={**api.manager, **headers},
    )
    body = expect_error(r, 415, "unsupported_media_type")
    assert "application/json" in body["detail"]
    assert _campaigns(api) == 0


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/x+json"]
)
def test_json_media_types_are_accepted(api: Api, content_type: str) -> None:
    r = api.client.post(
        "/api/campaigns",
        content=b'{"name": "Kanto"}',
        headers={**api.manager, "Content-Type": content_type},
    )
    assert r.status_code == 201, r.text


def test_a_request_without_a_body_needs_no_media_type(api: Api) -> None:
    c = api.campaign()
    agent = api.agent([c["id"]])
    r = api.client.post(
        f"/api/agents/{agent['id']}/next",
        headers={"Authorization": f"Bearer {agent['token']}", "Content-Type": "text/plain"},
    )
    assert r.status_code == 204, r.text


@pytest.mark.parametrize("path", UPLOADS)
def test_an_upload_endpoint_refuses_json_with_415(api: Api, path: str) -> None:
    c = api.campaign()
    r = api.post(path.format(c=c["id"]), json={"file": "phone\n090-1234-5678\n"})
    body = expect_error(r, 415, "unsupported_media_type")
    assert "multipart/form-data" in body["detail"] and body["field"] == "file"


@pytest.mark.parametrize("path", UPLOADS)
def test_an_anonymous_upload_is_401_whatever_its_media_type(api: Api, path: str) -> None:
    c = api.campaign()
    target = path.format(c=c["id"])
    expect_error(api.client.post(target, json={"file": "x"}), 401)
    expect_error(api.client.post(target, files={"file": ("x.csv", b"phone\n")}), 401)


def test_webhooks_refuse_json_with_415(api: Api) -> None:
    r = api.client.post("/webhooks/twilio/status?call=1", json={"CallSid": "CA1"})
    body = expect_error(r, 415, "unsupported_media_type")
    assert "application/x-www-form-urlencoded" in body["detail"]


def test_a_malformed_or_cut_multipart_body_is_400(api: Api) -> None:
    c = api.campaign()
    head = {**api.manager, "Content-Type": "multipart/form-data; boundary=XyZ"}
    cut = b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nphone\n'
    r = api.client.post(f"/api/campaigns/{c['id']}/imports", content=cut, headers=head)
    expect_error(r, 400)
    no_boundary = {**api.manager, "Content-Type": "multipart/form-data"}
    r = api.client.post(f"/api/campaigns/{c['id']}/imports", content=cut, headers=no_boundary)
    expect_error(r, 400)
    assert api.get(f"/api/campaigns/{c['id']}/leads").json()["items"] == []


def test_a_form_field_has_a_bound(api: Api) -> None:
    c = api.campaign()
    r = api.post(
        f"/api/campaigns/{c['id']}/imports",
        files={"file": ("a.csv", b"phone\n090-1234-5678\n"), "mapping": (None, "x" * 70_000)},
    )
    body = expect_error(r, 413, "too_large")
    assert body["field"] == "mapping"


# --- sizes through the test client -------------------------------------------------------


def test_a_json_body_over_1_mib_is_413_and_writes_nothing(api: Api) -> None:
    big = json.dumps({"name": "x", "script": "a" * JSON_LIMIT}).encode()
    r = api.client.post(
        "/api/campaigns", content=big, headers={**api.manager, "Content-Type": "application/json"}
    )
    body = expect_error(r, 413, "too_large")
    assert str(JSON_LIMIT) in body["detail"]
    assert _campaigns(api) == 0


def test_a_webhook_over_64_kib_is_413(api: Api) -> None:
    r = api.client.post(
        "/webhooks/twilio/status?call=1",
        content=b"CallSid=CA1&Pad=" + b"x" * WEBHOOK_LIMIT,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    expect_error(r, 413, "too_large")


@pytest.mark.parametrize("path", UPLOADS)
def test_every_upload_has_the_upload_limit(db_url: str, path: str) -> None:
    settings = make_settings(db_url, DIALER_MAX_UPLOAD_MB=0.01)  # 10,485 bytes
    with TestClient(create_app(settings)) as client:
        api = Api(client)
        c = api.campaign()
        rows = "".join(f"0901{i:07d},x\n" for i in range(1000)).encode()
        r = api.post(path.format(c=c["id"]), files={"file": ("a.csv", b"phone,reason\n" + rows)})
        body = expect_error(r, 413, "too_large")
        assert body["field"] == "file" and "10485 bytes" in body["detail"]


def test_upload_paths_are_the_routes_that_read_multipart(client: TestClient) -> None:
    """dialer.limits picks the upload limit by path: it must name exactly the
    routes whose request body is multipart, no more and no fewer."""
    spec = client.get("/openapi.json").json()
    multipart = set()
    others = set()
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {})
            (multipart if "multipart/form-data" in content else others).add(path)
    assert multipart == {p.replace("{c}", "{campaign_id}") for p in UPLOADS}
    assert all(UPLOAD_PATHS.fullmatch(p.replace("{campaign_id}", "7")) for p in multipart)
    assert not any(UPLOAD_PATHS.fullmatch(p) for p in others - multipart)


# --- on a real server: refused before the body is read ------------------------------------


@pytest.fixture
def server(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    settings = settings.model_copy(update={"max_upload_mb": 0.05})  # 52,428 bytes
    live = LiveServer(settings)
    try:
        yield live
    finally:
        live.close()


def _chunked(
    live: Any, path: str, *, headers: dict[str, str], chunks: Iterator[bytes]
) -> tuple[int, dict[str, Any], int, bool]:
    """POST a chunked body, stopping as soon as an answer arrives. Returns the
    status, the JSON body, the bytes of body sent, and whether the body was
    finished when the answer came."""
    port = int(live.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        sock.sendall((head + "\r\n").encode())
        sent = 0
        finished = True
        for chunk in chunks:
            if select.select([sock], [], [], 0.05)[0]:
                finished = False
                break
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sent += len(chunk)
        else:
            if select.select([sock], [], [], 5)[0]:
                finished = False
            else:
                sock.sendall(b"0\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        header, _, rest = data.partition(b"\r\n\r\n")
        status = int(header.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in header.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(rest) < length:
            rest += sock.recv(65536)
    return status, json.loads(rest[:length]), sent, finished


def _endless(first: bytes = b"") -> Iterator[bytes]:
    if first:
        yield first
    for _ in range(2000):  # 128 MB, never all sent
        yield b"x" * 65536


def test_an_anonymous_upload_is_refused_before_its_body_is_read(
    server: Any, tmp_path: Path
) -> None:
    c = server.http.post("/api/campaigns", json={"name": "C"}).json()
    part = b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
    for path in (f"/api/campaigns/{c['id']}/imports", "/api/dnc/imports"):
        status, body, sent, finished = _chunked(
            server,
            path,
            headers={"Content-Type": "multipart/form-data; boundary=B"},
            chunks=_endless(part),
        )
        assert (status, body["code"]) == (401, "missing_token")
        assert not finished and sent < 2000 * 65536
    assert list(tmp_path.glob("dialer-*")) == []


def test_an_upload_past_the_limit_is_refused_as_it_crosses_it(server: Any, tmp_path: Path) -> None:
    c = server.http.post("/api/campaigns", json={"name": "C"}).json()
    part = b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
    status, body, sent, finished = _chunked(
        server,
        f"/api/campaigns/{c['id']}/imports",
        headers={
            "Content-Type": "multipart/form-data; boundary=B",
            "Authorization": f"Bearer {MANAGER_TOKEN}",
        },
        chunks=_endless(part),
    )
    assert (status, body["code"], body["field"]) == (413, "too_large", "file")
    # Refused near the 52 kB limit: far from the 128 MB the client would send.
    assert not finished and sent < 32 * 65536
    assert list(tmp_path.glob("dialer-*")) == []
    with server.runtime.db.read() as session:
        assert session.scalar(sql_select(func.count()).select_from(Campaign)) == 1


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/campaigns", "application/json"),
        ("/webhooks/twilio/status?call=1", "application/x-www-form-urlencoded"),
    ],
)
def test_a_chunked_body_is_refused_as_it_crosses_the_limit(
    server: Any, path: str, content_type: str
) -> None:
    status, body, _sent, finished = _chunked(
        server,
        path,
        headers={"Content-Type": content_type, "Authorization": f"Bearer {MANAGER_TOKEN}"},
        chunks=_endless(b'{"name": "' if content_type.endswith("json") else b"A="),
    )
    assert (status, body["code"]) == (413, "too_large")
    assert not finished


def test_a_content_length_over_the_limit_is_refused_at_once(server: Any) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/campaigns HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000000\r\n\r\n"
        )
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
    assert data.startswith(b"HTTP/1.1 413 ")
