"""Run every audit rule family over one project and gather the findings into an AuditResult.

A family that raises is reported as an SB000 finding and the others still run. hadolint (a
subprocess per Dockerfile) is started first and collected last, so it overlaps the other families.

Then, before the gate: inline suppressions (`suppress`), the rule levels of `audit.rules`
(`off` drops a rule, a level replaces its severity), credentials masked in every message, and
the baseline (`baseline`), written first when asked. Only `active` findings reach the gate.
What the run consults besides the files (hadolint, and through the families the index's cached
pages and the vulnerability database) is recorded while `consulted.recording()` is open.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from pathlib import Path

from stablebuild import urls
from stablebuild.audit import (
    baseline,
    ci,
    compose,
    consulted,
    dockerfile,
    hadolint,
    pins,
    python_version,
    suppress,
    vulns,
    wheels,
)
from stablebuild.audit.baseline import Entry
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.fingerprint import fingerprints, places
from stablebuild.audit.options import AuditOptions, FailOn
from stablebuild.audit.project import Project
from stablebuild.audit.result import AuditResult
from stablebuild.audit.rule import Rule as RuleDeclaration
from stablebuild.buildargs import Redactor
from stablebuild.config import Settings
from stablebuild.manifest.model import Manifest

SB000 = RuleDeclaration(
    "SB000",
    "InternalError",
    Severity.ERROR,
    "Internal error in a rule family; the other families still ran",
    "A rule family raised an unexpected exception. The message names the family and the "
    "exception, with the file and line where it was raised; every other family still ran, but "
    "this family's findings are missing from the report.",
    "please report this; the other rule families still ran",
)

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
# The rules a family's failure leaves unjudged: their suppressions are not called stale.
FAMILY_RULES = {
    "python_version": "SB1",
    "pins": "SB2",
    "wheels": "SB3",
    "vulns": "SB6",
    "dockerfile": "SB4",
    "compose": "SB50",
    "ci": "SB51",
    "hadolint": "SB7",
}
# A finding saying a check did not run, and the rules that check would have reported.
NOT_CHECKED = {
    "SB306": ("SB301", "SB302", "SB303", "SB304", "SB305"),
    "SB307": ("SB301", "SB302", "SB303", "SB304", "SB305"),
    "SB602": ("SB601",),
    "SB603": ("SB601",),
    "SB701": ("SB700",),
    "SB702": ("SB700",),
}


def effective_options(options: AuditOptions, manifest: Manifest | None) -> AuditOptions:
    """The manifest's `audit:` section fills what the command line left at its default.

    NOTE: rule levels, fail_on, the baseline and the index come merged from
    `stablebuild.config.resolve` (`options_from`); this keeps callers that pass a manifest alone
    (the API, tests) working as before.
    """
    if manifest is None:
        return options
    if not manifest.audit.hadolint:
        options = replace(options, hadolint=False)
    if options.vuln_db is None and manifest.audit.vuln_db is not None:
        options = replace(options, vuln_db=manifest.audit.vuln_db)
    return options


def options_from(settings: Settings, *, write_baseline: Path | None = None) -> AuditOptions:
    """The options of an audit run with these merged settings."""
    return AuditOptions(
        offline=settings.offline,
        index_url=settings.index_url,
        extra_index_urls=settings.extra_index_urls,
        cache_dir=settings.cache_dir,
        index_timeout=settings.index_timeout,
        vuln_db=settings.vuln_db,
        online_vulns=settings.online_vulns,
        hadolint=settings.hadolint,
        python_targets=settings.python_versions,
        platforms=settings.platforms,
        rules=settings.rules,
        baseline=settings.baseline,
        write_baseline=write_baseline,
    )


def run_audit(root: Path, options: AuditOptions, manifest: Manifest | None) -> AuditResult:
    started = time.perf_counter()
    options = effective_options(options, manifest)
    # A baseline that cannot be read or written stops the run before any work (exit 2).
    known = None
    if options.write_baseline is not None:
        baseline.check_writable(options.write_baseline)
    elif options.baseline is not None:
        known = baseline.load(options.baseline)
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
        if options.hadolint:
            consulted.hadolint()
        collect = hadolint.start(project, options)
        return []

    guarded("hadolint", start_hadolint)
    for name, rule in FAMILIES:
        guarded(name, lambda rule=rule: rule(project, options))  # type: ignore[misc]
    guarded("hadolint", lambda: _collected(collect))
    t0 = time.perf_counter()
    judged = _suppressed(project, [*findings, *project.read_problems], options, errors)
    redact = _redactor(options)
    ordered = _configured(_masked(judged, redact), options.rules)
    where = places(project.root, ordered)
    ids = fingerprints(ordered, where[1])
    fixed: tuple[Entry, ...] = ()
    if options.write_baseline is not None:
        known = baseline.write(options.write_baseline, ordered, ids)
    if known is not None:
        ordered, fixed = baseline.apply(ordered, ids, known)
    timings["suppressions and baseline"] = time.perf_counter() - t0
    result = AuditResult(
        root=project.root,
        findings=tuple(ordered),
        files_scanned=len(project.files),
        seconds=time.perf_counter() - started,
        errors={k: redact.text(urls.masked(v)) for k, v in errors.items()},
        timings=timings,
        ids=tuple(ids),
        baseline=known.path if known is not None else None,
        fixed=fixed,
    )
    result.placed_at(*where)  # NOTE: the lines were read once; the formats reuse them
    return result


def _collected(collect: Callable[[], list[Finding]]) -> list[Finding]:
    found = collect()
    # NOTE: hadolint failing on a file (a crash, a timeout: SB702 on that file) need not repeat;
    # its note on files it cannot parse (SB702 on no file) does
    if any(f.rule == hadolint.SB702.id and f.file for f in found):
        consulted.cannot_repeat("hadolint failed on a file")
    return found


def _suppressed(
    project: Project, found: list[Finding], options: AuditOptions, errors: Collection[str]
) -> list[Finding]:
    """Findings with the inline suppressions applied, and the findings about suppressions."""
    files = [p.as_posix() for p in project.read_files()]
    files += [f.file for f in found if f.file]
    read = project.quiet_text
    suppressions, problems = suppress.collect(files, read)
    unchecked = {FAMILY_RULES[name] for name in errors if name in FAMILY_RULES}
    if not options.hadolint:
        unchecked.add("SB700")
    for finding in found:
        unchecked.update(NOT_CHECKED.get(finding.rule, ()))
    marked, stale = suppress.apply(list(dict.fromkeys(found)), suppressions, unchecked)
    return [*marked, *problems, *stale]


def _configured(findings: Sequence[Finding], rules: Sequence[tuple[str, str]]) -> list[Finding]:
    """`audit.rules` applied: `off` drops a rule's findings, a level sets their severity. An
    id with a code (`SB700:DL3008`) wins over its rule's (`SB700`)."""
    levels = dict(rules)
    out = []
    for finding in dict.fromkeys(findings):
        level = levels.get(finding.rule) or levels.get(finding.rule.split(":", 1)[0])
        if level == "off":
            continue
        if level is not None:
            finding = finding._replace(severity=Severity(level))
        out.append(finding)
    return sorted(out, key=lambda f: (f.file, f.line or 0, f.rule, f.message))


