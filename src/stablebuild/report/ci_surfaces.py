"""What a CI shows without being asked: GitHub annotations and step summary, GitLab log sections.

With `GITHUB_ACTIONS=true`, each finding or failed check is also printed as a workflow command
(`::error file=…,line=…,title=…::message`, shown on the pull request's diff) and the Markdown
report is appended to `$GITHUB_STEP_SUMMARY`. With `GITLAB_CI=true`, `section()` folds a part of
the job log. Outside those CIs every function here does nothing.

NOTE: the commands go to stderr by default: the runner reads workflow commands on both streams,
and stdout stays clean for `--format json` and the like. What makes them is imported where it is
used: every validate (a remembered answer too) loads this module, and outside a CI runs none of it.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from stablebuild.audit.runner import AuditResult
    from stablebuild.report.format.source import Place
    from stablebuild.report.model import Report

SUMMARY_LIMIT = 1024 * 1024  # GitHub refuses a step summary over 1 MiB
COMMAND = {"error": "error", "warning": "warning", "info": "notice"}
ORDER = {"error": 0, "warning": 1, "info": 2}


def on_github(env: Mapping[str, str] | None = None) -> bool:
    return (os.environ if env is None else env).get("GITHUB_ACTIONS") == "true"


def on_gitlab(env: Mapping[str, str] | None = None) -> bool:
    return (os.environ if env is None else env).get("GITLAB_CI") == "true"


def escape_data(text: str) -> str:
    """A workflow command's message: `%`, CR and LF percent-encoded, as GitHub's toolkit does."""
    from stablebuild.report.format.text import clean

    return clean(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: also `:` and `,`, which end a property."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(severity: str, message: str, place: Place | None, title: str) -> str:
    """`::error file=…,line=…,title=…::message` (`notice` for info)."""
    props = []
    if place is not None:
        props += [f"file={escape_property(place.path)}", f"line={place.line}"]
    props.append(f"title={escape_property(title)}")
    return f"::{COMMAND[severity]} {','.join(props)}::{escape_data(message)}"


def audit_commands(result: AuditResult) -> list[str]:
    """One workflow command per finding, errors first (GitHub shows 10 of each kind a step)."""
    from stablebuild.audit.format.places import located

    active = [entry for entry in located(result)[1] if entry[0].active]  # not suppressed
    entries = sorted(active, key=lambda entry: ORDER[entry[0].severity.value])
    return [
        workflow_command(
            f.severity.value,
            f.message + (f"\nFix: {f.hint}" if f.hint else ""),
            where,
            f"stablebuild {f.rule}",
        )
        for f, where in entries
    ]


def validate_commands(report: Report) -> list[str]:
    """One `::error` per failed build or check, at the place that caused it."""
    from stablebuild.report.format.failures import failures

    return [
        workflow_command("error", f.message, f.place, f"stablebuild {f.title}")
        for f in failures(report)[1]
    ]


def append_summary(markdown: str, env: Mapping[str, str] | None = None) -> str | None:
    """Append `markdown` to `$GITHUB_STEP_SUMMARY`; a one-line reason when it could not be."""
    path = (os.environ if env is None else env).get("GITHUB_STEP_SUMMARY")
    if not path:
        return None
    data = markdown.encode("utf-8")
    if len(data) > SUMMARY_LIMIT:
        note = b"\n\n_(cut: the full report is in the files the step wrote)_\n"
        data = data[: SUMMARY_LIMIT - len(note)].decode("utf-8", "ignore").encode() + note
    try:
        with open(path, "ab") as summary:
            summary.write(data + b"\n")
    except OSError as exc:
        return f"cannot append to $GITHUB_STEP_SUMMARY ({path}): {exc.strerror or exc}"
    return None


def _emit(commands: list[str], markdown: str, env: Mapping[str, str], out: TextIO) -> None:
    for command in commands:
        out.write(command + "\n")
    problem = append_summary(markdown, env)
    if problem is not None:
        out.write(f"::warning title=stablebuild::{escape_data(problem)}\n")
    out.flush()


def announce_audit(
    result: AuditResult, env: Mapping[str, str] | None = None, out: TextIO | None = None
) -> None:
    """On GitHub Actions: annotations for the findings, and the Markdown report as the step
    summary. Elsewhere nothing. The CLI's one line: `announce_audit(result)`."""
    env = os.environ if env is None else env
    if not on_github(env):
        return
    from stablebuild.audit.format.markdown import MarkdownFormat

    _emit(audit_commands(result), MarkdownFormat().format(result), env, out or sys.stderr)


def announce_validate(
    report: Report, env: Mapping[str, str] | None = None, out: TextIO | None = None
) -> None:
    """On GitHub Actions: annotations for the failures, and the Markdown report as the step
    summary. Elsewhere nothing. The CLI's one line: `announce_validate(report)`."""
    env = os.environ if env is None else env
    if not on_github(env):
        return
    from stablebuild.report.format.markdown import MarkdownFormat

    _emit(validate_commands(report), MarkdownFormat().format(report), env, out or sys.stderr)


_SECTION_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def section_start(
    name: str, header: str, *, collapsed: bool = True, now: float | None = None
) -> str:
    """GitLab's marker opening a log section (`\\e[0Ksection_start:TS:NAME[collapsed=true]`)."""
    from stablebuild.report.format.text import clean

    options = "[collapsed=true]" if collapsed else ""
    stamp = int(time.time() if now is None else now)
    name = _SECTION_NAME.sub("_", name)
    return f"\x1b[0Ksection_start:{stamp}:{name}{options}\r\x1b[0K{clean(header)}"


def section_end(name: str, *, now: float | None = None) -> str:
    stamp = int(time.time() if now is None else now)
    return f"\x1b[0Ksection_end:{stamp}:{_SECTION_NAME.sub('_', name)}\r\x1b[0K"


@contextlib.contextmanager
def section(
    name: str,
    header: str,
    *,
    collapsed: bool = True,
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> Iterator[None]:
    """Fold what is printed inside into one collapsible section of a GitLab job log."""
    if not on_gitlab(env):
        yield
        return
    stream = out or sys.stderr
    stream.write(section_start(name, header, collapsed=collapsed) + "\n")
    stream.flush()
    try:
        yield
    finally:
        stream.write(section_end(name) + "\n")
        stream.flush()


__all__ = [
    "announce_audit",
    "announce_validate",
    "append_summary",
    "audit_commands",
    "escape_data",
    "escape_property",
    "on_github",
    "on_gitlab",
    "section",
    "section_end",
    "section_start",
    "validate_commands",
    "workflow_command",
]
