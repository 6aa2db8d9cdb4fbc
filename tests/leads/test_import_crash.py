"""Import crash safety: an import whose process died is failed and its staged
rows removed at start-up and before the campaign's next import, while one a live
process runs is left alone; a re-import after a crash takes every row."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from helpers import MANAGER_TOKEN, Api, free_port
from sqlalchemy import func, select

from dialer.clock import wall_now
from dialer.db import Database
from dialer.leads import importer
from dialer.leads.models import ImportStatus, Lead, LeadImport
from dialer.runtime import Runtime

T = TypeVar("T")


def _csv(count: int) -> bytes:
    rows = "".join(f"L{i},0901{i:07d}\n" for i in range(count))
    return f"name,phone\n{rows}".encode()


def _poll(probe: Callable[[], T | None], *, seconds: float) -> T:
    """Waits on a real process (its start-up, its import's progress): wall time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = probe()
        if result is not None:
            return result
        time.sleep(0.05)
    raise AssertionError(f"nothing within {seconds} s")


def _count(db: Database, *where: Any) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Lead).where(*where)) or 0)


def _imports(db: Database) -> list[LeadImport]:
    with db.read() as session:
        return list(session.scalars(select(LeadImport).order_by(LeadImport.id)))


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """Another process of this host, alive until the test kills it."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_the_owner_of_an_import_is_told_alive_or_dead(
    sleeper: subprocess.Popen[bytes],
) -> None:
    me = importer.process_owner()
    other = importer.process_owner(sleeper.pid)
    assert importer.owner_alive(me) is True and importer.owner_alive(other) is True
    head, _, started = other.rpartition("/")
    # The same pid with another start time is another process (a reused pid).
    assert importer.owner_alive(f"{head}/{int(started) + 1}") is False
    assert importer.owner_alive(other.replace(other.split(":", 1)[0], "elsewhere", 1)) is None
    sleeper.kill()
    sleeper.wait()
    assert importer.owner_alive(other) is False


def _interrupted_import(
    runtime: Runtime, campaign_id: int, data: bytes, *, owner: str, mp: pytest.MonkeyPatch
) -> None:
    """An import left half-staged by `owner`, as a process killed mid-import
    leaves it: no clean-up runs."""

    def crash(self: importer.ImportJob) -> None:
        raise SystemExit("killed")

    with mp.context() as patch:
        patch.setattr(importer, "BATCH_ROWS", 10)
        patch.setattr(importer, "process_owner", lambda: owner)
        patch.setattr(importer.ImportJob, "_finish", crash)
        patch.setattr(importer, "fail_import", lambda *a, **k: None)
        with pytest.raises(SystemExit):
            importer.import_bytes(
                runtime.db, campaign_id=campaign_id, data=data, filename="a.csv",
                actor="t", now=wall_now(),
            )  # fmt: skip


def test_a_reimport_clears_a_dead_imports_staged_rows_first(
    api: Api, sleeper: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime: Runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    c = api.campaign()
    data = _csv(25)
    _interrupted_import(
        runtime, c["id"], data, owner=importer.process_owner(sleeper.pid), mp=monkeypatch
    )
    assert _count(runtime.db, Lead.status == "importing") == 25
    # Its owner runs: the import is live, and the sweep leaves it alone.
    assert importer.fail_stale_imports(runtime.db, now=wall_now()) == 0
    sleeper.kill()
    sleeper.wait()
    # The owner is gone, long before STALE_AFTER: the next import of the campaign
    # fails it first, so none of its phones counts as a duplicate.
    report = api.import_csv(c["id"], data.decode()).json()
    assert (report["status"], report["accepted"], report["duplicates"]) == ("done", 25, 0)
    first, _second = _imports(runtime.db)
    assert first.status == ImportStatus.failed and "stopped" in (first.error or "")
    assert _count(runtime.db) == 25 and _count(runtime.db, Lead.status == "new") == 25


def test_start_up_fails_the_imports_of_dead_processes_only(
    api: Api, settings: Any, sleeper: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime: Runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    live, dead = api.campaign(), api.campaign()
    _interrupted_import(
        runtime, live["id"], _csv(20), owner=importer.process_owner(sleeper.pid), mp=monkeypatch
    )
    gone = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    owner = importer.process_owner(gone.pid)
    gone.kill()
    gone.wait()
    _interrupted_import(runtime, dead["id"], _csv(30), owner=owner, mp=monkeypatch)
    other = Runtime(settings)  # another worker starting on this host
    other.start()
    other.close()
    still, failed = _imports(runtime.db)
    assert still.status == ImportStatus.running and failed.status == ImportStatus.failed
    assert _count(runtime.db, Lead.campaign_id == live["id"]) == 20
    assert _count(runtime.db, Lead.campaign_id == dead["id"]) == 0


def _serve(db_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """A web worker (no scheduler: what cleans up is its start-up)."""
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DIALER_BOOTSTRAP_TOKEN": MANAGER_TOKEN,
        "DIALER_IMPORT_SYNC_MB": "0",
        "DIALER_AUTO_UPGRADE": "false",
    }
    command = [sys.executable, "-m", "uvicorn", "dialer.app:app", "--port", str(port)]
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=out)


def _client(port: int, proc: subprocess.Popen[bytes]) -> httpx.Client:
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {MANAGER_TOKEN}"},
        timeout=30,
    )

    def up() -> bool | None:
        assert proc.poll() is None, "the server exited"
        try:
            return client.get("/healthz").status_code == 200 or None
        except httpx.TransportError:
            return None

    _poll(up, seconds=30)
    return client


def test_kill_9_mid_import_then_restart_and_reimport_takes_every_row(
    db_url: str, tmp_path: Path
) -> None:
    rows = 40_000  # 8 batches: time to be killed after the first
    data = _csv(rows)
    port, log = free_port(), tmp_path / "server.log"
    proc = _serve(db_url, port, log)
    try:
        client = _client(port, proc)
        campaign = client.post("/api/campaigns", json={"name": "Crash"}).json()
        started = client.post(
            f"/api/campaigns/{campaign['id']}/imports", files={"file": ("big.csv", data)}
        )
        assert started.status_code == 201, started.text
        import_id = started.json()["id"]

        def staging() -> bool | None:
            report = client.get(f"/api/imports/{import_id}").json()
            assert report["status"] == "running", report
            return report["accepted"] > 0 or None

        _poll(staging, seconds=60)  # some batches in, the rest to come
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        client.close()
        database = Database(db_url)
        try:
            assert _count(database, Lead.status == "importing") > 0
        finally:
            database.dispose()

        proc = _serve(db_url, port, log)
        client = _client(port, proc)
        # Failed at start-up (no scheduler here, no import yet): nothing staged left.
        first = client.get(f"/api/imports/{import_id}").json()
        assert first["status"] == "failed", first
        again = client.post(
            f"/api/campaigns/{campaign['id']}/imports", files={"file": ("big.csv", data)}
        ).json()

        def finished() -> dict[str, Any] | None:
            report: dict[str, Any] = client.get(f"/api/imports/{again['id']}").json()
            return report if report["status"] != "running" else None

        report = _poll(finished, seconds=180)
        assert (report["status"], report["rows"], report["accepted"]) == ("done", rows, rows)
        assert report["duplicates"] == 0
        client.close()
        database = Database(db_url)
        try:
            assert _count(database, Lead.campaign_id == campaign["id"]) == rows
            assert _count(database, Lead.status == "new") == rows
        finally:
            database.dispose()
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=20)
