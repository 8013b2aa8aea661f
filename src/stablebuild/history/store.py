"""Open the store a location names: SQLite by default, PostgreSQL for a postgresql:// URL."""

from __future__ import annotations

from stablebuild.history.interface import HistoryError, HistoryStore
from stablebuild.history.location import Location


def open_store(location: Location, *, create: bool = True) -> HistoryStore:
    """The store at `location`, migrated. `create=False`: a missing SQLite file is an error
    (reading commands do not leave an empty database behind).

    Raises HistoryUnavailable when it cannot be reached, HistoryError when it is off.
    """
    if location.kind == "postgresql" and location.url is not None:
        # NOTE: imported here: psycopg2 costs start-up time that a SQLite user never pays.
        from stablebuild.history.postgres import PostgresStore

        return PostgresStore(location.url)
    if location.kind == "sqlite" and location.path is not None:
        from stablebuild.history.sqlite import SqliteStore

        return SqliteStore(location.path, create=create)
    raise HistoryError("the history is off (history: off)", "name a store with --history")


__all__ = ["open_store"]
