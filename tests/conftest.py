"""Fixtures only (shared helpers live in helpers.py): every API test runs on SQLite
and on PostgreSQL.

PostgreSQL is a throw-away cluster started once per session (once per xdist worker)
on loopback (`dialer.testing.postgres`); each test gets a fresh database cloned from
a migrated template and dropped after the test, each SQLite test a copy of a
migrated template file in its own tmp_path.

Under pytest-xdist (scripts/test runs `-n auto`) tests marked `serial` run while no
other test of the run does; the hooks at the end arrange that."""

from __future__ import annotations

import fcntl
import itertools
import os
import shutil
import tempfile
from collections.abc import Generator, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from helpers import Api, LiveServer, make_settings

from dialer.agents import passwords
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
    # Dropped rather than kept: ~9 MB a clone, some 200 clones a run. The fixtures
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


@pytest.fixture
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its cheapest: its recommended parameters take ~0.1 s a hash, and
    sign-in tests make dozens (`pytestmark = pytest.mark.usefixtures(...)`)."""
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=64))


@pytest.fixture
def server(db_url: str) -> Iterator[LiveServer]:
    """The app served over real HTTP on the test's database (event streams)."""
    live = LiveServer(make_settings(db_url))
    try:
        yield live
    finally:
        live.close()


# -- Parallel runs (pytest-xdist) ------------------------------------------------
# Each worker is its own process with its own PostgreSQL cluster (pg_cluster) and
# tmp_path root, so tests share nothing but the machine. A test marked `serial`
# asserts a wall-clock bound (a send within 0.2 s, a batch gathered during a 0.3 s
# hold) that a neighbour worker's load could break; it runs while no other test of
# this run does. A reader-writer lock over two files does that: every test holds
# "run" shared, a serial test holds it exclusive, and "gate" (taken by a serial test
# while it waits, and briefly by every other test on its way in) keeps the other
# workers from starving it.

_LOCK_DIR = pytest.StashKey[Path]()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: the CPUs this process may run on. xdist counts physical cores
    instead when psutil happens to be installed, and the suite, mostly waiting,
    gains from a worker per logical CPU too."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist reads the override itself
    return len(os.sched_getaffinity(0))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Controller side: one directory of lock files per run, handed to each worker."""
    config = node.config
    if _LOCK_DIR not in config.stash:
        config.stash[_LOCK_DIR] = Path(tempfile.mkdtemp(prefix="dialer-tests-"))
    node.workerinput["dialer_lock_dir"] = str(config.stash[_LOCK_DIR])


def pytest_unconfigure(config: pytest.Config) -> None:
    lock_dir = config.stash.get(_LOCK_DIR, None)
    if lock_dir is not None:
        shutil.rmtree(lock_dir, ignore_errors=True)


@contextmanager
def _turn(lock_dir: Path, *, alone: bool) -> Iterator[None]:
    with (lock_dir / "gate").open("a") as gate, (lock_dir / "run").open("a") as run:
        fcntl.flock(gate, fcntl.LOCK_EX)
        try:
            fcntl.flock(run, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        finally:
            if not alone:
                fcntl.flock(gate, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(run, fcntl.LOCK_UN)
            if alone:
                fcntl.flock(gate, fcntl.LOCK_UN)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Under xdist the serial tests go last (every worker collects the same order, as
    # xdist requires): each makes the other workers wait for it, and scattered
    # through the run that cost ~7 s of a ~66 s run on 2 cores; last, next to
    # nothing. (--dist loadgroup would send them to one worker, but pytest 9.2
    # silently breaks its grouping: pytest-dev/pytest-xdist#1386.)
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: item.get_closest_marker("serial") is not None)


_exclusive: ExitStack | None = None  # held across consecutive serial tests


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    global _exclusive
    workerinput = getattr(item.config, "workerinput", None)
    if workerinput is None:  # one process: nothing runs beside this test anyway
        return (yield)
    lock_dir = Path(workerinput["dialer_lock_dir"])
    if item.get_closest_marker("serial") is None:
        with _turn(lock_dir, alone=False):
            return (yield)
    if _exclusive is None:
        _exclusive = ExitStack()
        _exclusive.enter_context(_turn(lock_dir, alone=True))
    try:
        return (yield)
    finally:
        if nextitem is None or nextitem.get_closest_marker("serial") is None:
            _exclusive.close()
            _exclusive = None
