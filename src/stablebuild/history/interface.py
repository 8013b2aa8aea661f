"""The history store's interface: what one recorded run holds, how runs are asked for, and the
one abstract store both implementations (SQLite, PostgreSQL) fill in.

A run is recorded whole in one transaction and read back as the same frozen records; nothing
else about a backend (SQL dialect, connection, locking) leaks past this module's types.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Mapping, Sequence
from enum import Enum
from types import TracebackType
from typing import NamedTuple

from stablebuild.errors import StablebuildError
from stablebuild.values import Frozen


class HistoryError(StablebuildError):
    """The history store cannot be used as asked (a bad location, a newer schema)."""


class HistoryUnavailable(HistoryError):
    """The store cannot be reached, opened or written (exit 3 where the store is required)."""


class RunKind(str, Enum):
    VALIDATE = "validate"
    AUDIT = "audit"


class GitInfo(NamedTuple):
    """Where the run's sources stood; every field is None outside a git checkout."""

    commit: str | None = None
    branch: str | None = None
    dirty: bool | None = None


class FailedCheck(NamedTuple):
    """A check that failed or errored: its stable id, status and (shortened, masked) message."""

    id: str
    status: str  # failed | error
    message: str = ""


class ImageRecord(NamedTuple):
    """One image in one validate run, reduced to what trends and regressions are made of."""

    name: str
    build_status: str  # built | cached | failed | timeout | skipped
    build_seconds: float | None = None  # None when no build ran (cached) or none was timed
    image_id: str | None = None
    size_bytes: int | None = None
    layers: int | None = None
    healthy_seconds: float | None = None  # start to healthy, when the trial got there
    health_passed: bool | None = None  # None: no health check ran
    python_version: str | None = None
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    failed_checks: tuple[FailedCheck, ...] = ()
    from_cache: bool = False  # the build or the judged results were reused
    ok: bool = False  # built and no check failed or errored
    diagnosis: str | None = None  # a failed build's recognised cause, one line
    log_tail: str | None = None  # the end of a failed build's log
    engine: str | None = None  # the engine that built it, when the run used several

    @property
    def built(self) -> bool:
        return self.build_status in ("built", "cached")


class EngineRecord(NamedTuple):
    """One engine of a run that used several: what it was, as `docker info` said."""

    name: str
    endpoint: str = ""
    server_version: str | None = None
    os_arch: str = ""
    cpus: int | None = None
    memory_bytes: int | None = None
    runtimes: tuple[str, ...] = ()
    reachable: bool = True

    @property
    def nvidia(self) -> bool:
        return "nvidia" in self.runtimes


class FindingCount(Frozen):
    """How many findings one audit rule reported at one severity."""

    # NOTE: not a NamedTuple: a field named `count` would hide tuple.count.
    __slots__ = ("count", "rule", "severity")
    rule: str
    severity: str
    count: int

    def __init__(self, rule: str, severity: str, count: int) -> None:
        super().__init__(rule=rule, severity=severity, count=count)


class RunRecord(NamedTuple):
    """One recorded run: a validate (with images) or an audit (with finding counts)."""

    id: str
    kind: RunKind
    stack: str
    started_at: str  # ISO 8601, UTC, seconds
    status: str  # passed | failed | incomplete
    complete: bool = True
    profile: str | None = None
    git: GitInfo = GitInfo()
    engine: str | None = None  # the engine's server version
    tool_version: str = ""
    finished_at: str | None = None
    images: tuple[ImageRecord, ...] = ()
    findings: tuple[FindingCount, ...] = ()
    engines: tuple[EngineRecord, ...] = ()  # only when the run used several

    def image(self, name: str) -> ImageRecord | None:
        return next((image for image in self.images if image.name == name), None)


class RunQuery(NamedTuple):
    """Which runs to read: one stack and kind, the newest `last` of those that match."""

    stack: str
    kind: RunKind = RunKind.VALIDATE
    last: int | None = 20  # None: every matching run
    since: str | None = None  # ISO 8601 UTC; runs started at or after it
    branch: str | None = None
    profile: str | None = None
    commit: str | None = None  # a full sha, or a prefix of one
    # False: no build log tails and no check messages (what KPIs over thousands of runs do
    # without); failed check ids, statuses and diagnoses are still read.
    details: bool = True


