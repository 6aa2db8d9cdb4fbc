"""Throw-away PostgreSQL clusters on loopback for tests and benchmarks.

A real server catches SQL and locking behaviour that SQLite or mocks hide; durability is
switched off because the data is discarded anyway and start-up/commit speed matters more.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shlex
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self
from urllib.parse import quote

import psycopg
from psycopg import sql

_BINARIES = ("initdb", "pg_ctl", "postgres")
_OS_USER = "postgres"  # initdb/pg_ctl refuse to run as root, so root (CI) borrows this user
_INITDB_OPTS = "-A trust -U postgres --encoding=UTF8 --locale=C --no-sync --no-instructions"
_SERVER_CONF = """
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
"""


def _has_binaries(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in _BINARIES)


def find_pg_bin_dir() -> Path | None:
    """Prefer PATH so a deliberately chosen install beats Debian's versioned directories."""
    on_path = shutil.which("initdb")
    if on_path is not None and _has_binaries(Path(on_path).parent):
        return Path(on_path).parent
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    for directory in sorted(versions, key=lambda p: int(p.parent.name), reverse=True):
        if _has_binaries(directory):
            return directory
    return None


def _free_port() -> int:
    # Racy by nature (someone may grab the port before postgres binds it); start() retries.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unreachable_ancestor(path: Path, user: pwd.struct_passwd) -> Path | None:
    """Find a directory ``user`` cannot traverse, because initdb's own error is cryptic."""
    for directory in path.resolve().parents:
        st = directory.stat()
        if st.st_uid == user.pw_uid:
            needed = stat.S_IXUSR
        elif st.st_gid == user.pw_gid:
            needed = stat.S_IXGRP
        else:
            needed = stat.S_IXOTH
        if not st.st_mode & needed:
            return directory
    return None


class PostgresCluster:
    """One private postmaster whose whole state lives in ``base_dir``; stop() deletes it."""

    def __init__(self, *, base_dir: Path | None = None, port: int | None = None) -> None:
        bin_dir = find_pg_bin_dir()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found")
        if base_dir is not None and base_dir.exists() and any(base_dir.iterdir()):
            # stop() deletes base_dir, so refuse anything that may hold someone else's files.
            raise ValueError(f"base_dir {base_dir} must be absent or empty")
        self._bin_dir = bin_dir
        self.base_dir = base_dir or Path(tempfile.mkdtemp(prefix="pgtest-"))
        self._auto_port = port is None
        self.port = port if port is not None else _free_port()
        self.data_dir = self.base_dir / "data"
        self.log_path = self.base_dir / "server.log"
        # One maintenance connection for clone/drop: a test suite clones per test, and
        # a connection per clone and per drop cost ~5 ms each.
        self._admin: psycopg.Connection[tuple[object, ...]] | None = None

    def _run(self, binary: str, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [str(self._bin_dir / binary), *args]
        if os.geteuid() == 0:
            if shutil.which("runuser"):
                argv = ["runuser", "-u", _OS_USER, "--", *argv]
            else:
                argv = ["su", _OS_USER, "-s", "/bin/sh", "-c", shlex.join(argv)]
        # cwd=base_dir: the postgres user may not be allowed to enter the caller's cwd.
        return subprocess.run(
            argv, cwd=self.base_dir, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "<no server log>"

    def _fail(self, step: str, result: subprocess.CompletedProcess[str]) -> RuntimeError:
        return RuntimeError(
            f"PostgreSQL {step} failed (exit {result.returncode}) in {self.base_dir}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\n"
            f"server log tail:\n{self._log_tail()}"
        )

    def start(self) -> None:
        """Initialise and start the server, returning only once it accepts connections."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam(_OS_USER)
            except KeyError:
                raise RuntimeError(f"running as root needs a '{_OS_USER}' system user") from None
            blocked = _unreachable_ancestor(self.base_dir, user)
            if blocked is not None:
                msg = f"user '{_OS_USER}' cannot enter {blocked}; choose a base_dir it can reach"
                raise RuntimeError(msg)
            os.chown(self.base_dir, user.pw_uid, user.pw_gid)
        atexit.register(self.stop)  # a crashed run must not leave a postmaster behind
        result = self._run("initdb", "-D", str(self.data_dir), *_INITDB_OPTS.split())
        if result.returncode != 0:
            raise self._fail("initdb", result)
        socket_dir = str(self.base_dir).replace("'", "''")
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"{_SERVER_CONF}unix_socket_directories = '{socket_dir}'\n")
        for retries_left in (2, 1, 0):
            result = self._run(
                "pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_path),
                "-w", "-t", "60", "-o", f"-p {self.port}",
            )  # fmt: skip
            if result.returncode == 0:
                return
            tail = self._log_tail()
            lost_port_race = "could not bind" in tail or "already in use" in tail
            if not (self._auto_port and lost_port_race and retries_left):
                raise self._fail("start", result)
            self.port = _free_port()
            time.sleep(0.1)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{quote(database, safe='')}"

    def create_database(self, name: str) -> str:
        """Recreate ``name`` from scratch so reruns never see a previous run's leftovers."""
        # CREATE/DROP DATABASE cannot run inside a transaction block, hence autocommit.
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            ident = sql.Identifier(name)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
        return self.url(name)

    def _admin_connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._admin is None or self._admin.closed:
            # CREATE/DROP DATABASE cannot run inside a transaction block, hence autocommit.
            self._admin = psycopg.connect(
                host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                autocommit=True,
            )  # fmt: skip
        return self._admin

    def clone_database(self, *, name: str, template: str) -> str:
        """A new database ``name`` copied from ``template``, which must have no sessions.

        STRATEGY FILE_COPY: PostgreSQL 15's default (WAL_LOG) also writes every page of
        the copy to the WAL, twice the bytes for a clone that lives for one test;
        FILE_COPY's checkpoints cost little with fsync off (a ~9 MB clone on tmpfs:
        ~11 ms against ~15 ms)."""
        self._admin_connection().execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
        return self.url(name)

    def drop_database(self, *, name: str) -> None:
        """Drop ``name`` even if sessions are still open on it (FORCE ends them): a test
        that failed half-way may leave a pool or a server thread connected."""
        self._admin_connection().execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    def database_names(self) -> list[str]:
        rows = self._admin_connection().execute(
            "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY datname"
        )
        return [str(row[0]) for row in rows]

    def stop(self) -> None:
        """Kill the server without a checkpoint (nothing is worth keeping), delete its files."""
        atexit.unregister(self.stop)
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        # Keyed on the pid file, not on start() succeeding: a timed-out start may still be up.
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", "-w")
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
