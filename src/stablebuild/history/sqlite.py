"""The default history store: one SQLite file, `.stablebuild/history.sqlite` beside the
manifest, in WAL mode so that readers never wait and writers wait their turn (busy timeout).

The folder gets a `.gitignore` for the history's files: the history is the machine's, not the
repository's.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stablebuild import atomic
from stablebuild.history.interface import HistoryUnavailable
from stablebuild.history.location import FOLDER
from stablebuild.history.sql import Cursor, SqlStore

BUSY_TIMEOUT_S = 15.0  # two validates finishing together wait for each other, not fail
# NOTE: only the history's own files: other things may live in .stablebuild/ (a vulnerability
# database kept there, say) and whether they are committed is the user's choice.
GITIGNORE = (
    "# Written by stablebuild: the build history of this machine, never committed.\n"
    ".gitignore\nhistory.sqlite\nhistory.sqlite-*\n"
)


def _not_a_file(path: Path) -> str | None:
    """Why `path` cannot hold the database, or None (a missing file is fine)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return exc.strerror or str(exc)
    return None if stat.S_ISREG(mode) else f"it is {atomic.kind_of(mode)}, not a regular file"


def _wait_for_background_record(path: Path) -> None:
    """Wait (at most BUSY_TIMEOUT_S) until no background record holds the store's `flock`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return  # NOTE: opening the store says what is wrong with it
    try:
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return  # NOTE: SQLite's own locks keep the store whole either way
                time.sleep(0.01)
            except OSError:
                return
    finally:
        os.close(fd)  # NOTE: releases the shared lock: nothing is held while open


class SqliteStore(SqlStore):
    dialect = "sqlite"
    mark = "?"

    def __init__(self, path: Path, *, create: bool = True, waits: bool = True) -> None:
        """Open (and with `create`, make and migrate) the store at `path`, once a run being
        recorded in the background is in it (`waits`; `background.py`).

        Raises HistoryUnavailable when it cannot be opened, or does not exist and `create` is
        False.
        """
        self.path = path
        self.where = str(path)
        problem = _not_a_file(path)
        if problem is not None:
            raise HistoryUnavailable(f"history {path}: {problem}", "remove it or use --history")
        if not path.exists():
            if not create:
                raise HistoryUnavailable(
                    f"no history at {path}: nothing was recorded there yet",
                    "run `stablebuild validate` first, or name the store with --history",
                )
            self._make_folder(path.parent)
        elif waits:
            _wait_for_background_record(path)
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                self._open(path)
                self.migrate()
                return
            except sqlite3.Error as exc:
                with contextlib.suppress(AttributeError, sqlite3.Error):
                    self.connection.close()
                # NOTE: a store several runs open for the first time at once: switching it to
                # WAL, or reading it while another makes its WAL index, can be refused without
                # SQLite's busy wait. Those few moments are waited out like any busy store.
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise self._unavailable(exc) from None
            time.sleep(0.05)

    def _open(self, path: Path) -> None:
        # NOTE: isolation_level=None: transactions are begun by hand, so that a write can
        # take the lock up front (BEGIN IMMEDIATE) rather than fail half-way on upgrade.
        self.connection = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        self.connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        self.connection.execute("PRAGMA journal_mode = WAL")
        self.connection.execute("PRAGMA synchronous = NORMAL")
        self.connection.execute("PRAGMA foreign_keys = ON")

    def _make_folder(self, folder: Path) -> None:
        """The folder, with its `.gitignore` when it is the default `.stablebuild`."""
        try:
            if folder.is_symlink():
                raise HistoryUnavailable(
                    f"history folder {folder} is a symbolic link; it is never followed",
                    "remove it, or name another store with --history",
                )
            folder.mkdir(parents=folder.name != FOLDER, exist_ok=True)
            ignore = folder / ".gitignore"
            if folder.name == FOLDER and not os.path.lexists(ignore):
                atomic.write_text(ignore, GITIGNORE)
        except OSError as exc:
            raise HistoryUnavailable(
                f"history folder {folder} cannot be made: {exc.strerror or exc}",
                "make it writable, or name another store with --history",
            ) from None

    def _unavailable(self, exc: sqlite3.Error) -> HistoryUnavailable:
        return HistoryUnavailable(
            f"history {self.path}: {exc}", "check that the file is a stablebuild history"
        )

    @contextmanager
    def _write(self) -> Iterator[Cursor]:
        cursor = self.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                if self.connection.in_transaction:
                    cursor.execute("ROLLBACK")
            raise self._unavailable(exc) from None
        finally:
            cursor.close()

    @contextmanager
    def _read(self) -> Iterator[Cursor]:
        cursor = self.connection.cursor()
        try:
            cursor.execute("BEGIN")
            try:
                yield cursor
            finally:
                cursor.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from None
        finally:
            cursor.close()

    def _quick_version(self) -> int:
        # NOTE: one statement, no transaction around it: opening an up-to-date store to record
        # a run costs this and nothing more.
        try:
            row = self.connection.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return 0
            raise
        return int(row[0]) if row and row[0] is not None else 0

    def _has_bookkeeping(self, cursor: Cursor) -> bool:
        cursor.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        )
        return cursor.fetchone() is not None

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.connection.close()


__all__ = ["GITIGNORE", "SqliteStore"]
