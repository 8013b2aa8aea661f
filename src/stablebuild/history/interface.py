"""The history store's interface: what one recorded run holds, how runs are asked for, and the
one abstract store both implementations (SQLite, PostgreSQL) fill in.

A run is recorded whole in one transaction and read back as the same frozen records; nothing
else about a backend (SQL dialect, connection, locking) leaks past this module's types.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum
from types import TracebackType

from stablebuild.errors import StablebuildError


class HistoryError(StablebuildError):
    """The history store cannot be used as asked (a bad location, a newer schema)."""


class HistoryUnavailable(HistoryError):
    """The store cannot be reached, opened or written (exit 3 where the store is required)."""


class RunKind(str, Enum):
    VALIDATE = "validate"
    AUDIT = "audit"


@dataclass(frozen=True)
class GitInfo:
    """Where the run's sources stood; every field is None outside a git checkout."""

    commit: str | None = None
    branch: str | None = None
    dirty: bool | None = None


@dataclass(frozen=True)
class FailedCheck:
    """A check that failed or errored: its stable id, status and (shortened, masked) message."""

    id: str
    status: str  # failed | error
    message: str = ""


@dataclass(frozen=True)
class ImageRecord:
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

    @property
    def built(self) -> bool:
        return self.build_status in ("built", "cached")


@dataclass(frozen=True)
class FindingCount:
    """How many findings one audit rule reported at one severity."""

    rule: str
    severity: str
    count: int


@dataclass(frozen=True)
class RunRecord:
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

    def image(self, name: str) -> ImageRecord | None:
        return next((image for image in self.images if image.name == name), None)


@dataclass(frozen=True)
class RunQuery:
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
    "FailedCheck",
    "FindingCount",
    "GitInfo",
    "HistoryError",
    "HistoryStore",
    "HistoryUnavailable",
    "ImageRecord",
    "RunKind",
    "RunQuery",
    "RunRecord",
]
