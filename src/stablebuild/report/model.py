"""One Report model for every output format: what was built, what was checked, what was seen."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from stablebuild.buildargs import Redactor

SCHEMA_VERSION = 1


class CheckStatus(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  # could not be checked here; `message` says why. Never counts as passed.
    ERROR = "error"  # the check itself could not run (probe crashed, engine lost)


@dataclass(frozen=True)
class CheckResult:
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


@dataclass(frozen=True)
class Diagnosis:
    """A root cause recognised in a failed build's log."""

    cause: str  # stable id, e.g. "pg-config-missing"
    summary: str
    hint: str
    evidence: str = ""  # the log line that gave it away


@dataclass
class BuildOutcome:
    status: BuildStatus
    seconds: float = 0.0
    tag: str | None = None
    image_id: str | None = None
    size_bytes: int | None = None
    layers: int | None = None
    log: list[str] = field(default_factory=list)
    error: str | None = None
    diagnosis: Diagnosis | None = None


@dataclass
class ImageReport:
    name: str
    build: BuildOutcome
    checks: list[CheckResult] = field(default_factory=list)
    facts: dict[str, Any] | None = None  # the probe's raw facts, kept for the JSON report
    from_cache: bool = False
    engine: str | None = None  # the engine that built and checked it (several engines)

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
        else replace(
            d,
            summary=redactor.text(d.summary),
            hint=redactor.text(d.hint),
            evidence=redactor.text(d.evidence),
        )
    )
    return replace(
        image,
        build=replace(
            build,
            log=redactor.lines(build.log),
            error=None if build.error is None else redactor.text(build.error),
            diagnosis=diagnosis,
        ),
        checks=[
            replace(
                check,
                message=redactor.text(check.message),
                value=redactor.data(check.value),
                expected=redactor.data(check.expected),
            )
            for check in image.checks
        ],
        facts=redactor.data(image.facts),
    )


@dataclass
class StackReport:
    """The stack phase: compose ran the validated images together (`stack.*` checks, in order)."""

    project: str | None = None  # the compose project name the run used
    compose: str | None = None  # the compose that ran it, e.g. "docker-compose 1.29.2"
    seconds: float = 0.0
    checks: list[CheckResult] = field(default_factory=list)
    # The verdict of an earlier run whose inputs were the same (images, compose files, services'
    # images); `project` and `seconds` are that run's.
    from_cache: bool = False

    @property
    def ok(self) -> bool:
        return not any(c.status in (CheckStatus.FAILED, CheckStatus.ERROR) for c in self.checks)


@dataclass
class Report:
    stack: str
    run_id: str
    started_at: str  # ISO 8601, UTC
    finished_at: str | None = None
    complete: bool = True  # False after an interrupt: a partial report
    profile: str | None = None
    images: list[ImageReport] = field(default_factory=list)
    engine: dict[str, Any] = field(default_factory=dict)  # server version, runtimes...
    manifest: str | None = None  # the stablebuild.yml validated: where CI formats point failures
    stack_phase: StackReport | None = None  # None: the manifest has no `stack:` section

    @property
    def ok(self) -> bool:
        stack_ok = self.stack_phase is None or self.stack_phase.ok
        return self.complete and bool(self.images) and all(i.ok for i in self.images) and stack_ok
