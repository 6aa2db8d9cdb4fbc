"""Request bodies refused before they are read: the server's memory and temp
files while 1 GB bodies it must refuse are sent to it.

`uvicorn dialer.app:app` (one process, SQLite, its own TMPDIR) is sent, one after
the other, bodies of 1 GB streamed from a generator in 64 KiB chunks:

- an anonymous lead-list upload, chunked (no Content-Length): 401 before the
  body is read;
- the same with `Content-Length: 1073741824`: 413 on the header;
- the same anonymous upload sent by httpx, which sends the whole body before it
  reads the answer (the server must discard 1 GB, not keep it);
- a manager's upload past DIALER_MAX_UPLOAD_MB (200 MB by default): 413 as the
  file part crosses the limit; the part is on disk up to then and removed;
- a manager's JSON body: 413 as it crosses 1 MiB;
- a Twilio webhook: 413 as it crosses 64 KiB.

The raw-socket sender stops as soon as the answer arrives. A sampler reads the
server's RSS (/proc/<pid>/status VmRSS) and the size of its TMPDIR (the files in it
and the unnamed ones the server holds open there) every 10 ms.

    python scripts/bench/bodies.py             # DIALER_MAX_UPLOAD_MB=200
    python scripts/bench/bodies.py --upload-mb 20

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from dialer.migrations import upgrade  # noqa: E402

TOKEN = "bench-manager-token"
GB = 1 << 30
CHUNK = 64 << 10
PART_HEAD = b'--B\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def body(total: int, first: bytes = b"") -> Iterator[bytes]:
    if first:
        yield first
    block = (b"L1,09012345678\n" * (CHUNK // 15 + 1))[:CHUNK]
    sent = len(first)
    while sent < total:
        piece = block[: min(CHUNK, total - sent)]
        sent += len(piece)
        yield piece


class Sampler(threading.Thread):
    """The server's RSS and its TMPDIR's size, every 10 ms."""

    def __init__(self, pid: int, tmp: Path) -> None:
        super().__init__(daemon=True)
        self.pid, self.tmp = pid, tmp
        self.running = True
        self.rss_peak = self.tmp_peak = 0

    def rss(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def tmp_size(self) -> int:
        """Files in TMPDIR, and those the server holds open there: a spooled
        upload's temporary file has no name (O_TMPFILE, or unlinked at once)."""
        files: dict[tuple[int, int], int] = {}
        for entry in os.scandir(self.tmp):
            with contextlib.suppress(FileNotFoundError):  # removed meanwhile
                st = entry.stat()
                files[(st.st_dev, st.st_ino)] = st.st_size
        fds = Path(f"/proc/{self.pid}/fd")
        for fd in os.listdir(fds):
            with contextlib.suppress(OSError):
                if os.readlink(fds / fd).startswith(str(self.tmp)):
                    st = os.stat(fds / fd)
                    files[(st.st_dev, st.st_ino)] = st.st_size
        return sum(files.values())

    def reset(self) -> None:
        self.rss_peak, self.tmp_peak = self.rss(), self.tmp_size()

    def run(self) -> None:
        while self.running:
            self.rss_peak = max(self.rss_peak, self.rss())
            self.tmp_peak = max(self.tmp_peak, self.tmp_size())
            time.sleep(0.01)


