"""SB7xx: generic Dockerfile lint delegated to hadolint, merged into the audit's findings.

Each hadolint result becomes a Finding whose rule is `SB700:<hadolint code>` (e.g.
`SB700:DL3008`), so the SB7 prefix filters them and the code links to hadolint's own docs.
Two codes are dropped because an SB4xx rule says the same thing with more context: DL3022
(SB404) and DL3002 (SB405). The Dockerfile's text goes to hadolint on stdin, in the project's
root as working directory so a `.hadolint.yaml` there applies; nothing from the repo is run.

The gate is about builds that break, and hadolint's levels are about style: a hadolint finding
is at most a warning unless the manifest's `audit.hadolint_severity` says `error`, and its own
level stays in the message. A file hadolint cannot parse (DL1000: heredocs and other syntax it
does not read) is not an error; one info note lists the files it could not lint.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from stablebuild.audit import dockerfile
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project
from stablebuild.audit.rule import Rule
from stablebuild.audit.sources import read_text

SB700 = Rule(
    "SB700",
    "Hadolint",
    Severity.WARNING,
    "hadolint finding (rule id SB700:<hadolint code>)",
    "Each hadolint result is a finding with rule id `SB700:<code>` (for example `SB700:DL3008`, "
    "`SB700:SC2086`), so `SB7` filters them all and the code links to hadolint's or "
    "ShellCheck's wiki. The gate is about builds that break and hadolint rates style, so a "
    "hadolint finding is at most a **warning** by default; its own level stays at the end of the "
    "message (`[hadolint: error]`). The manifest's `audit.hadolint_severity` sets the most "
    "severe level one can have: `error` keeps hadolint's levels (error→error, warning→warning, "
    "info/style→info), `warning` (the default) caps them there, `info` makes hadolint purely "
    "informative. A `.hadolint.yaml` at the root (its `override:` levels) still applies before "
    "the cap. DL3022 and DL3002 are dropped: SB404 and SB405 report the same with context. "
    "DL1000 (hadolint cannot parse the file: heredocs and other BuildKit syntax it does not "
    "read) is not a finding of its own; see SB702.",
    "follow the hadolint or ShellCheck wiki page of the code, or ignore the code in .hadolint.yaml",
)
SB701 = Rule(
    "SB701",
    "HadolintMissing",
    Severity.INFO,
    "hadolint not installed; lint skipped",
    "hadolint is not installed, so generic Dockerfile lint was skipped.",
    "pip install 'stablebuild[hadolint]', or pass --no-hadolint",
)
SB702 = Rule(
    "SB702",
    "HadolintFailed",
    Severity.WARNING,
    "hadolint failed on a file, or could not parse some (info)",
    "hadolint failed on one file (a crash, a timeout after 30 s, unreadable output); the rest "
    "of the audit is unaffected. **info**: one note listing the Dockerfiles hadolint could not "
    "parse (its DL1000) and so did not lint; syntax Docker itself rejects is SB400's.",
    "run hadolint on the file by hand to see why",
)

TIMEOUT_S = 30.0
DUPLICATES = frozenset({"DL3022", "DL3002"})
UNPARSED = "DL1000"  # hadolint's "could not parse this file"
_LEVELS = {
    "error": Severity.ERROR,
    "warning": Severity.WARNING,
    "info": Severity.INFO,
    "style": Severity.INFO,
}


def find_binary() -> str | None:
    """hadolint installed with stablebuild (next to this interpreter) first, then on PATH."""
    for name in ("hadolint", "hadolint.exe"):
        beside = Path(sys.executable).parent / name
        if beside.is_file() and os.access(beside, os.X_OK):
            return str(beside)
    return shutil.which("hadolint")


def run(project: Project, options: AuditOptions) -> list[Finding]:
    return start(project, options)()


def start(project: Project, options: AuditOptions) -> Callable[[], list[Finding]]:
    """Start hadolint on every Dockerfile in the background; the result collects the findings."""
    if not options.hadolint:
        return list
    binary = find_binary()
    if binary is None:
        skipped = SB701.finding(
            "", None, "hadolint is not installed: generic Dockerfile lint was skipped"
        )
        return lambda: [skipped]
    jobs = [
        (rel.as_posix(), text)
        for rel in dockerfile.dockerfiles(project)
        if (text := read_text(project, rel)) is not None
    ]
    cap = Severity(project.manifest.audit.hadolint_severity if project.manifest else "warning")
    if not jobs:
        return list
    pool = ThreadPoolExecutor(max_workers=min(8, len(jobs)), thread_name_prefix="hadolint")
    futures: list[Future[list[Finding]]] = [
        pool.submit(lint, binary, file, text, project.root) for file, text in jobs
    ]
    pool.shutdown(wait=False)

    def collect() -> list[Finding]:
        findings: list[Finding] = []
        unparsed: list[str] = []
        for (file, _), future in zip(jobs, futures, strict=True):
            try:
                found = future.result()
            except Exception as exc:  # never let hadolint break the audit
                findings.append(_failed(file, f"{type(exc).__name__}: {exc}"))
                continue
            for finding in found:
                if finding.rule == f"{SB700.id}:{UNPARSED}":
                    unparsed.append(finding.file)
                else:
                    findings.append(_capped(finding, cap))
        if unparsed:
            findings.append(_not_linted(sorted(set(unparsed))))
        return findings

    return collect


def lint(binary: str, file: str, text: str, cwd: Path) -> list[Finding]:
    """hadolint's findings for one Dockerfile, or one SB702 finding saying why there are none."""
    try:
        proc = subprocess.run(
            [binary, "--format", "json", "--no-fail", "-"],
            input=text,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return [_failed(file, f"timed out after {TIMEOUT_S:.0f} s")]
    except OSError as exc:
        return [_failed(file, exc.strerror or str(exc))]
    try:
        results = json.loads(proc.stdout or "[]")
    except ValueError:
        results = None
    if proc.returncode != 0 or not isinstance(results, list):
        why = (proc.stderr or proc.stdout).strip().splitlines()
        return [_failed(file, f"exit {proc.returncode}: {why[0] if why else 'no output'}")]
    return [f for item in results if isinstance(item, dict) and (f := to_finding(file, item))]


def to_finding(file: str, item: dict[str, object]) -> Finding | None:
    """One entry of `hadolint --format json` as a Finding; None for codes an SB rule covers."""
    code = str(item.get("code", "")).strip() or "unknown"
    if code in DUPLICATES:
        return None
    line = item.get("line")
    own = str(item.get("level", "")).lower()
    level = _LEVELS.get(own, Severity.WARNING)
    url = (
        f"https://github.com/hadolint/hadolint/wiki/{code}"
        if code.startswith("DL")
        else (f"https://www.shellcheck.net/wiki/{code}" if code.startswith("SC") else "")
    )
    return Finding(
        f"{SB700.id}:{code}",
        level,
        file,
        line if isinstance(line, int) and line > 0 else None,
        " ".join(str(item.get("message", "")).split()) + (f" [hadolint: {own}]" if own else ""),
        f"see {url}" if url else "",
    )


def _capped(finding: Finding, cap: Severity) -> Finding:
    """The finding at no more than `cap` (the manifest's `audit.hadolint_severity`)."""
    if finding.rule.startswith(f"{SB700.id}:") and finding.severity.rank > cap.rank:
        return finding._replace(severity=cap)
    return finding


def _not_linted(files: list[str]) -> Finding:
    shown = ", ".join(files[:10]) + (f" and {len(files) - 10} more" if len(files) > 10 else "")
    return SB702.finding(
        "",
        None,
        f"hadolint could not parse {len(files)} Dockerfile(s), so they were not linted: {shown} "
        "(hadolint does not read heredocs and some other BuildKit syntax; Docker may well)",
        "SB400 reports syntax Docker itself rejects; nothing to do unless it shows one",
        Severity.INFO,
    )


def _failed(file: str, why: str) -> Finding:
    return SB702.finding(
        file, None, f"hadolint failed on this file ({why}); its lint is missing from this report"
    )


__all__ = ["DUPLICATES", "find_binary", "lint", "run", "start", "to_finding"]
