"""`dialer serve`, the embedded default, as a real process: web + scheduler."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx
from sqlalchemy import select

from dialer.db import Database
from dialer.system import SchedulerLease

T = TypeVar("T")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _poll(probe: Callable[[], T | None], *, seconds: float) -> T | None:
    """Waits for a real process to bind or tick: wall time here is the process's
    start-up, not domain time (which the simulated clock drives everywhere else)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = probe()
        if result is not None:
            return result
        time.sleep(0.1)
    return None


def test_dialer_serve_runs_web_and_scheduler(tmp_path: Path) -> None:
    port = _free_port()
    db = tmp_path / "serve.db"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "DIALER_BOOTSTRAP_TOKEN": "serve-token",
        "DIALER_SCHEDULER_INTERVAL_SECONDS": "0.2",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "dialer.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=2)

    def health() -> httpx.Response | None:
        assert proc.poll() is None, "dialer serve exited"
        try:
            r = client.get("/healthz")
        except httpx.TransportError:
            return None
        # Until the in-process scheduler's first heartbeat it is `absent`.
        return r if r.json()["scheduler"]["status"] == "ok" else None

    database = Database(f"sqlite:///{db}")

    def lease() -> SchedulerLease | None:
        with database.read() as session:
            return session.scalar(select(SchedulerLease))

    try:
        response = _poll(health, seconds=20)
        assert response is not None, "dialer serve did not answer /healthz with its scheduler"
        body = response.json()
        assert response.status_code == 200 and body["status"] == "ok" and body["db"] == "ok"
        assert body["scheduler"]["leader"] and body["scheduler"]["heartbeat_age_seconds"] < 10
        r = client.get("/api/campaigns", headers={"Authorization": "Bearer serve-token"})
        assert r.status_code == 200 and r.json()["items"] == []
        assert _poll(lease, seconds=10) is not None, "the in-process scheduler never led"
    finally:
        client.close()
        database.dispose()
        proc.terminate()
        proc.wait(timeout=10)


def test_the_readmes_first_command_seeds_and_serves(tmp_path: Path) -> None:
    """`scripts/demo` runs `dialer demo --serve`: seeded, then served with its
    scheduler, answering as the demo's manager."""
    port = _free_port()
    repo = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "DIALER_TELEPHONY": "simulated",
        "DIALER_CLOCK": "simulated",
        "DIALER_BOOTSTRAP_TOKEN": "demo-manager-token",
    }
    command = [sys.executable, "-m", "dialer.cli", "demo", "--serve", "--port", str(port)]
    command += ["--campaigns", str(repo / "campaigns"), "--leads", "20"]
    command += ["--out", str(tmp_path / "demo-data")]
    proc = subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=2)

    def campaigns() -> httpx.Response | None:
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "exited")
        try:
            return client.get(
                "/api/campaigns", headers={"Authorization": "Bearer demo-manager-token"}
            )
        except httpx.TransportError:
            return None

    try:
        response = _poll(campaigns, seconds=60)
        assert response is not None, "the demo did not answer"
        assert response.status_code == 200 and len(response.json()["items"]) == 2
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=10)
