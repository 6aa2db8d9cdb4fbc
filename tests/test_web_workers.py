"""`dialer web` with two uvicorn worker processes on one database: /metrics adds
up every worker's counters (prometheus_client's multiprocess mode), so two
scrapes, whichever worker answers each, say the same."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
from helpers import MANAGER_TOKEN, free_port

_COUNTER = re.compile(
    r'^dialer_http_requests_total\{method="GET",route="/api/campaigns",status="200"\} (\S+)$',
    re.MULTILINE,
)


def _campaign_requests(text: str) -> float | None:
    found = _COUNTER.search(text)
    return float(found.group(1)) if found else None


def _workers_counting(metrics_dir: Path) -> int:
    """How many workers' files hold a count of GET /api/campaigns."""
    from prometheus_client.multiprocess import MultiProcessCollector

    counting = 0
    for path in metrics_dir.glob("counter_*.db"):
        merged = MultiProcessCollector.merge([str(path)], accumulate=False)
        counting += any(
            sample.name == "dialer_http_requests_total"
            and sample.labels.get("route") == "/api/campaigns"
            and sample.value > 0
            for metric in merged
            for sample in metric.samples
        )
    return counting


def test_two_workers_scrape_the_same_counter(sqlite_template: Path, tmp_path: Path) -> None:
    db = tmp_path / "web.db"
    shutil.copy(sqlite_template, db)
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    # Left by an earlier run: the start empties the directory (unreadable if kept).
    (metrics_dir / "counter_1.db").write_bytes(b"not a metrics file")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "DIALER_BOOTSTRAP_TOKEN": MANAGER_TOKEN,
        "DIALER_AUTO_UPGRADE": "false",
        "DIALER_METRICS_DIR": str(metrics_dir),
        "WEB_CONCURRENCY": "2",
        "PORT": str(port),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dialer.cli", "web"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {MANAGER_TOKEN}"}
    try:
        # Wall-clock waits here are two processes starting, not domain time.
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "dialer web did not answer"
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert not (metrics_dir / "counter_1.db").exists()
        # Each request on a new connection, until both workers have counted some.
        made = 0
        while made < 20 or _workers_counting(metrics_dir) < 2:
            assert made < 2000, "one worker never took a connection"
            r = httpx.get(f"{base}/api/campaigns", headers=auth, timeout=10)
            assert r.status_code == 200
            made += 1
        scrapes = [httpx.get(f"{base}/metrics", timeout=10).text for _ in range(6)]
        assert [_campaign_requests(text) for text in scrapes] == [made] * 6
        assert _workers_counting(metrics_dir) == 2
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