def raw_send(
    port: int, path: str, headers: dict[str, str], chunks: Iterator[bytes], *, chunked: bool
) -> dict[str, Any]:
    """Send until the answer arrives; returns its status and code, and the bytes sent."""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=600) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: bench\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        sock.sendall((head + "\r\n").encode())
        sent = 0
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break
            framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk
            try:
                sock.sendall(framed)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        else:
            if chunked:
                sock.sendall(b"0\r\n\r\n")  # all sent: the answer comes after the body
        data = b""
        while b"\r\n\r\n" not in data and (more := sock.recv(65536)):
            data += more
        header, _, rest = data.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":", 1)[1]) for line in header.split(b"\r\n")
             if line.lower().startswith(b"content-length:")),
            0,
        )  # fmt: skip
        while len(rest) < length and (more := sock.recv(65536)):
            rest += more
    status = int(header.split(b" ", 2)[1]) if header else 0
    try:
        code = json.loads(rest[:length]).get("code")
    except ValueError:
        code = None
    return {"status": status, "code": code, "sent": sent, "seconds": time.perf_counter() - started}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upload-mb", type=float, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-bodies-") as work:
        root = Path(work)
        server_tmp = root / "server-tmp"
        server_tmp.mkdir()
        db_url = f"sqlite:///{root / 'bench.db'}"
        upgrade(db_url)
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "DIALER_BOOTSTRAP_TOKEN": TOKEN,
            "DIALER_MAX_UPLOAD_MB": str(args.upload_mb),
            "TMPDIR": str(server_tmp),
            "DIALER_AUTO_UPGRADE": "false",  # migrated above
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "dialer.app:app", "--port", str(port),
             "--log-level", "warning"],
            env=env,
        )  # fmt: skip
        auth = {"Authorization": f"Bearer {TOKEN}"}
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)
        try:
            for _ in range(300):
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            campaign = client.post("/api/campaigns", json={"name": "Bench"}, headers=auth).json()
            # Warm the upload path once, so its first-use allocations are not counted.
            client.post(
                f"/api/campaigns/{campaign['id']}/imports",
                files={"file": ("a.csv", b"name,phone\nA,090-1234-5678\n")},
                headers=auth,
            )
            sampler = Sampler(server.pid, server_tmp)
            sampler.start()
            upload = f"/api/campaigns/{campaign['id']}/imports"
            multipart = {"Content-Type": "multipart/form-data; boundary=B"}
            chunked = {"Transfer-Encoding": "chunked"}
            cases: list[tuple[str, Any]] = [
                ("anonymous upload, chunked", lambda: raw_send(
                    port, upload, {**multipart, **chunked}, body(GB, PART_HEAD), chunked=True)),
                ("anonymous upload, Content-Length 1 GB", lambda: raw_send(
                    port, upload, {**multipart, "Content-Length": str(GB)},
                    body(GB, PART_HEAD), chunked=False)),
                ("anonymous upload, httpx sends it all", lambda: _httpx(
                    client, upload, multipart, body(GB, PART_HEAD))),
                ("manager upload past the limit, chunked", lambda: raw_send(
                    port, upload, {**multipart, **chunked, **auth}, body(GB, PART_HEAD),
                    chunked=True)),
                ("manager JSON, chunked", lambda: raw_send(
                    port, "/api/campaigns", {"Content-Type": "application/json", **chunked,
                                             **auth}, body(GB, b'{"name": "'), chunked=True)),
                ("webhook, chunked", lambda: raw_send(
                    port, "/webhooks/twilio/status?call=1",
                    {"Content-Type": "application/x-www-form-urlencoded", **chunked},
                    body(GB, b"CallSid="), chunked=True)),
            ]  # fmt: skip
            results = []
            for name, run in cases:
                time.sleep(0.3)
                rss_before, tmp_before = sampler.rss(), sampler.tmp_size()
                sampler.reset()
                outcome = run()
                time.sleep(0.3)
                row = {
                    "case": name,
                    **outcome,
                    "rss_before_mb": rss_before / 2**20,
                    "rss_peak_growth_mb": (sampler.rss_peak - rss_before) / 2**20,
                    "tmp_peak_mb": (sampler.tmp_peak - tmp_before) / 2**20,
                    "tmp_after_mb": (sampler.tmp_size() - tmp_before) / 2**20,
                }
                results.append(row)
                sent_mb = row["sent"] / 2**20
                print(
                    f"{name:42} {row['status']} {row['code'] or '':16} sent {sent_mb:8.1f} MB"
                    f" in {row['seconds']:6.2f} s  RSS +{row['rss_peak_growth_mb']:5.1f} MB"
                    f"  tmp peak {row['tmp_peak_mb']:6.1f} MB, after {row['tmp_after_mb']:.1f} MB",
                    flush=True,
                )
            sampler.running = False
        finally:
            client.close()
            server.terminate()
            server.wait(timeout=20)
    print(json.dumps({"upload_limit_mb": args.upload_mb, "results": results}))
    return 0


def _httpx(
    client: httpx.Client, path: str, headers: dict[str, str], chunks: Iterator[bytes]
) -> dict[str, Any]:
    started = time.perf_counter()
    sent = 0

    def counted() -> Iterator[bytes]:
        nonlocal sent
        for chunk in chunks:
            sent += len(chunk)
            yield chunk

    r = client.post(path, content=counted(), headers=headers)
    return {
        "status": r.status_code,
        "code": r.json().get("code"),
        "sent": sent,
        "seconds": time.perf_counter() - started,
    }


if __name__ == "__main__":
    raise SystemExit(main())
