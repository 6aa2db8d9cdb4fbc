"""Imports in batches: invisible until complete, all-or-nothing, in the
background for large files, recovered after a crash, safe when two race."""

from __future__ import annotations

import io
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import Api, make_settings
from sqlalchemy import func, select

from dialer import cli
from dialer.app import create_app
from dialer.clock import wall_now
from dialer.errors import BadInput
from dialer.leads import importer
from dialer.leads.models import Event, ImportStatus, Lead, LeadImport, Phone
from dialer.runtime import Runtime
from dialer.settings import get_settings
from dialer.uploads import save_upload


def _csv(count: int, *, start: int = 0) -> bytes:
    rows = "".join(f"L{i},0901{i:07d}\n" for i in range(start, start + count))
    return f"name,phone\n{rows}".encode()


def _count(runtime: Runtime, model: Any, *where: Any) -> int:
    with runtime.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "BATCH_ROWS", 10)


def test_staged_leads_stay_invisible_until_the_import_is_complete(
    api: Api, small_batches: None
) -> None:
    runtime: Runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    c = api.campaign()
    agent = api.agent([c["id"]])
    seen: list[tuple[int, int, int]] = []

    def progress(lead_import: LeadImport, fraction: float) -> None:
        if lead_import.status == ImportStatus.running:
            listed = len(api.get(f"/api/campaigns/{c['id']}/leads").json()["items"])
            queue = api.get(f"/api/campaigns/{c['id']}/queue").json()["callable_now"]
            seen.append((lead_import.accepted, listed, queue))
            assert api.next(agent).status_code == 204

    path = save_upload(io.BytesIO(_csv(25)), limit=10**6)
    with runtime.db.read() as session:
        now = runtime.now_in(session)
    importer.start_import(
        runtime.db,
        runner=None,
        campaign_id=c["id"],
        path=path,
        filename="x.csv",
        actor="test",
        now=now,
        mapping=None,
        sync_limit_bytes=0,
        progress=progress,
        remove_file=True,
    )
    assert seen == [(10, 0, 0), (20, 0, 0), (25, 0, 0)]
    assert len(api.get(f"/api/campaigns/{c['id']}/leads").json()["items"]) == 25
    assert api.next(agent).status_code == 200
    assert not path.exists()


