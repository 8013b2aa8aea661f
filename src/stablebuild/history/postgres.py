"""The team history store: a PostgreSQL database reached through psycopg2 (the `postgres`
extra). Every stablebuild pointed at the same database shares one history.

Migrations take a transaction-scoped advisory lock, so two first runs at once apply each
migration once. A connection never waits long: a store that does not answer is a warning in
the validate that wanted it, not a hung CI job.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from stablebuild.history.interface import HistoryUnavailable
from stablebuild.history.location import masked_url
from stablebuild.history.sql import Cursor, SqlStore

CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_MS = 20_000
# Any fixed number: the key of the advisory lock stablebuild's migrations hold.
MIGRATION_LOCK = 0x5B_1571


class PostgresStore(SqlStore):
    dialect = "postgresql"
    mark = "%s"

    def __init__(self, url: str) -> None:
        """Connect to `url` and apply missing migrations. Raises HistoryUnavailable."""
        self.where = masked_url(url)
        try:
            # NOTE: through importlib: psycopg2 ships no type hints, and this module only
            # passes its objects along (connection, cursor, Error).
            psycopg2: Any = importlib.import_module("psycopg2")
        except ImportError:
            raise HistoryUnavailable(
                "a PostgreSQL history needs psycopg2, which is not installed",
                "pip install 'stablebuild[postgres]'",
            ) from None
        self._errors: tuple[type[BaseException], ...] = (psycopg2.Error,)
        try:
            self.connection: Any = psycopg2.connect(
                url,
                connect_timeout=CONNECT_TIMEOUT_S,
                application_name="stablebuild",
            )
        except psycopg2.Error as exc:
            raise self._unavailable(exc) from None
        try:
            # NOTE: set here, not as `options=` to connect(): that would replace any options
            # the URL itself carries (a search_path, say).
            # NOTE: one round trip for the settings and the first half of the schema check.
            with self._write() as cursor:
                cursor.execute(
                    f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}; SET TIME ZONE 'UTC'; "
                    "SELECT to_regclass('schema_migrations') IS NOT NULL"
                )
                current = self._version(cursor, known=bool(cursor.fetchone()[0]))
            self.migrate(current)
        except BaseException:
            self.close()
            raise

    def _unavailable(self, exc: BaseException) -> HistoryUnavailable:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return HistoryUnavailable(
            f"history {self.where}: {masked_url(first)}",
            "check that the server runs and the URL is right, or record elsewhere (--history)",
        )

    @contextmanager
    def _transaction(self, isolation: str | None) -> Iterator[Cursor]:
        try:
            cursor = self.connection.cursor()
            try:
                if isolation is not None:
                    cursor.execute(f"SET TRANSACTION ISOLATION LEVEL {isolation}")
                yield cursor
            except BaseException:
                with contextlib.suppress(*self._errors):
                    self.connection.rollback()
                raise
            else:
                self.connection.commit()
            finally:
                with contextlib.suppress(*self._errors):
                    cursor.close()
        except self._errors as exc:
            raise self._unavailable(exc) from None

    @contextmanager
    def _write(self) -> Iterator[Cursor]:
        with self._transaction(None) as cursor:
            yield cursor

    @contextmanager
    def _read(self) -> Iterator[Cursor]:
        with self._transaction("REPEATABLE READ, READ ONLY") as cursor:
            yield cursor

    def _has_bookkeeping(self, cursor: Cursor) -> bool:
        cursor.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
        row = cursor.fetchone()
        return bool(row and row[0])

    def _lock_migrations(self, cursor: Cursor) -> None:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))

    def close(self) -> None:
        with contextlib.suppress(*getattr(self, "_errors", ()), AttributeError):
            self.connection.close()


__all__ = ["PostgresStore"]