class ImageColumns(NamedTuple):
    """One image across a window of runs, as columns: entry i is run i (oldest first), None
    where the run did not have the image. What KPIs over thousands of runs are made of."""

    name: str
    build_status: tuple[str | None, ...]
    build_seconds: tuple[float | None, ...]  # of builds that ran (`built`), else None
    size_bytes: tuple[int | None, ...]
    healthy_seconds: tuple[float | None, ...]
    health_passed: tuple[bool | None, ...]
    ok: tuple[bool | None, ...]
    failing: tuple[tuple[str, int], ...] = ()  # check id, runs it failed in (built runs)


class RunWindow(NamedTuple):
    """The validate runs a query selects, reduced to columns per image."""

    runs: int = 0
    first_at: str | None = None
    last_at: str | None = None
    images: tuple[ImageColumns, ...] = ()


class AuditTotals(NamedTuple):
    """The audits a query selects, summed: how many, the newest one's findings by severity,
    and every rule's findings over all of them."""

    runs: int = 0
    latest_at: str | None = None
    latest: Mapping[str, int] = {}  # severity -> findings
    rules: Mapping[str, int] = {}  # rule -> findings


def image_columns(name: str, records: Sequence[ImageRecord | None]) -> ImageColumns:
    """The columns of one image, `records` being its record in each run (None: not in it)."""
    failing = Counter(
        check.id
        for r in records
        if r is not None and r.build_status != "skipped"
        for check in r.failed_checks
    )
    return ImageColumns(
        name,
        tuple(None if r is None else r.build_status for r in records),
        tuple(None if r is None or r.build_status != "built" else r.build_seconds for r in records),
        tuple(None if r is None else r.size_bytes for r in records),
        tuple(None if r is None else r.healthy_seconds for r in records),
        tuple(None if r is None else r.health_passed for r in records),
        tuple(None if r is None else r.ok for r in records),
        tuple(failing.items()),
    )


def window_of(runs: Sequence[RunRecord]) -> RunWindow:
    """The columns of `runs` (oldest first): what a store without SQL answers `window` with."""
    names: dict[str, None] = {}
    for run in runs:
        for image in run.images:
            names.setdefault(image.name)
    return RunWindow(
        len(runs),
        runs[0].started_at if runs else None,
        runs[-1].started_at if runs else None,
        tuple(image_columns(name, [run.image(name) for run in runs]) for name in names),
    )


def audit_totals_of(audits: Sequence[RunRecord]) -> AuditTotals:
    """The totals of `audits` (oldest first)."""
    if not audits:
        return AuditTotals()
    latest: Counter[str] = Counter()
    for finding in audits[-1].findings:
        latest[finding.severity] += finding.count
    rules: Counter[str] = Counter()
    for run in audits:
        for finding in run.findings:
            rules[finding.rule] += finding.count
    return AuditTotals(len(audits), audits[-1].started_at, dict(latest), dict(rules))


class HistoryStore(ABC):
    """Recorded runs of any number of stacks. Implementations: `sqlite`, `postgres`."""

    #: Where the store is, fit to print: never a password.
    where: str

    @abstractmethod
    def record(self, run: RunRecord) -> None:
        """Store `run` whole, in one transaction (a run with the same id is replaced).

        Raises HistoryUnavailable when the store cannot be written.
        """

    @abstractmethod
    def runs(self, query: RunQuery) -> list[RunRecord]:
        """The matching runs, oldest first. Raises HistoryUnavailable when unreadable."""

    def window(self, query: RunQuery) -> RunWindow:
        """The validate runs `query` selects, as columns per image (for the KPI table).

        Reads every run whole by default; the SQL stores answer it with a few narrow queries.
        """
        return window_of(self.runs(query._replace(kind=RunKind.VALIDATE, details=False)))

    def audit_totals(self, query: RunQuery) -> AuditTotals:
        """The audits `query` selects, summed."""
        return audit_totals_of(self.runs(query._replace(kind=RunKind.AUDIT, details=False)))

    @abstractmethod
    def schema_version(self) -> int:
        """The newest migration applied to this store."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection; the store is not used afterwards."""

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


__all__ = [
    "AuditTotals",
    "EngineRecord",
    "FailedCheck",
    "FindingCount",
    "GitInfo",
    "HistoryError",
    "HistoryStore",
    "HistoryUnavailable",
    "ImageColumns",
    "ImageRecord",
    "RunKind",
    "RunQuery",
    "RunRecord",
    "RunWindow",
    "audit_totals_of",
    "image_columns",
    "window_of",
]
