"""One Report model for every output format: what was built, what was checked, what was seen.

NOTE: no dataclasses here (why: `stablebuild.values`). Values are NamedTuples; the parts a run
fills in as it goes are plain classes with a dataclass's `==` and repr (`values.Fields`).
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any, NamedTuple

from stablebuild.values import Fields

if TYPE_CHECKING:
    from stablebuild.buildargs import Redactor

SCHEMA_VERSION = 1


class CheckStatus(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  # could not be checked here; `message` says why. Never counts as passed.
    ERROR = "error"  # the check itself could not run (probe crashed, engine lost)


class CheckResult(NamedTuple):
    """The judgment of one check on one image. `id` is stable, e.g. "imports.fastapi"."""

    id: str
    # python | imports | pins | ffmpeg | nvenc | user | packages | healthcheck | size |
    # build_time | runtime | files | stack (the stack phase: `Report.stack_phase`)
    family: str
    status: CheckStatus
    message: str
    value: Any = None  # what was measured (a version, a size in MB, seconds...), JSON-serialisable
    expected: Any = None


class BuildStatus(str, Enum):
    BUILT = "built"
    CACHED = "cached"  # inputs unchanged, existing image reused
    FAILED = "failed"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"  # not attempted (interrupted run)


class Diagnosis(NamedTuple):
    """A root cause recognised in a failed build's log."""

    cause: str  # stable id, e.g. "pg-config-missing"
    summary: str
    hint: str
    evidence: str = ""  # the log line that gave it away


class BuildOutcome(Fields):
    """How an image's build went; size and layers are filled in once it is inspected."""

    __slots__ = (
        "diagnosis",
        "error",
        "image_id",
        "layers",
        "log",
        "seconds",
        "size_bytes",
        "status",
        "tag",
    )

    def __init__(
        self,
        status: BuildStatus,
        seconds: float = 0.0,
        tag: str | None = None,
        image_id: str | None = None,
        size_bytes: int | None = None,
        layers: int | None = None,
        log: list[str] | None = None,
        error: str | None = None,
        diagnosis: Diagnosis | None = None,
    ) -> None:
        self.status = status
        self.seconds = seconds
        self.tag = tag
        self.image_id = image_id
        self.size_bytes = size_bytes
        self.layers = layers
        self.log: list[str] = [] if log is None else log
        self.error = error
        self.diagnosis = diagnosis


class ImageReport(Fields):
    """One image of the run: its build and every check of it."""

    __slots__ = ("build", "checks", "engine", "facts", "from_cache", "name")

    def __init__(
        self,
        name: str,
        build: BuildOutcome,
        checks: list[CheckResult] | None = None,
        facts: dict[str, Any] | None = None,  # the probe's raw facts, kept for the JSON report
        from_cache: bool = False,
        engine: str | None = None,  # the engine that built and checked it (several engines)
    ) -> None:
        self.name = name
        self.build = build
        self.checks: list[CheckResult] = [] if checks is None else checks
        self.facts = facts
        self.from_cache = from_cache
        self.engine = engine

    @property
    def ok(self) -> bool:
        return self.build.status in (BuildStatus.BUILT, BuildStatus.CACHED) and not any(
            c.status in (CheckStatus.FAILED, CheckStatus.ERROR) for c in self.checks
        )


def redact_image(image: ImageReport, redactor: Redactor) -> ImageReport:
    """A copy of `image` with the secret values `redactor` knows masked in every text it holds.

    Applied where an image's report is made, before it is stored anywhere (the result cache,
    the Report): every format, and every later reader, sees only the masked text.
    """
    if not redactor:
        return image
    build = image.build
    d = build.diagnosis
    diagnosis = (
        None
        if d is None
        else d._replace(
            summary=redactor.text(d.summary),
            hint=redactor.text(d.hint),
            evidence=redactor.text(d.evidence),
        )
    )
    outcome = BuildOutcome(
        build.status,
        seconds=build.seconds,
        tag=build.tag,
        image_id=build.image_id,
        size_bytes=build.size_bytes,
        layers=build.layers,
        log=redactor.lines(build.log),
        error=None if build.error is None else redactor.text(build.error),
        diagnosis=diagnosis,
    )
    checks = [
        check._replace(
            message=redactor.text(check.message),
            value=redactor.data(check.value),
            expected=redactor.data(check.expected),
        )
        for check in image.checks
    ]
    return ImageReport(
        image.name,
        outcome,
        checks,
        facts=redactor.data(image.facts),
        from_cache=image.from_cache,
        engine=image.engine,
    )


class StackReport(Fields):
    """The stack phase: compose ran the validated images together (`stack.*` checks, in order).

    `from_cache`: the verdict of an earlier run whose inputs were the same (images, compose
    files, services' images); `project` and `seconds` are that run's."""

    __slots__ = ("checks", "compose", "from_cache", "project", "seconds")

    def __init__(
        self,
        project: str | None = None,  # the compose project name the run used
        compose: str | None = None,  # the compose that ran it, e.g. "docker-compose 1.29.2"
        seconds: float = 0.0,
        checks: list[CheckResult] | None = None,
        from_cache: bool = False,
    ) -> None:
        self.project = project
        self.compose = compose
        self.seconds = seconds
        self.checks: list[CheckResult] = [] if checks is None else checks
        self.from_cache = from_cache

    @property
    def ok(self) -> bool:
        return not any(c.status in (CheckStatus.FAILED, CheckStatus.ERROR) for c in self.checks)


class Report(Fields):
    """The whole run, as every format shows it."""

    __slots__ = (
        "complete",
        "engine",
        "finished_at",
        "images",
        "manifest",
        "profile",
        "run_id",
        "stack",
        "stack_phase",
        "started_at",
    )

    def __init__(
        self,
        stack: str,
        run_id: str,
        started_at: str,  # ISO 8601, UTC
        finished_at: str | None = None,
        complete: bool = True,  # False after an interrupt: a partial report
        profile: str | None = None,
        images: list[ImageReport] | None = None,
        engine: dict[str, Any] | None = None,  # server version, runtimes...
        manifest: str | None = None,  # the stablebuild.yml validated: where CI points failures
        stack_phase: StackReport | None = None,  # None: the manifest has no `stack:` section
    ) -> None:
        self.stack = stack
        self.run_id = run_id
        self.started_at = started_at
        self.finished_at = finished_at
        self.complete = complete
        self.profile = profile
        self.images: list[ImageReport] = [] if images is None else images
        self.engine: dict[str, Any] = {} if engine is None else engine
        self.manifest = manifest
        self.stack_phase = stack_phase

    @property
    def ok(self) -> bool:
        stack_ok = self.stack_phase is None or self.stack_phase.ok
        return self.complete and bool(self.images) and all(i.ok for i in self.images) and stack_ok
