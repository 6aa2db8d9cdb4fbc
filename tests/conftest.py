"""Fixtures only (shared helpers live in helpers.py): every API test runs on SQLite
and on PostgreSQL.

PostgreSQL is a throw-away cluster started once per session on loopback
(`dialer.testing.postgres`); each test gets a fresh database cloned from a
migrated template, each SQLite test a copy of a migrated template file."""

from __future__ import annotations

import itertools
import os
import shutil
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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    if find_pg_bin_dir() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    cluster = PostgresCluster()
    cluster.start()
    url = cluster.create_database("dialer_template")
    upgrade(url)
    yield cluster
    cluster.stop()


def _pg_clone(cluster: PostgresCluster, name: str) -> str:
    import psycopg

    with psycopg.connect(
        cluster.url().replace("postgresql+psycopg", "postgresql"), autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE dialer_template')
    return cluster.url(name)


@pytest.fixture(params=_ENGINES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "dialer.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    return _pg_clone(cluster, f"t{os.getpid()}_{next(_counter)}")


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
