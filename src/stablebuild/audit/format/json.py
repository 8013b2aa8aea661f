"""JSON output, schema 1: stable keys CI scripts can rely on (documented in docs/rules.md)."""

from __future__ import annotations

import json
from typing import Any

from stablebuild import __version__
from stablebuild.audit.format.interface import AuditFormatter
from stablebuild.audit.runner import AuditResult

SCHEMA = 1


def as_dict(result: AuditResult) -> dict[str, Any]:
    counts = result.counts()
    return {
        "schema": SCHEMA,
        "tool": {"name": "stablebuild", "version": __version__},
        "root": str(result.root),
        "seconds": round(result.seconds, 4),
        "files_scanned": result.files_scanned,
        "summary": {**counts, "total": len(result.findings)},
        "errors": dict(result.errors),
        "findings": [
            {
                "rule": f.rule,
                "severity": f.severity.value,
                "file": f.file,
                "line": f.line,
                "message": f.message,
                "hint": f.hint,
            }
            for f in result.findings
        ],
    }


class JsonFormat(AuditFormatter):
    def format(self, result: AuditResult) -> str:
        return json.dumps(as_dict(result), indent=2) + "\n"
