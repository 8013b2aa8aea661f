"""From a finished Report (or an audit's findings) to the RunRecord the store keeps.

Only what trends, regressions and the HTML report need is kept, and nothing secret: texts pass
through the run's Redactor (secret build args, secret-looking run env values) and any password
in a URL is masked. Facts, environments and build args themselves are never recorded.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from stablebuild import __version__
from stablebuild.buildargs import MASK, NO_SECRETS, Redactor
from stablebuild.history.interface import (
    EngineRecord,
    FailedCheck,
    FindingCount,
    GitInfo,
    ImageRecord,
    RunKind,
    RunRecord,
)
from stablebuild.report.model import BuildStatus, CheckStatus, ImageReport, Report
from stablebuild.runid import new_run_id, now

MESSAGE_CHARS = 300
LOG_LINES = 40
LOG_LINE_CHARS = 300
# user:password@ in any URL (an index URL in a build log, say): the password goes.
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*):[^/\s@]+@")
NO_GIT = GitInfo()
_PYTHON_RUNS = re.compile(r"Python (\d+\.\d+(?:\.\d+)?\S*)")


def clean(text: str, redactor: Redactor, limit: int = MESSAGE_CHARS) -> str:
    """`text` fit to store: secrets masked, then cut to `limit` characters."""
    masked = _URL_PASSWORD.sub(rf"\1:{MASK}@", redactor.text(text))
    return masked if len(masked) <= limit else masked[: limit - 1] + "…"


def _status(report: Report) -> str:
    if not report.complete:
        return "incomplete"
    return "passed" if report.ok else "failed"


def _check(image: ImageReport, check_id: str) -> Any:
    return next((c for c in image.checks if c.id == check_id), None)


def _python_version(image: ImageReport) -> str | None:
    facts = image.facts or {}
    python = facts.get("python") if isinstance(facts, dict) else None
    if isinstance(python, dict) and python.get("version"):
        return str(python["version"])
    version = _check(image, "python.version")
    if version is not None and version.value:
        return str(version.value)
    runs = _check(image, "python.runs")
    match = _PYTHON_RUNS.search(runs.message) if runs is not None else None
    return match.group(1) if match else None


def _health(image: ImageReport) -> tuple[bool | None, float | None]:
    """Whether the trial's health check passed, and the seconds it took to get healthy."""
    health = _check(image, "runtime.health")
    if health is None or health.status is CheckStatus.SKIPPED:
        return None, None
    if health.status is not CheckStatus.PASSED:
        return False, None
    seconds = health.value if isinstance(health.value, (int, float)) else None
    return True, None if seconds is None else float(seconds)


def image_record(image: ImageReport, redactor: Redactor = NO_SECRETS) -> ImageRecord:
    build = image.build
    counts = Counter(check.status for check in image.checks)
    failed: dict[str, FailedCheck] = {}
    for check in image.checks:
        if check.status in (CheckStatus.FAILED, CheckStatus.ERROR) and check.id not in failed:
            first = (check.message.strip().splitlines() or [""])[0]
            failed[check.id] = FailedCheck(check.id, check.status.value, clean(first, redactor))
    health_passed, healthy_seconds = _health(image)
    broken = build.status in (BuildStatus.FAILED, BuildStatus.TIMEOUT)
    diagnosis = None
    if build.diagnosis is not None:
        d = build.diagnosis
        diagnosis = clean(f"{d.cause}: {d.summary} (fix: {d.hint})", redactor, 600)
    log_tail = None
    if broken:
        lines = [line.rstrip("\n") for line in build.log[-LOG_LINES:]] or [build.error or ""]
        log_tail = "\n".join(clean(line, redactor, LOG_LINE_CHARS) for line in lines)
    return ImageRecord(
        name=image.name,
        build_status=build.status.value,
        build_seconds=None if build.status is BuildStatus.CACHED else round(build.seconds, 3),
        image_id=build.image_id,
        size_bytes=build.size_bytes,
        layers=build.layers,
        healthy_seconds=healthy_seconds,
        health_passed=health_passed,
        python_version=_python_version(image),
        passed=counts[CheckStatus.PASSED],
        failed=counts[CheckStatus.FAILED],
        errors=counts[CheckStatus.ERROR],
        skipped=counts[CheckStatus.SKIPPED],
        failed_checks=tuple(failed.values()),
        from_cache=image.from_cache or build.status is BuildStatus.CACHED,
        ok=image.ok,
        diagnosis=diagnosis,
        log_tail=log_tail,
        engine=image.engine,
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def engine_records(engine: Any, redactor: Redactor = NO_SECRETS) -> tuple[EngineRecord, ...]:
    """The engines of a run that used several (the report's `engine.engines`), else none."""
    found = engine.get("engines") if isinstance(engine, dict) else None
    if not isinstance(found, list) or len(found) < 2:
        return ()
    return tuple(
        EngineRecord(
            name=str(e.get("name") or ""),
            endpoint=clean(str(e.get("endpoint") or ""), redactor),
            server_version=None if e.get("server_version") is None else str(e["server_version"]),
            os_arch=str(e.get("os_arch") or ""),
            cpus=_int(e.get("cpus")),
            memory_bytes=_int(e.get("memory_bytes")),
            runtimes=tuple(str(r) for r in e.get("runtimes") or ()),
            reachable=bool(e.get("reachable", True)),
        )
        for e in found
        if isinstance(e, dict)
    )


def report_record(
    report: Report, git: GitInfo = NO_GIT, redactor: Redactor = NO_SECRETS
) -> RunRecord:
    """The record of a validate run (a partial one too: `complete` says so)."""
    engine = report.engine.get("server_version")
    return RunRecord(
        id=report.run_id,
        kind=RunKind.VALIDATE,
        stack=report.stack,
        started_at=report.started_at,
        finished_at=report.finished_at,
        status=_status(report),
        complete=report.complete,
        profile=report.profile,
        git=git,
        engine=None if engine is None else str(engine),
        tool_version=__version__,
        images=tuple(image_record(image, redactor) for image in report.images),
        engines=engine_records(report.engine, redactor),
    )


def audit_record(
    stack: str,
    findings: Iterable[Any],
    *,
    started_at: str,
    failed: bool,
    git: GitInfo = NO_GIT,
    profile: str | None = None,
) -> RunRecord:
    """The record of an audit: its findings counted by rule and severity, nothing else."""
    counts = Counter((str(f.rule), str(getattr(f.severity, "value", f.severity))) for f in findings)
    return RunRecord(
        id=new_run_id(),
        kind=RunKind.AUDIT,
        stack=stack,
        started_at=started_at,
        finished_at=now(),
        status="failed" if failed else "passed",
        profile=profile,
        git=git,
        tool_version=__version__,
        findings=tuple(
            FindingCount(rule, severity, n) for (rule, severity), n in sorted(counts.items())
        ),
    )


__all__ = [
    "audit_record",
    "clean",
    "engine_records",
    "image_record",
    "new_run_id",
    "now",
    "report_record",
]
