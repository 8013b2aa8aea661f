"""What both SQL stores share: the queries, rows to records and back, and migrating.

A dialect fills in the connection, its transactions, its parameter mark and how a timestamp
travels; the SQL itself is written once here.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from stablebuild.history.interface import (
    FailedCheck,
    FindingCount,
    GitInfo,
    HistoryError,
    HistoryStore,
    ImageRecord,
    RunKind,
    RunQuery,
    RunRecord,
)
from stablebuild.history.migrations import BOOKKEEPING, LATEST, MIGRATIONS

Cursor = Any  # a DB-API cursor: sqlite3's or psycopg2's

_RUN_COLUMNS = (
    "id, kind, stack, profile, git_commit, git_branch, git_dirty, engine, tool_version, "
    "started_at, finished_at, status, complete"
)
_IMAGE_COLUMNS = (
    "run_id, name, position, build_status, build_seconds, image_id, size_bytes, layers, "
    "healthy_seconds, health_passed, python_version, checks_passed, checks_failed, "
    "checks_error, checks_skipped, from_cache, ok, diagnosis, log_tail"
)
_IMAGE_SUMMARY = _IMAGE_COLUMNS.replace(", log_tail", ", NULL")


def utc_iso(value: str) -> str:
    """An ISO 8601 time as UTC with seconds: the one spelling every stored time has."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


_KINDS = {kind.value: kind for kind in RunKind}
# Runs recorded before migration 2 have no recorded_at: they sort by their start alone.
_RECORDED = "COALESCE(recorded_at, started_at)"


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


