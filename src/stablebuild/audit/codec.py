"""An AuditResult as JSON data and back: what a remembered audit answer holds.

Everything the output formats read is kept (the findings in every state, their fingerprints
and places in the work tree, the baseline and its fixed entries), so the same formatters render
the data again; the run's duration is the replay's own, and the families' timings are not kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stablebuild.audit.baseline import Entry
from stablebuild.audit.finding import Finding, Severity, State
from stablebuild.audit.result import AuditResult
from stablebuild.report.format.source import Place


def to_data(result: AuditResult) -> dict[str, Any]:
    tree, where = result.places()
    return {
        "root": str(result.root),
        "files_scanned": result.files_scanned,
        "errors": dict(result.errors),
        "findings": [_finding(f) for f in result.findings],
        "ids": list(result.fingerprints()),
        "tree": str(tree),
        "places": [None if p is None else [p.path, p.line, p.text] for p in where],
        "baseline": None if result.baseline is None else str(result.baseline),
        "fixed": [[e.fingerprint, e.rule, e.file, e.message] for e in result.fixed],
    }


def _finding(f: Finding) -> list[Any]:
    return [
        f.rule,
        f.severity.value,
        f.file,
        f.line,
        f.message,
        f.hint,
        f.state.value,
        f.justification,
    ]


def from_data(data: dict[str, Any], seconds: float) -> AuditResult:
    """The result `to_data` made, taking `seconds`; ValueError, TypeError or KeyError for data
    of another shape."""
    findings = tuple(
        Finding(
            _text(rule),
            Severity(severity),
            _text(file),
            _line(line),
            _text(message),
            _text(hint),
            State(state),
            _text(why),
        )
        for rule, severity, file, line, message, hint, state, why in data["findings"]
    )
    places = [
        None if p is None else Place(_text(p[0]), int(p[1]), _text(p[2])) for p in data["places"]
    ]
    ids = tuple(_text(i) for i in data["ids"])
    if not len(places) == len(ids) == len(findings):
        raise ValueError("findings, places and fingerprints differ in number")
    errors = data["errors"]
    if not isinstance(errors, dict):
        raise TypeError("errors is not a mapping")
    baseline = data["baseline"]
    result = AuditResult(
        root=Path(_text(data["root"])),
        findings=findings,
        files_scanned=int(data["files_scanned"]),
        seconds=seconds,
        errors={_text(k): _text(v) for k, v in errors.items()},
        ids=ids,
        baseline=None if baseline is None else Path(_text(baseline)),
        fixed=tuple(Entry(*(_text(v) for v in entry)) for entry in data["fixed"]),
    )
    # NOTE: as the runner does: the places were found once, when the answer was given
    result.placed_at(Path(_text(data["tree"])), places)
    return result


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not text")
    return value


def _line(value: Any) -> int | None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise TypeError(f"{value!r} is not a line number")
    return value


__all__ = ["from_data", "to_data"]
