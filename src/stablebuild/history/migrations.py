"""The history schema, as numbered migrations: each is applied once, in order, in one
transaction, and recorded in `schema_migrations`.

Policy (docs/history.md): a released migration is never edited or removed; a change to the
schema is a new migration with the next number, written for both dialects, that keeps every
recorded run readable. A store whose newest migration is above `LATEST` was written by a newer
stablebuild: it is read and written by none older.
"""

from __future__ import annotations

from typing import NamedTuple


class Migration(NamedTuple):
    version: int
    summary: str
    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]

    def statements(self, dialect: str) -> tuple[str, ...]:
        return self.sqlite if dialect == "sqlite" else self.postgresql


# Column types per dialect: the same schema, in each one's own words.
_TYPES = {
    "sqlite": {"time": "TEXT", "bool": "INTEGER", "big": "INTEGER", "real": "REAL"},
    "postgresql": {
        "time": "TIMESTAMPTZ",
        "bool": "BOOLEAN",
        "big": "BIGINT",
        "real": "DOUBLE PRECISION",
    },
}

_V1 = (
    """CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        stack TEXT NOT NULL,
        profile TEXT,
        git_commit TEXT,
        git_branch TEXT,
        git_dirty {bool},
        engine TEXT,
        tool_version TEXT NOT NULL,
        started_at {time} NOT NULL,
        finished_at {time},
        status TEXT NOT NULL,
        complete {bool} NOT NULL
    )""",
    "CREATE INDEX runs_by_stack ON runs (stack, kind, started_at)",
    """CREATE TABLE images (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        position INTEGER NOT NULL,
        build_status TEXT NOT NULL,
        build_seconds {real},
        image_id TEXT,
        size_bytes {big},
        layers INTEGER,
        healthy_seconds {real},
        health_passed {bool},
        python_version TEXT,
        checks_passed INTEGER NOT NULL,
        checks_failed INTEGER NOT NULL,
        checks_error INTEGER NOT NULL,
        checks_skipped INTEGER NOT NULL,
        from_cache {bool} NOT NULL,
        ok {bool} NOT NULL,
        diagnosis TEXT,
        log_tail TEXT,
        PRIMARY KEY (run_id, name)
    )""",
    """CREATE TABLE failed_checks (
        run_id TEXT NOT NULL,
        image TEXT NOT NULL,
        check_id TEXT NOT NULL,
        status TEXT NOT NULL,
        message TEXT NOT NULL,
        PRIMARY KEY (run_id, image, check_id),
        FOREIGN KEY (run_id, image) REFERENCES images (run_id, name) ON DELETE CASCADE
    )""",
    """CREATE TABLE audit_findings (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (run_id, rule, severity)
    )""",
)


def _both(summary: str, version: int, statements: tuple[str, ...]) -> Migration:
    return Migration(
        version,
        summary,
        tuple(s.format(**_TYPES["sqlite"]) for s in statements),
        tuple(s.format(**_TYPES["postgresql"]) for s in statements),
    )


# NOTE: nullable, and read as COALESCE(recorded_at, started_at): runs recorded before it have
# none, and a migration never rewrites what was recorded.
_V2 = ("ALTER TABLE runs ADD COLUMN recorded_at {time}",)

# Promotions and rollbacks of release channels (docs/releases.md); `images` is a JSON object,
# image name -> image id, the set the channel held after the event.
_V3 = (
    """CREATE TABLE releases (
        stack TEXT NOT NULL,
        channel TEXT NOT NULL,
        position INTEGER NOT NULL,
        action TEXT NOT NULL,
        run_id TEXT NOT NULL,
        at {time} NOT NULL,
        who TEXT NOT NULL,
        git_commit TEXT,
        images TEXT NOT NULL,
        note TEXT NOT NULL,
        PRIMARY KEY (stack, channel, position)
    )""",
)

# Which engine built each image, and the engines of a run that used several (a JSON list of
# objects: name, endpoint, server_version, os_arch, cpus, memory_bytes, runtimes, reachable);
# and an index for `history --branch` and the regression baseline, which read by branch.
_V4 = (
    "ALTER TABLE runs ADD COLUMN engines TEXT",
    "ALTER TABLE images ADD COLUMN engine TEXT",
    "CREATE INDEX runs_by_branch ON runs (stack, kind, git_branch, started_at)",
)

# The window `history` reads: runs_window holds the runs' whole order (started_at, then the
# recording time, then id), so that the newest N come off the index without sorting thousands;
# it starts as runs_by_stack does, which it replaces.
_V5 = (
    "CREATE INDEX runs_window ON runs "
    "(stack, kind, started_at, COALESCE(recorded_at, started_at), id)",
    "DROP INDEX runs_by_stack",
)
# NOTE: SQLite only: it reads a window's image rows by one index search per run, and this
# index answers them without the table (a third less time for 10,000 runs); PostgreSQL
# hash-joins the table and would only pay for the index on every write.
_V5_SQLITE = (
    "CREATE INDEX images_window ON images (run_id, name, build_status, ok, health_passed, "
    "build_seconds, size_bytes, healthy_seconds)",
)

MIGRATIONS: tuple[Migration, ...] = (
    _both("runs, images, failed checks and audit finding counts", 1, _V1),
    _both("runs.recorded_at: orders runs that started in the same second", 2, _V2),
    _both("releases: promotions and rollbacks of release channels", 3, _V3),
    _both("runs.engines, images.engine; the index runs_by_branch", 4, _V4),
    Migration(
        5,
        "the index runs_window (replaces runs_by_stack); SQLite: the index images_window",
        (*_V5, *_V5_SQLITE),
        _V5,
    ),
)
LATEST = MIGRATIONS[-1].version

# Created before any migration, so that applying one can be recorded.
BOOKKEEPING = {
    "sqlite": """CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        summary TEXT NOT NULL,
        applied_at TEXT NOT NULL
    )""",
    "postgresql": """CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        summary TEXT NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL
    )""",
}

__all__ = ["BOOKKEEPING", "LATEST", "MIGRATIONS", "Migration"]