def test_a_failure_midway_leaves_no_lead_behind(
    api: Api, small_batches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime: Runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    c = api.campaign()
    calls = {"n": 0}
    real_stage = importer.ImportJob._stage

    def failing_stage(self: importer.ImportJob, rows: list[Any]) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full (injected)")
        real_stage(self, rows)

    monkeypatch.setattr(importer.ImportJob, "_stage", failing_stage)
    with pytest.raises(RuntimeError, match="injected"):
        importer.import_bytes(
            runtime.db,
            campaign_id=c["id"],
            data=_csv(45),
            filename="x.csv",
            actor="t",
            now=wall_now(),
        )
    with runtime.db.read() as session:
        lead_import = session.scalars(select(LeadImport)).one()
    assert lead_import.status == ImportStatus.failed
    assert lead_import.error == "disk full (injected)"
    assert (
        _count(runtime, Lead) == 0 and _count(runtime, Phone) == 0 and _count(runtime, Event) == 0
    )
    report = api.get(f"/api/imports/{lead_import.id}").json()
    assert (report["status"], report["error"]) == ("failed", "disk full (injected)")
    # Nothing is held: the same file imports cleanly afterwards.
    monkeypatch.setattr(importer.ImportJob, "_stage", real_stage)
    again = api.import_csv(c["id"], _csv(45).decode()).json()
    assert (again["status"], again["accepted"]) == ("done", 45)


def test_large_files_run_in_the_background(db_url: str) -> None:
    settings = make_settings(db_url, DIALER_IMPORT_SYNC_MB=0)
    with TestClient(create_app(settings)) as client:
        api = Api(client)
        runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
        c = api.campaign()
        first = api.import_csv(c["id"], _csv(300).decode())
        assert first.status_code == 201
        assert first.json()["status"] in ("running", "done")
        runtime.imports.wait_idle()
        report = api.get(f"/api/imports/{first.json()['id']}").json()
        assert (report["status"], report["rows"], report["accepted"]) == ("done", 300, 300)
        assert len(api.get(f"/api/campaigns/{c['id']}/leads?limit=1000").json()["items"]) == 300


def test_an_import_whose_process_died_is_failed_and_cleaned(
    api: Api, small_batches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime: Runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    c = api.campaign()

    def crash(self: importer.ImportJob) -> None:
        raise SystemExit("killed")  # the process dies before finishing: no cleanup runs

    monkeypatch.setattr(importer.ImportJob, "_finish", crash)
    monkeypatch.setattr(importer, "fail_import", lambda *a, **k: None)
    with pytest.raises(SystemExit):
        importer.import_bytes(
            runtime.db,
            campaign_id=c["id"],
            data=_csv(25),
            filename="x.csv",
            actor="t",
            now=wall_now(),
        )
    monkeypatch.undo()
    assert _count(runtime, Lead, Lead.status == "importing") == 25
    # A live import (fresh heartbeat) is left alone...
    assert importer.fail_stale_imports(runtime.db, now=wall_now()) == 0
    # ...one silent for longer than STALE_AFTER is failed and its leads removed.
    later = wall_now() + importer.STALE_AFTER + timedelta(seconds=1)
    assert importer.fail_stale_imports(runtime.db, now=later) == 1
    assert _count(runtime, Lead) == 0 and _count(runtime, Phone) == 0
    with runtime.db.read() as session:
        lead_import = session.scalars(select(LeadImport)).one()
    assert lead_import.status == ImportStatus.failed and "stopped" in (lead_import.error or "")


def test_two_imports_racing_into_one_campaign_create_no_duplicates(api: Api) -> None:
    runtime: Runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    c = api.campaign()
    files = [_csv(400, start=0), _csv(400, start=200)]  # 200 phones in common
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(data: bytes) -> None:
        try:
            barrier.wait()
            importer.import_bytes(
                runtime.db,
                campaign_id=c["id"],
                data=data,
                filename="x.csv",
                actor="t",
                now=wall_now(),
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert _count(runtime, Lead) == 600
    with runtime.db.read() as session:
        numbers = list(session.scalars(select(Phone.number)))
        reports = list(session.scalars(select(LeadImport)))
    assert len(numbers) == len(set(numbers)) == 600
    assert sum(r.accepted for r in reports) == 600
    assert sum(r.duplicates for r in reports) == 200


def test_cli_imports_with_progress_and_a_report(
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    small_batches: None,
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("DIALER_CLOCK", "simulated")
    get_settings.cache_clear()
    try:
        runtime = Runtime(get_settings())
        runtime.start()
        with runtime.write() as (session, now):
            from dialer.campaign.schemas import CampaignCreate
            from dialer.campaign.service import create_campaign

            create_campaign(session, data=CampaignCreate(name="CLI campaign"), now=now)
        runtime.close()
        path = tmp_path / "leads.csv"
        path.write_bytes(_csv(30) + b"L-bad,03-12\n")
        assert cli.main(["leads", "import", "CLI campaign", str(path)]) == 0
        captured = capsys.readouterr()
        assert "100.0%" in captured.err and "rows/s" in captured.err
        assert "rows 31  accepted 30  duplicates 0  invalid 1" in captured.out
        assert "row 31 phone: not a valid number for JP: '03-12'" in captured.out
        assert cli.main(["leads", "import", "No such campaign", str(path)]) == 2
        runtime = Runtime(get_settings())
        assert _count(runtime, Lead, Lead.status == "new") == 30
        runtime.close()
    finally:
        get_settings.cache_clear()


def test_a_refused_upload_leaves_no_temporary_file(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    c = api.campaign()
    for data in (b"name\nA\n", b"\x89PNG\r\n\x1a\n\x00\x00", b""):
        assert api.post(
            f"/api/campaigns/{c['id']}/imports", files={"file": ("x.csv", data, "text/csv")}
        ).status_code in (400, 415)
    assert api.import_csv(c["id"], "name,phone\nA,090-1234-5678\n").status_code == 201
    assert list(tmp_path.glob("dialer-*")) == []


# --- large files: prepared in a worker process -----------------------------------------


def _start(runtime: Runtime, campaign_id: int, data: bytes, *, in_worker: bool) -> int:
    """An inline import, its rows prepared in a worker process or in this one."""
    path = save_upload(io.BytesIO(data), limit=10**8)
    return importer.start_import(
        runtime.db,
        runner=None,
        campaign_id=campaign_id,
        path=path,
        filename="x.csv",
        actor="t",
        now=wall_now(),
        mapping=None,
        sync_limit_bytes=0 if in_worker else len(data),
        remove_file=True,
    )


def test_a_worker_prepared_import_reports_as_an_inline_one(api: Api, small_batches: None) -> None:
    runtime: Runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    data = (
        _csv(30)
        + b"L-bad,03-12\nL-dup,090-1000-0003\nL-extra,09019999999,x\n"
        + "Ｌ,０９０１９９９９９９８（自宅）\n".encode()
    )
    reports = []
    for in_worker in (False, True):
        c = api.campaign()
        import_id = _start(runtime, c["id"], data, in_worker=in_worker)
        report = api.get(f"/api/imports/{import_id}").json()
        del report["id"], report["campaign_id"]
        reports.append(report)
    assert reports[0] == reports[1]
    assert (reports[1]["accepted"], reports[1]["invalid"], reports[1]["duplicates"]) == (32, 1, 1)
    import multiprocessing

    assert multiprocessing.active_children() == []


def test_a_failure_midway_stops_the_worker_and_leaves_nothing(
    api: Api, small_batches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing

    runtime: Runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    c = api.campaign()
    real_stage = importer.ImportJob._stage
    calls = {"n": 0}

    def failing_stage(self: importer.ImportJob, batch: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full (injected)")
        real_stage(self, batch)

    monkeypatch.setattr(importer.ImportJob, "_stage", failing_stage)
    with pytest.raises(RuntimeError, match="injected"):
        _start(runtime, c["id"], _csv(2000), in_worker=True)
    assert multiprocessing.active_children() == []
    assert _count(runtime, Lead) == 0 and _count(runtime, Phone) == 0
    with runtime.db.read() as session:
        lead_import = session.scalars(select(LeadImport)).one()
    assert (lead_import.status, lead_import.error) == (ImportStatus.failed, "disk full (injected)")


def test_a_file_broken_midway_fails_in_the_worker_with_its_reason(api: Api) -> None:
    runtime: Runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    c = api.campaign()
    # A cell past the csv module's field limit: the file stops being CSV at row 31.
    data = _csv(30) + b'L,"' + b"x" * 200_000 + b'"\n' + _csv(5, start=100)[len("name,phone\n") :]
    with pytest.raises(BadInput) as info:
        _start(runtime, c["id"], data, in_worker=True)
    assert info.value.code == "not_csv" and "after row 31" in info.value.detail
    assert _count(runtime, Lead) == 0
    with runtime.db.read() as session:
        lead_import = session.scalars(select(LeadImport)).one()
    assert lead_import.status == ImportStatus.failed and "not CSV" in (lead_import.error or "")
