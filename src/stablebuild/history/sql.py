"""What both SQL stores share: the queries, rows to records and back, and migrating.

A dialect fills in the connection, its transactions, its parameter mark and how a timestamp
travels; the SQL itself is written once here.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from operator import itemgetter
from typing import Any

from stablebuild.history.interface import (
    AuditTotals,
    EngineRecord,
    FailedCheck,
    FindingCount,
    GitInfo,
    HistoryError,
    HistoryStore,
    ImageColumns,
    ImageRecord,
    RunKind,
    RunQuery,
    RunRecord,
    RunWindow,
)
from stablebuild.history.migrations import BOOKKEEPING, LATEST, MIGRATIONS

Cursor = Any  # a DB-API cursor: sqlite3's or psycopg2's

_RUN_COLUMNS = (
    "id, kind, stack, profile, git_commit, git_branch, git_dirty, engine, tool_version, "
    "started_at, finished_at, status, complete, engines"
)
_IMAGE_COLUMNS = (
    "run_id, name, position, build_status, build_seconds, image_id, size_bytes, layers, "
    "healthy_seconds, health_passed, python_version, checks_passed, checks_failed, "
    "checks_error, checks_skipped, from_cache, ok, diagnosis, log_tail, engine"
)
_IMAGE_SUMMARY = _IMAGE_COLUMNS.replace(", log_tail", ", NULL")


def utc_iso(value: str) -> str:
    """An ISO 8601 time as UTC with seconds: the one spelling every stored time has."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


