"""JSON output, schema 1: stable keys CI scripts can rely on (documented in docs/rules.md)."""

from __future__ import annotations

import json
from typing import Any

from stablebuild import __version__
from stablebuild.audit.format.interface import AuditFormatter
from stablebuild.audit.result import AuditResult

SCHEMA = 1


def as_dict(result: AuditResult) -> dict[str, Any]:
    """`summary` counts the active findings by severity (those the gate judges), then the
    suppressed and baseline ones; `total` is every finding listed. Each finding has its
    `state` (active, suppressed, baseline), the suppression's reason or the baseline's name as
    `justification`, and the `fingerprint` baselines and SARIF use."""
    counts = result.counts()
    ids = result.fingerprints()
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "tool": {"name": "stablebuild", "version": __version__},
        "root": str(result.root),
        "seconds": round(result.seconds, 4),
        "files_scanned": result.files_scanned,
        "summary": {**counts, **result.states(), "total": len(result.findings)},
        "errors": dict(result.errors),
        "findings": [
            {
                "rule": f.rule,
                "severity": f.severity.value,
                "file": f.file,
                "line": f.line,
                "message": f.message,
                "hint": f.hint,
                "state": f.state.value,
                "justification": f.justification,
                "fingerprint": fingerprint,
            }
            for f, fingerprint in zip(result.findings, ids, strict=True)
        ],
    }
    if result.baseline is not None:
        data["baseline"] = {
            "file": str(result.baseline),
            "fixed": [
                {"fingerprint": e.fingerprint, "rule": e.rule, "file": e.file, "message": e.message}
                for e in result.fixed
            ],
        }
    return data


class JsonFormat(AuditFormatter):
    def format(self, result: AuditResult) -> str:
        return json.dumps(as_dict(result), indent=2) + "\n"
