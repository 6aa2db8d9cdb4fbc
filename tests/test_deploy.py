"""Deploying: the schema check at start-up, `dialer db upgrade`'s report, upgrades
that overlap, `.env`, and the Procfile's process types."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from dialer import cli
from dialer.db import make_engine
from dialer.migrations import (
    SchemaNotCurrent,
    check_schema,
    current_revision,
    head_revision,
    upgrade,
)
from dialer.settings import Settings, get_settings
from dialer.testing.postgres import PostgresCluster

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
_names = iter(range(10**6))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all, as a new deployment has."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    name = f"t_empty_{os.getpid()}_{next(_names)}"
    yield cluster.create_database(name)
    cluster.drop_database(name=name)


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIALER_", "DATABASE_"))}
    env.update(DATABASE_URL=url, DIALER_AUTO_UPGRADE="false", PYTHONUNBUFFERED="1")
    return env


def _check(url: str) -> None:
    engine = make_engine(url)
    try:
        check_schema(engine)
    finally:
        engine.dispose()


def test_an_empty_database_is_named_with_the_revision_needed_and_the_command(
    empty_db_url: str,
) -> None:
    with pytest.raises(SchemaNotCurrent) as refused:
        _check(empty_db_url)
    message = str(refused.value)
    assert "empty database" in message
    assert f"needs {head_revision()}" in message
    assert "`dialer db upgrade`" in message
    assert "\n" not in message


def test_an_older_schema_names_the_revision_found(empty_db_url: str) -> None:
    upgrade(empty_db_url, revision="0005")
    with pytest.raises(SchemaNotCurrent, match=r"found schema revision 0005, .*needs") as refused:
        _check(empty_db_url)
    assert refused.value.found == "0005"
    upgrade(empty_db_url)
    _check(empty_db_url)  # current: nothing raised


def test_a_revision_from_newer_code_is_not_answered_with_upgrade(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(SchemaNotCurrent, match="does not know") as refused:
        _check(empty_db_url)
    assert "dialer db upgrade" not in str(refused.value)


def test_db_upgrade_says_what_it_did(
    empty_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    get_settings.cache_clear()
    try:
        head = head_revision()
        assert cli.main(["db", "upgrade"]) == 0
        assert capsys.readouterr().out == f"schema upgraded from an empty database to {head}\n"
        assert cli.main(["db", "upgrade"]) == 0
        assert capsys.readouterr().out == f"schema already at {head}\n"
    finally:
        get_settings.cache_clear()
    assert current_revision(empty_db_url) == head


def test_db_upgrade_from_an_older_revision(empty_db_url: str) -> None:
    upgrade(empty_db_url, revision="0004")
    assert upgrade(empty_db_url).describe() == f"schema upgraded from 0004 to {head_revision()}"


def test_overlapping_upgrades_of_one_new_database_both_succeed(empty_db_url: str) -> None:
    # Two web workers of the embedded default (or a release step and a second one)
    # upgrading one new database at once: one upgrades, the other finds it current.
    results: list[object] = []

    def run() -> None:
        try:
            results.append(upgrade(empty_db_url))
        except Exception as exc:  # recorded: the assertion below names it
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(not isinstance(r, Exception) for r in results), results
    descriptions = sorted(r.describe() for r in results)  # type: ignore[attr-defined]
    head = head_revision()
    assert descriptions == [
        f"schema already at {head}",
        f"schema upgraded from an empty database to {head}",
    ]


def test_overlapping_sqlite_upgrades_in_two_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    code = (
        "import sys; from dialer.migrations import upgrade; print(upgrade(sys.argv[1]).describe())"
    )
    procs = [
        subprocess.Popen([PYTHON, "-c", code, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err.decode() for _, err in outs]
    assert sorted(out.decode().split(" ")[1] for out, _ in outs) == ["already", "upgraded"]


def _last_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def test_the_scheduler_started_on_an_unmigrated_database_exits_with_one_line(
    empty_db_url: str,
) -> None:
    proc = subprocess.run(
        [PYTHON, "-m", "dialer.scheduler"],
        env=_env(empty_db_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    refusal = [line for line in _last_lines(proc.stderr) if "schema" in line]
    assert len(refusal) == 1, proc.stderr
    assert "empty database" in refusal[0] and head_revision() in refusal[0]
    assert "dialer db upgrade" in refusal[0]


def test_a_web_worker_started_on_an_unmigrated_database_exits_without_a_traceback(
    empty_db_url: str,
) -> None:
    proc = subprocess.run(
        [PYTHON, "-m", "uvicorn", "dialer.app:app", "--port", "0", "--workers", "2"],
        env=_env(empty_db_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 or "Application startup failed" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert 'relation "agent" does not exist' not in proc.stderr
    refusal = [line for line in _last_lines(proc.stderr) if "database schema not current" in line]
    assert refusal, proc.stderr
    assert all("empty database" in line and "dialer db upgrade" in line for line in refusal)


def test_the_cli_refuses_an_unmigrated_database_in_one_line(
    empty_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    monkeypatch.setenv("DIALER_AUTO_UPGRADE", "false")
    get_settings.cache_clear()
    try:
        assert cli.main(["campaigns", "apply", str(REPO / "campaigns")]) == 3
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "empty database" in err and "dialer db upgrade" in err


def test_dot_env_is_read_when_present_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DIALER_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("DIALER_ACCOUNT_CPS", raising=False)
    assert Settings().default_region == "JP"  # no .env: the defaults
    (tmp_path / ".env").write_text(
        "# a comment\nDIALER_DEFAULT_REGION=us\nDIALER_ACCOUNT_CPS=5\n", encoding="utf-8"
    )
    settings = Settings()
    assert settings.default_region == "US" and settings.account_cps == 5
    monkeypatch.setenv("DIALER_ACCOUNT_CPS", "2")
    assert Settings().account_cps == 2


def test_the_procfile_has_a_release_step_and_scaled_web_workers() -> None:
    lines = dict(
        line.split(":", 1)
        for line in (REPO / "Procfile").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert lines["release"].strip() == "dialer db upgrade"
    assert lines["web"].split()[:2] == ["dialer", "web"]  # reads WEB_CONCURRENCY and PORT
    assert "dialer.scheduler" in lines["scheduler"]


def test_dialer_web_refuses_an_unmigrated_database_in_one_line(empty_db_url: str) -> None:
    proc = subprocess.run(
        [PYTHON, "-m", "dialer.cli", "web", "--port", "0"],
        env=_env(empty_db_url) | {"WEB_CONCURRENCY": "2"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3, proc.stderr
    assert _last_lines(proc.stderr) == [
        "error: database schema not current: found an empty database (no schema revision), "
        f"this version needs {head_revision()}; run `dialer db upgrade`"
    ]
