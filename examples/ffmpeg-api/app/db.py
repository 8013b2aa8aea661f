"""Engine, sessions and schema creation: PostgreSQL in containers, SQLite in tests."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from .config import get_settings

log = logging.getLogger(__name__)


class Base(DeclarativeBase):
    """The declarative base every table derives from."""


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets the settings a threaded web server needs."""
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"check_same_thread": False})
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    """The process's engine, built from `DATABASE_URL`."""
    return make_engine(get_settings().database_url)


@lru_cache(maxsize=1)
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def reset() -> None:
    """Forget the cached engine (tests, after changing `DATABASE_URL`)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_sessionmaker.cache_clear()
    get_engine.cache_clear()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session committed on success and rolled back on error."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def init_db(engine: Engine, attempts: int = 30, delay_s: float = 1.0) -> None:
    """Create the tables, waiting for the database to accept connections.

    The API and every worker call this at start-up, possibly at the same moment: a concurrent
    CREATE TABLE loses with an IntegrityError or ProgrammingError and simply tries again.
    """
    from . import models  # noqa: F401  (registers the tables on Base.metadata)

    for attempt in range(1, attempts + 1):
        try:
            Base.metadata.create_all(engine)
            return
        except (OperationalError, IntegrityError, ProgrammingError) as exc:
            if attempt == attempts:
                raise
            log.warning(
                "database not ready (%s), retry %d/%d", exc.__class__.__name__, attempt, attempts
            )
            time.sleep(delay_s)


def ping(engine: Engine) -> None:
    """Raise unless the database answers a trivial query."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
