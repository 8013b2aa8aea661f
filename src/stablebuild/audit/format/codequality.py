"""GitLab Code Quality JSON (a CodeClimate subset): findings in the merge request's widget.

GitLab requires description, check_name, fingerprint (unique in the report), severity,
location.path (relative to the repository root) and location.lines.begin. A finding about the
run itself (no file: SB000, SB701) has no place in the widget and stays in the job log.
"""

from __future__ import annotations

import json
from typing import Any

from stablebuild.audit.finding import Severity
from stablebuild.audit.format.interface import AuditFormatter
from stablebuild.audit.format.places import located
from stablebuild.audit.runner import AuditResult
from stablebuild.report.format.codequality import issue
from stablebuild.report.format.source import Fingerprints

SEVERITY = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}


def issues(result: AuditResult) -> list[dict[str, Any]]:
    fingerprint = Fingerprints()
    out: list[dict[str, Any]] = []
    for finding, where in located(result)[1]:
        if where is None:
            continue
        text = finding.message + (f" Fix: {finding.hint}" if finding.hint else "")
        key = fingerprint(finding.rule, where, finding.message)
        out.append(issue(finding.rule, text, SEVERITY[finding.severity], where, key))
    return out


class CodeQualityFormat(AuditFormatter):
    def format(self, result: AuditResult) -> str:
        return json.dumps(issues(result), indent=2, ensure_ascii=False) + "\n"
