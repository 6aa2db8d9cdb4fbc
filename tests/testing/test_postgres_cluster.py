"""The cluster helper underpins every database test, so it must provably start and clean up."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from dialer.testing.postgres import PostgresCluster, find_pg_bin_dir

pytestmark = pytest.mark.skipif(
    find_pg_bin_dir() is None,
    reason="PostgreSQL server binaries (initdb/pg_ctl/postgres) not found on PATH "
    "or under /usr/lib/postgresql/*/bin",
)


def test_cluster_serves_queries_and_removes_its_files() -> None:
    cluster = PostgresCluster()
    base_dir = cluster.base_dir
    try:
        cluster.start()
        url = cluster.create_database("dialer_test")
        assert url == f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/dialer_test"
        # Recreating must succeed: reruns rely on create_database being repeatable.
        assert cluster.create_database("dialer_test") == url
        with psycopg.connect(
            host="127.0.0.1", port=cluster.port, user="postgres", dbname="dialer_test"
        ) as conn:
            row = conn.execute("select 1").fetchone()
        assert row == (1,)
    finally:
        cluster.stop()
    assert not base_dir.exists()
    cluster.stop()  # a second stop must be a harmless no-op


def test_explicit_base_dir_with_context_manager() -> None:
    # The parent must be traversable: under root the server runs as the postgres user.
    parent = Path(tempfile.mkdtemp(prefix="pgtest-parent-"))
    try:
        parent.chmod(0o755)
        target = parent / "cluster"
        with PostgresCluster(base_dir=target) as cluster:
            assert cluster.create_database("ctx_db").endswith("/ctx_db")
        assert not target.exists()
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def test_refuses_non_empty_base_dir(tmp_path: Path) -> None:
    # stop() deletes base_dir, so handing it a directory with foreign files must fail.
    (tmp_path / "keep.txt").write_text("not ours")
    with pytest.raises(ValueError, match="absent or empty"):
        PostgresCluster(base_dir=tmp_path)
    assert (tmp_path / "keep.txt").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root delegates to the postgres user")
def test_unreachable_base_dir_fails_clearly(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)  # pytest's tmp dirs for root are private already; be explicit
    cluster = PostgresCluster(base_dir=tmp_path / "cluster")
    with pytest.raises(RuntimeError, match="cannot enter"):
        cluster.start()
    cluster.stop()