def _redactor(options: AuditOptions) -> Redactor:
    """Masks the credentials the options' index URLs carry, wherever they show alone."""
    return Redactor(urls.secrets_of((options.index_url, *options.extra_index_urls)))


def _masked(findings: Sequence[Finding], redact: Redactor) -> list[Finding]:
    """Findings with every URL's userinfo and every known credential replaced by `***`."""

    def clean(text: str) -> str:
        # NOTE: a URL's userinfo needs an `@`; most messages have none and skip the regex
        return redact.text(urls.masked(text) if "@" in text else text)

    out = []
    for f in findings:
        message, hint, why = clean(f.message), clean(f.hint), clean(f.justification)
        if (message, hint, why) != (f.message, f.hint, f.justification):
            f = f._replace(message=message, hint=hint, justification=why)
        out.append(f)
    return out


def _internal_error(family: str, exc: BaseException) -> Finding:
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" ({Path(frame.filename).name}:{frame.lineno})" if frame else ""
    message = f"internal error in {family}: {type(exc).__name__}: {exc}{where}"
    return SB000.finding("", None, message)


def exit_code(result: AuditResult, fail_on: FailOn | str) -> int:
    """0 when no active finding reaches the threshold, 1 otherwise (2 is the CLI's, for usage
    errors). Suppressed and baseline findings never count."""
    threshold = FailOn(fail_on)
    if threshold is FailOn.NEVER:
        return 0
    rank = Severity(threshold.value).rank
    return 1 if any(f.severity.rank >= rank for f in result.active) else 0


__all__ = [
    "FAMILIES",
    "SB000",
    "AuditResult",
    "FailOn",
    "effective_options",
    "exit_code",
    "options_from",
    "run_audit",
]
