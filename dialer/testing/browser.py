"""Debian's Chromium as the console's tests, benchmark and screenshots drive it
(Playwright with `executable_path`; browsers are never downloaded), the demo
service they run it against, and the wait for a service process to answer."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling out, and a
# closed network refuses it, many connections at a time.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The smallest screen the console is made for.
VIEWPORT = {"width": 1366, "height": 768}


def wait_until_healthy(
    url: str, *, proc: subprocess.Popen[bytes], log_name: str, seconds: float = 60
) -> None:
    """Until `url`/healthz answers 200; an exited process or the deadline raises,
    naming its log."""
    deadline = time.monotonic() + seconds
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited; see {log_name}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the service did not answer /healthz in {seconds:g} s; see {log_name}"
            )
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DemoProcess:
    """`dialer demo --serve` in a scratch directory, as ./scripts/demo runs it:
    SQLite, simulated clock and telephony (no call answered unless scripted),
    the campaigns of `repo`, `manager_token` as the bootstrap manager's."""

    def __init__(self, workdir: Path, *, repo: Path, manager_token: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{workdir / 'dialer.db'}",
            "DIALER_TELEPHONY": "simulated",
            "DIALER_CLOCK": "simulated",
            "DIALER_SIM_ANSWER_RATE": "0",
            "DIALER_BOOTSTRAP_TOKEN": manager_token,
            "PYTHONPATH": str(repo),
        }
        self.log = (workdir / "service.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dialer.cli", "demo", "--serve", "--port", str(self.port),
             "--out", str(workdir / "demo-data"), "--campaigns", str(repo / "campaigns")],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir,
            start_new_session=True,
        )  # fmt: skip
        wait_until_healthy(self.url, proc=self.proc, log_name=self.log.name)

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
