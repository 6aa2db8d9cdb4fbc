"""Fixtures only (shared helpers live in helpers.py): every API test runs on SQLite
and on PostgreSQL.

PostgreSQL is a throw-away cluster started once per session (once per xdist worker)
on loopback (`dialer.testing.postgres`); each test gets a fresh database cloned from
a migrated template and dropped after the test, each SQLite test a copy of a
migrated template file in its own tmp_path."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers import Api, make_settings

from dialer.app import create_app
from dialer.migrations import upgrade
from dialer.settings import Settings
from dialer.testing.postgres import PostgresCluster, find_pg_bin_dir

_ENGINES = [
    e.strip()
    for e in os.environ.get("DIALER_TEST_ENGINES", "sqlite,postgresql").split(",")
    if e.strip()
]
_counter = itertools.count()
_PG_TEMPLATE = "dialer_template"
_PG_PREFIX = "t_"  # the per-test clones; the session checks none is left at its end
_PG_RAM_NEEDED = 1 << 30


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def _pg_base_dir() -> Path | None:
    """The cluster's directory in RAM when there is room: cloning and dropping a
    database is mostly file creation and deletion, and on a disk (measured on a
    2-core VM) a PostgreSQL test's set-up took ~130 ms that way, ~20 ms on tmpfs.
    Clones are dropped after each test, so the cluster stays near 150 MB; a small
    /dev/shm (Docker's default is 64 MB) falls back to the temp directory."""
    shm = Path("/dev/shm")
    try:
        free = os.statvfs(shm)
    except OSError:
        return None
    if not shm.is_dir() or free.f_bavail * free.f_frsize < _PG_RAM_NEEDED:
        return None
    return Path(tempfile.mkdtemp(prefix="pgtest-", dir=shm))


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    if find_pg_bin_dir() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    # One cluster per xdist worker (its own port and directory): workers never share
    # a template, a database name or a server to wait on.
    cluster = PostgresCluster(base_dir=_pg_base_dir())
    cluster.start()
    url = cluster.create_database(_PG_TEMPLATE)
    upgrade(url)  # disposes its engine: a clone's template must have no session
    yield cluster
    try:
        left = [name for name in cluster.database_names() if name.startswith(_PG_PREFIX)]
        # Every clone is dropped at its test's teardown; one left over means a drop
        # was skipped, and a run would again leave GBs behind until its end.
        assert not left, f"test databases were not dropped: {left}"
    finally:
        cluster.stop()


@pytest.fixture(params=_ENGINES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        target = tmp_path / "dialer.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    name = f"{_PG_PREFIX}{next(_counter)}"
    yield cluster.clone_database(name=name, template=_PG_TEMPLATE)
    # Dropped rather than kept: ~9 MB a clone, some 400 clones a run. The fixtures
    # that use db_url (client, ...) are torn down before this, and FORCE ends what a
    # test left connected.
    cluster.drop_database(name=name)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    settings = settings.model_copy(update={"auto_upgrade": False})
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)
