"""The history tests' PostgreSQL: a throwaway cluster (initdb in a temporary folder, listening on
127.0.0.1 and a free port) started once per session and stopped at its end, plus `history_url`,
which runs a test once against SQLite and once against PostgreSQL.

Registered for the whole suite from tests/conftest.py (`pytest_plugins`), so integration tests
use the same fixtures. As root, the server runs as the `postgres` user (it refuses root), and
its folder belongs to that user. Without PostgreSQL (`make test` installs it), the PostgreSQL
half of each test is skipped, and in CI that is an error.

The session also turns the history off by default (STABLEBUILD_HISTORY=off): a validate or
audit under test must not leave `.stablebuild/` in the fixture folders it runs in. Tests of
the history name their store with --history, which wins over the environment.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

START_TIMEOUT_S = 60.0
SERVER_USER = "postgres"


def find_bindir() -> Path | None:
    """The folder holding initdb and postgres: on PATH, else Debian's newest version."""
    found = shutil.which("initdb")
    if found:
        real = Path(found).resolve().parent
        if (real / "postgres").exists():
            return real
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(versions[-1]).parent if versions else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user() -> dict[str, Any]:
    """Popen arguments that drop root to the postgres user (the server refuses to run as root)."""
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam(SERVER_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


@dataclass
class Cluster:
    """One running PostgreSQL server of our own; `url()` reaches it, `stop()` ends it."""

    bindir: Path
    folder: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    @classmethod
    def start(cls, bindir: Path) -> Cluster:
        # NOTE: not under pytest's tmp_path: its parents are 0700 root, which the postgres
        # user could not traverse.
        folder = Path(tempfile.mkdtemp(prefix="stablebuild-pg-"))
        cluster = cls(bindir, folder, free_port())
        try:
            cluster._init()
            cluster._run()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _init(self) -> None:
        drop = _as_server_user()
        if drop:
            os.chown(self.folder, drop["user"], drop["group"])
        done = subprocess.run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            **drop,
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed ({done.returncode}): {done.stderr[-2000:]}")

    def _run(self) -> None:
        log = open(self.log, "wb")  # noqa: SIM115  (the server writes it as long as it runs)
        self.process = subprocess.Popen(
            [
                str(self.bindir / "postgres"),
                "-D",
                str(self.data),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-k",
                str(self.folder),
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "synchronous_commit=off",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            **_as_server_user(),
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.log.read_text()[-2000:]}")
            if self.ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"postgres did not answer in {START_TIMEOUT_S:g} s")

    def ready(self) -> bool:
        import psycopg2

        try:
            psycopg2.connect(self.url(), connect_timeout=2).close()
        except psycopg2.OperationalError:
            return False
        return True

    def url(self, schema: str | None = None) -> str:
        url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        if schema is not None:
            url += f"?options=-c%20search_path%3D{schema}"
        return url

    def execute(self, sql: str) -> None:
        import psycopg2

        connection = psycopg2.connect(self.url(), connect_timeout=5)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(sql)
        finally:
            connection.close()

    def kill(self) -> None:
        """SIGKILL the server, as a crash or an OOM killer would: nothing is shut down cleanly."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while self.ready() and time.monotonic() < deadline:  # its backends exit on their own
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        shutil.rmtree(self.folder, ignore_errors=True)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI: {reason}; `make test` should have installed PostgreSQL", pytrace=False)
    pytest.skip(reason)


def start_cluster() -> Cluster:
    bindir = find_bindir()
    if bindir is None:
        _unavailable("PostgreSQL is not installed (scripts/ensure-postgres.sh installs it)")
    assert bindir is not None
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        _unavailable("psycopg2 is not installed (pip install -e '.[dev]')")
    return Cluster.start(bindir)


@pytest.fixture(scope="session", autouse=True)
def _history_off_by_default() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STABLEBUILD_HISTORY", "off")
        yield


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """The session's PostgreSQL server (started on first use)."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def own_cluster() -> Iterator[Cluster]:
    """A server of the test's own, for tests that kill it."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def history_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty history store: a SQLite file, or a schema of its own in PostgreSQL."""
    if request.param == "sqlite":
        yield str(tmp_path / "history.sqlite")
        return
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    schema = f"t_{secrets.token_hex(6)}"
    cluster.execute(f"CREATE SCHEMA {schema}")
    try:
        yield cluster.url(schema)
    finally:
        with contextlib.suppress(Exception):
            cluster.execute(f"DROP SCHEMA {schema} CASCADE")