_KINDS = {kind.value: kind for kind in RunKind}
# An image's build status, ok and health flags as one small number (status * 9 + ok * 3 +
# health, health 0: not checked, 1: failed, 2: passed): reading 30,000 of them makes no string.
_STATUSES = ("built", "cached", "skipped", "failed", "timeout")
_CODE = (
    "(CASE build_status "
    + " ".join(f"WHEN '{status}' THEN {9 * n}" for n, status in enumerate(_STATUSES))
    + f" ELSE {9 * len(_STATUSES)} END"
    " + 3 * CAST(ok AS INTEGER) + COALESCE(CAST(health_passed AS INTEGER) + 1, 0))"
)
_CODES = range(9 * (len(_STATUSES) + 1))
# Each code's status, ok flag and health, looked up a whole column at a time (map, in C).
_STATUS_OF = tuple((*_STATUSES, "failed")[code // 9] for code in _CODES)
_OK_OF = tuple(bool(code % 9 // 3) for code in _CODES)
_HEALTH_OF = tuple((None, False, True)[code % 3] for code in _CODES)
# SQLite before 3.32 takes at most 999 parameters in one statement.
MAX_PARAMETERS = 999


def _engines_json(engines: tuple[EngineRecord, ...]) -> str | None:
    if not engines:
        return None
    return json.dumps(
        [
            {
                "name": e.name,
                "endpoint": e.endpoint,
                "server_version": e.server_version,
                "os_arch": e.os_arch,
                "cpus": e.cpus,
                "memory_bytes": e.memory_bytes,
                "runtimes": list(e.runtimes),
                "reachable": e.reachable,
            }
            for e in engines
        ]
    )


def _engines(text: str | None) -> tuple[EngineRecord, ...]:
    if not text:
        return ()
    return tuple(
        EngineRecord(
            str(e.get("name", "")),
            str(e.get("endpoint") or ""),
            e.get("server_version"),
            str(e.get("os_arch") or ""),
            e.get("cpus"),
            e.get("memory_bytes"),
            tuple(e.get("runtimes") or ()),
            bool(e.get("reachable", True)),
        )
        for e in json.loads(text)
        if isinstance(e, dict)
    )


# Runs recorded before migration 2 have no recorded_at: they sort by their start alone.
_RECORDED = "COALESCE(recorded_at, started_at)"
# NOTE: word for word the index runs_window (migration 5), so that the newest N runs come off
# it in order instead of being sorted.
_NEWEST_FIRST = f"started_at DESC, {_RECORDED} DESC, id DESC"


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


class _Columns:
    """Turns one image's values into columns over the window (entry i: run i, oldest first;
    None where the run did not have the image), given each value's run rank (1: the newest)
    in ascending order."""

    def __init__(self, count: int, newest: Sequence[int]) -> None:
        self.count = count
        self.newest = newest
        # NOTE: the usual case, an image in every run, is a reversal done in C; an image
        # missing from some runs is placed value by value.
        self.every_run = len(newest) == count

    def __call__(self, values: Sequence[Any]) -> tuple[Any, ...]:
        if self.every_run:
            return tuple(reversed(values))
        column: list[Any] = [None] * self.count
        last = self.count
        for rank, value in zip(self.newest, values, strict=True):
            column[last - rank] = value
        return tuple(column)


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

    def _quick_version(self) -> int:
        """The schema version, asked as cheaply as the dialect can (one query when it can)."""
        with self._read() as cursor:
            return self._version(cursor)

    def migrate(self, current: int | None = None) -> None:
        """Apply every migration the store lacks; refuse a store from a newer stablebuild.

        `current`: the version the caller has just read, so that an up-to-date store costs
        nothing more.
        """
        if current is None:
            current = self._quick_version()
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

    def _version(self, cursor: Cursor, *, known: bool | None = None) -> int:
        """The newest migration applied; `known`: whether the bookkeeping table exists, when
        the caller has just asked."""
        if not (self._has_bookkeeping(cursor) if known is None else known):
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
            # NOTE: the same run recorded again (a retried write) replaces the first copy; its
            # images, failed checks and finding counts go with it (ON DELETE CASCADE).
            cursor.execute(f"DELETE FROM runs WHERE id = {m}", (run.id,))
            # NOTE: recorded_at, to the microsecond, orders runs that started in the same second
            # (a validate answered from the cache takes less than one).
            recorded = datetime.now(timezone.utc).isoformat(timespec="microseconds")
            cursor.execute(
                f"INSERT INTO runs ({_RUN_COLUMNS}, recorded_at) VALUES ({', '.join([m] * 15)})",
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
                    _engines_json(run.engines),
                    recorded,
                ),
            )
            self._insert(
                cursor,
                f"images ({_IMAGE_COLUMNS})",
                [self._image_row(run.id, n, image) for n, image in enumerate(run.images)],
            )
            self._insert(
                cursor,
                "failed_checks (run_id, image, check_id, status, message)",
                [
                    (run.id, image.name, check.id, check.status, check.message)
                    for image in run.images
                    for check in image.failed_checks
                ],
            )
            self._insert(
                cursor,
                "audit_findings (run_id, rule, severity, count)",
                [(run.id, f.rule, f.severity, f.count) for f in run.findings],
            )

    def _insert(self, cursor: Cursor, into: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """`rows` in as few statements as the parameter limit allows: one round trip each
        (psycopg2's executemany is one per row)."""
        if not rows:
            return
        width = len(rows[0])
        one = "(" + ", ".join([self.mark] * width) + ")"
        per = max(1, MAX_PARAMETERS // width)
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            cursor.execute(
                f"INSERT INTO {into} VALUES {', '.join([one] * len(chunk))}",
                [value for row in chunk for value in row],
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
            image.engine,
        )

    # --- reading --------------------------------------------------------------------------

    def _selection(self, query: RunQuery, columns: str = "id") -> tuple[str, list[Any]]:
        """`SELECT id FROM runs ...` (or other `columns`) for the query's runs, newest first,
        and its parameters."""
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
        sql = f"SELECT {columns} FROM runs WHERE {' AND '.join(where)} ORDER BY {_NEWEST_FIRST}"
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
                    _engines(row[13]),
                )
            )
        return records

    def _ends(self, cursor: Cursor, ids: Sequence[str]) -> tuple[str | None, str | None]:
        """When the first and the last of `ids` started (two rows read, not thousands)."""
        m = self.mark
        cursor.execute(f"SELECT id, started_at FROM runs WHERE id IN ({m}, {m})", (ids[0], ids[-1]))
        at = {row[0]: self._time_out(row[1]) for row in cursor.fetchall()}
        return at.get(ids[0]), at.get(ids[-1])

    def window(self, query: RunQuery) -> RunWindow:
        """Three narrow queries whatever the window, each over the window's runs as the index
        runs_window hands them out (no sort): how many and when the first and last started;
        one small row per image and run (its place in the window, its status and flags folded
        into one number by the database, its three measures); the failed checks counted per
        image by the database. No run id crosses into Python."""
        query = query._replace(kind=RunKind.VALIDATE)
        selection, params = self._selection(query, "id, started_at")
        numbered, _ = self._selection(
            query, f"id, ROW_NUMBER() OVER (ORDER BY {_NEWEST_FIRST}) AS newest"
        )
        with self._read() as cursor:
            cursor.execute(
                f"WITH chosen AS ({selection}) "
                "SELECT COUNT(*), MIN(started_at), MAX(started_at) FROM chosen",
                tuple(params),
            )
            count, first_at, last_at = cursor.fetchone()
            if not count:
                return RunWindow()
            cursor.execute(
                f"WITH chosen AS ({numbered}) "
                f"SELECT i.name, chosen.newest, {_CODE}, "
                "CASE WHEN i.build_status = 'built' THEN i.build_seconds END, i.size_bytes, "
                "i.healthy_seconds FROM chosen JOIN images i ON i.run_id = chosen.id",
                tuple(params),
            )
            rows = cursor.fetchall()
            cursor.execute(
                f"WITH chosen AS ({selection}) SELECT f.image, f.check_id, COUNT(*) "
                "FROM chosen JOIN failed_checks f ON f.run_id = chosen.id "
                "GROUP BY f.image, f.check_id",
                tuple(params),
            )
            failing: dict[str, list[tuple[str, int]]] = {}
            for image, check_id, n in cursor.fetchall():
                failing.setdefault(image, []).append((check_id, int(n)))
        by_name: dict[str, list[Any]] = {}
        for row in rows:
            group = by_name.get(row[0])
            if group is None:
                group = by_name[row[0]] = []
            group.append(row)
        images = []
        by_rank = itemgetter(1)
        for name in sorted(by_name):
            # NOTE: in whatever order the database joined them (SQLite: newest first, which
            # this sort only checks; PostgreSQL: its hash join's).
            group = sorted(by_name[name], key=by_rank)
            _, newest, codes, built_seconds, sizes, healthy = zip(*group, strict=True)
            columns = _Columns(count, newest)
            images.append(
                ImageColumns(
                    name,
                    columns(tuple(map(_STATUS_OF.__getitem__, codes))),
                    columns(built_seconds),
                    columns(sizes),
                    columns(healthy),
                    columns(tuple(map(_HEALTH_OF.__getitem__, codes))),
                    columns(tuple(map(_OK_OF.__getitem__, codes))),
                    tuple(failing.get(name, ())),
                )
            )
        return RunWindow(
            int(count), self._time_out(first_at), self._time_out(last_at), tuple(images)
        )

    def audit_totals(self, query: RunQuery) -> AuditTotals:
        """The audits' count, the newest one's findings by severity and each rule's total,
        summed by the database."""
        query = query._replace(kind=RunKind.AUDIT)
        selection, params = self._selection(query)
        m = self.mark
        with self._read() as cursor:
            cursor.execute(selection, tuple(params))
            ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                return AuditTotals()
            latest_at, _ = self._ends(cursor, ids)
            cursor.execute(
                "SELECT severity, SUM(count) FROM audit_findings "
                f"WHERE run_id = {m} GROUP BY severity",
                (ids[0],),
            )
            latest = {severity: int(n) for severity, n in cursor.fetchall()}
            cursor.execute(
                "SELECT rule, SUM(count) FROM audit_findings "
                f"WHERE run_id IN ({selection}) GROUP BY rule",
                tuple(params),
            )
            rules = {rule: int(n) for rule, n in cursor.fetchall()}
        return AuditTotals(len(ids), latest_at, latest, rules)

    @staticmethod
    def _image(row: Sequence[Any], failed_checks: tuple[FailedCheck, ...]) -> ImageRecord:
        # NOTE: positional, in the dataclass's field order: reading 10,000 runs builds 30,000
        # of these, and keywords cost a third of the time.
        health = row[9]
        return ImageRecord(
            row[1], row[3], row[4], row[5], row[6], row[7], row[8],
            None if health is None else bool(health),
            row[10], row[11], row[12], row[13], row[14], failed_checks,
            bool(row[15]), bool(row[16]), row[17], row[18], row[19],
        )  # fmt: skip


__all__ = ["SqlStore", "utc_iso"]
