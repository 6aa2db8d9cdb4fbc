"""Debian's Chromium as the console's tests, benchmark and screenshots drive it
(Playwright with `executable_path`; browsers are never downloaded), and the wait
for a service process they start to answer."""

from __future__ import annotations

import subprocess
import time

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