class SqlStore(HistoryStore):
    """A HistoryStore over one DB-API connection; subclasses say how to reach and lock it."""

    dialect: str
    mark: str  # the parameter placeholder: ? or %s

    # --- what a dialect provides ----------------------------------------------------------

    @abstractmethod
    @contextmanager
    def _write(self) -> Iterator[Cursor]:
        """A cursor inside one write transaction, committed on success, else rolled back."""

    @abstractmethod
    @contextmanager
    def _read(self) -> Iterator[Cursor]:
        """A cursor inside one read transaction: every query sees the same snapshot."""

    @abstractmethod
    def _has_bookkeeping(self, cursor: Cursor) -> bool:
        """Whether the `schema_migrations` table exists."""

    def _lock_migrations(self, cursor: Cursor) -> None:
        """Hold off other processes migrating the same store until this transaction ends."""

    def _time_in(self, value: str | None) -> Any:
        return None if value is None else utc_iso(value)

    def _time_out(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.astimezone(timezone.utc).isoformat(timespec="seconds")
        return str(value)

    # --- migrations -----------------------------------------------------------------------

    def migrate(self) -> None:
        """Apply every migration the store lacks; refuse a store from a newer stablebuild."""
        with self._read() as cursor:
            current = self._version(cursor)
        self._refuse_newer(current)
        if current == LATEST:
            return
        with self._write() as cursor:
            self._lock_migrations(cursor)
            cursor.execute(BOOKKEEPING[self.dialect])
            current = self._version(cursor)
            self._refuse_newer(current)
            for migration in MIGRATIONS:
                if migration.version <= current:
                    continue
                for statement in migration.statements(self.dialect):
                    cursor.execute(statement)
                cursor.execute(
                    "INSERT INTO schema_migrations (version, summary, applied_at) "
                    f"VALUES ({self.mark}, {self.mark}, {self.mark})",
                    (
                        migration.version,
                        migration.summary,
                        self._time_in(datetime.now(timezone.utc).isoformat()),
                    ),
                )

    def _version(self, cursor: Cursor) -> int:
        if not self._has_bookkeeping(cursor):
            return 0
        cursor.execute("SELECT MAX(version) FROM schema_migrations")
        row = cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def _refuse_newer(self, version: int) -> None:
        if version > LATEST:
            raise HistoryError(
                f"the history at {self.where} has schema version {version}, written by a newer "
                f"stablebuild (this one knows up to {LATEST})",
                "upgrade stablebuild, or use another store (--history)",
            )

    def schema_version(self) -> int:
        with self._read() as cursor:
            return self._version(cursor)

    # --- writing --------------------------------------------------------------------------

    def record(self, run: RunRecord) -> None:
        m = self.mark
        with self._write() as cursor:
            # NOTE: the same run recorded again (a retried write) replaces the first copy.
            cursor.execute(f"DELETE FROM failed_checks WHERE run_id = {m}", (run.id,))
            cursor.execute(f"DELETE FROM images WHERE run_id = {m}", (run.id,))
            cursor.execute(f"DELETE FROM audit_findings WHERE run_id = {m}", (run.id,))
            cursor.execute(f"DELETE FROM runs WHERE id = {m}", (run.id,))
            # NOTE: recorded_at, to the microsecond, orders runs that started in the same second
            # (a validate answered from the cache takes less than one).
            recorded = datetime.now(timezone.utc).isoformat(timespec="microseconds")
            cursor.execute(
                f"INSERT INTO runs ({_RUN_COLUMNS}, recorded_at) VALUES ({', '.join([m] * 14)})",
                (
                    run.id,
                    run.kind.value,
                    run.stack,
                    run.profile,
                    run.git.commit,
                    run.git.branch,
                    run.git.dirty,
                    run.engine,
                    run.tool_version,
                    self._time_in(run.started_at),
                    self._time_in(run.finished_at),
                    run.status,
                    run.complete,
                    recorded,
                ),
            )
            if run.images:
                cursor.executemany(
                    f"INSERT INTO images ({_IMAGE_COLUMNS}) VALUES ({', '.join([m] * 19)})",
                    [self._image_row(run.id, n, image) for n, image in enumerate(run.images)],
                )
            checks = [
                (run.id, image.name, check.id, check.status, check.message)
                for image in run.images
                for check in image.failed_checks
            ]
            if checks:
                cursor.executemany(
                    "INSERT INTO failed_checks (run_id, image, check_id, status, message) "
                    f"VALUES ({m}, {m}, {m}, {m}, {m})",
                    checks,
                )
            if run.findings:
                cursor.executemany(
                    "INSERT INTO audit_findings (run_id, rule, severity, count) "
                    f"VALUES ({m}, {m}, {m}, {m})",
                    [(run.id, f.rule, f.severity, f.count) for f in run.findings],
                )

    @staticmethod
    def _image_row(run_id: str, position: int, image: ImageRecord) -> tuple[Any, ...]:
        return (
            run_id,
            image.name,
            position,
            image.build_status,
            image.build_seconds,
            image.image_id,
            image.size_bytes,
            image.layers,
            image.healthy_seconds,
            image.health_passed,
            image.python_version,
            image.passed,
            image.failed,
            image.errors,
            image.skipped,
            image.from_cache,
            image.ok,
            image.diagnosis,
            image.log_tail,
        )

    # --- reading --------------------------------------------------------------------------

    def _selection(self, query: RunQuery) -> tuple[str, list[Any]]:
        """`SELECT id FROM runs ...` for the query's runs, newest first, and its parameters."""
        m = self.mark
        where = [f"stack = {m}", f"kind = {m}"]
        params: list[Any] = [query.stack, query.kind.value]
        if query.branch is not None:
            where.append(f"git_branch = {m}")
            params.append(query.branch)
        if query.profile is not None:
            where.append(f"profile = {m}")
            params.append(query.profile)
        if query.since is not None:
            where.append(f"started_at >= {m}")
            params.append(self._time_in(query.since))
        if query.commit is not None:
            where.append(f"git_commit LIKE {m}")
            params.append(query.commit.replace("%", "").replace("_", "") + "%")
        sql = (
            f"SELECT id FROM runs WHERE {' AND '.join(where)} "
            f"ORDER BY started_at DESC, {_RECORDED} DESC, id DESC"
        )
        if query.last is not None:
            sql += f" LIMIT {int(query.last)}"
        return sql, params

    def runs(self, query: RunQuery) -> list[RunRecord]:
        selection, params = self._selection(query)
        images: dict[str, list[ImageRecord]] = {}
        findings: dict[str, list[FindingCount]] = {}
        with self._read() as cursor:
            cursor.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE id IN ({selection}) "
                f"ORDER BY started_at, {_RECORDED}, id",
                tuple(params),
            )
            run_rows = cursor.fetchall()
            if not run_rows:
                return []
            if query.kind is RunKind.VALIDATE:
                checks: dict[tuple[str, str], list[FailedCheck]] = {}
                message = "message" if query.details else "''"
                cursor.execute(
                    f"SELECT run_id, image, check_id, status, {message} FROM failed_checks "
                    f"WHERE run_id IN ({selection}) ORDER BY run_id, image, check_id",
                    tuple(params),
                )
                for run_id, image, check_id, status, text in cursor.fetchall():
                    checks.setdefault((run_id, image), []).append(
                        FailedCheck(check_id, status, text)
                    )
                columns = _IMAGE_COLUMNS if query.details else _IMAGE_SUMMARY
                cursor.execute(
                    f"SELECT {columns} FROM images WHERE run_id IN ({selection}) "
                    "ORDER BY run_id, position",
                    tuple(params),
                )
                none: tuple[FailedCheck, ...] = ()
                for row in cursor.fetchall():
                    failed = checks.get((row[0], row[1]))
                    images.setdefault(row[0], []).append(
                        self._image(row, none if failed is None else tuple(failed))
                    )
            else:
                cursor.execute(
                    f"SELECT run_id, rule, severity, count FROM audit_findings "
                    f"WHERE run_id IN ({selection}) ORDER BY run_id, rule, severity",
                    tuple(params),
                )
                for run_id, rule, severity, count in cursor.fetchall():
                    findings.setdefault(run_id, []).append(FindingCount(rule, severity, count))
        # NOTE: runs of one commit share one GitInfo: a window of thousands holds few commits.
        gits: dict[tuple[Any, Any, Any], GitInfo] = {}
        records = []
        for row in run_rows:
            key = (row[4], row[5], row[6])
            git = gits.get(key)
            if git is None:
                git = gits[key] = GitInfo(row[4], row[5], _flag(row[6]))
            records.append(
                RunRecord(
                    row[0],
                    _KINDS[row[1]],
                    row[2],
                    self._time_out(row[9]) or "",
                    row[11],
                    bool(row[12]),
                    row[3],
                    git,
                    row[7],
                    row[8],
                    self._time_out(row[10]),
                    tuple(images.get(row[0], ())),
                    tuple(findings.get(row[0], ())),
                )
            )
        return records

    @staticmethod
    def _image(row: Sequence[Any], failed_checks: tuple[FailedCheck, ...]) -> ImageRecord:
        # NOTE: positional, in the dataclass's field order: reading 10,000 runs builds 30,000
        # of these, and keywords cost a third of the time.
        health = row[9]
        return ImageRecord(
            row[1], row[3], row[4], row[5], row[6], row[7], row[8],
            None if health is None else bool(health),
            row[10], row[11], row[12], row[13], row[14], failed_checks,
            bool(row[15]), bool(row[16]), row[17], row[18],
        )  # fmt: skip


__all__ = ["SqlStore", "utc_iso"]
