"""Run every audit rule family over one project and gather the findings into an AuditResult.

A family that raises is reported as an SB000 finding and the others still run. hadolint (a
subprocess per Dockerfile) is started first and collected last, so it overlaps the other families.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from stablebuild.audit import (
    ci,
    compose,
    dockerfile,
    hadolint,
    pins,
    python_version,
    vulns,
    wheels,
)
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.options import AuditOptions, FailOn
from stablebuild.audit.project import Project
from stablebuild.manifest.model import Manifest

Rule = Callable[[Project, AuditOptions], list[Finding]]

FAMILIES: tuple[tuple[str, Rule], ...] = (
    ("python_version", python_version.run),
    ("pins", pins.run),
    ("wheels", wheels.run),
    ("vulns", vulns.run),
    ("dockerfile", dockerfile.run),
    ("compose", compose.run),
    ("ci", ci.run),
)


@dataclass(frozen=True)
class AuditResult:
    root: Path
    findings: tuple[Finding, ...]  # sorted by file, line, rule
    files_scanned: int  # files discovered and considered by the rules
    seconds: float
    errors: Mapping[str, str] = field(default_factory=dict)  # family -> what went wrong inside it
    timings: Mapping[str, float] = field(default_factory=dict)  # family -> seconds

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Severity}
        for finding in self.findings:
            out[finding.severity.value] += 1
        return out


def effective_options(options: AuditOptions, manifest: Manifest | None) -> AuditOptions:
    """The manifest's `audit:` section fills what the command line left at its default."""
    if manifest is None:
        return options
    if not manifest.audit.hadolint:
        options = replace(options, hadolint=False)
    if options.vuln_db is None and manifest.audit.vuln_db is not None:
        options = replace(options, vuln_db=manifest.audit.vuln_db)
    return options


def run_audit(root: Path, options: AuditOptions, manifest: Manifest | None) -> AuditResult:
    started = time.perf_counter()
    options = effective_options(options, manifest)
    project = Project.discover(root, manifest)
    findings: list[Finding] = []
    errors: dict[str, str] = {}
    timings: dict[str, float] = {}

    def guarded(name: str, call: Callable[[], list[Finding]]) -> None:
        t0 = time.perf_counter()
        try:
            findings.extend(call())
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
            findings.append(_internal_error(name, exc))
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0

    collect: Callable[[], list[Finding]] = list

    def start_hadolint() -> list[Finding]:
        nonlocal collect
        collect = hadolint.start(project, options)
        return []

    guarded("hadolint", start_hadolint)
    for name, rule in FAMILIES:
        guarded(name, lambda rule=rule: rule(project, options))  # type: ignore[misc]
    guarded("hadolint", lambda: collect())
    unique = dict.fromkeys([*findings, *project.read_problems])
    ordered = sorted(unique, key=lambda f: (f.file, f.line or 0, f.rule, f.message))
    return AuditResult(
        root=project.root,
        findings=tuple(ordered),
        files_scanned=len(project.files),
        seconds=time.perf_counter() - started,
        errors=errors,
        timings=timings,
    )


def _internal_error(family: str, exc: BaseException) -> Finding:
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" ({Path(frame.filename).name}:{frame.lineno})" if frame else ""
    return Finding(
        "SB000",
        Severity.ERROR,
        "",
        None,
        f"internal error in {family}: {type(exc).__name__}: {exc}{where}",
        "please report this; the other rule families still ran",
    )


def exit_code(result: AuditResult, fail_on: FailOn | str) -> int:
    """0 when nothing reaches the threshold, 1 otherwise (2 is the CLI's, for usage errors)."""
    threshold = FailOn(fail_on)
    if threshold is FailOn.NEVER:
        return 0
    rank = Severity(threshold.value).rank
    return 1 if any(f.severity.rank >= rank for f in result.findings) else 0


__all__ = ["FAMILIES", "AuditResult", "FailOn", "exit_code", "run_audit"]
