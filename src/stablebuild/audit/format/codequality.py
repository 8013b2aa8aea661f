"""GitLab Code Quality JSON (a CodeClimate subset): findings in the merge request's widget.

GitLab requires description, check_name, fingerprint (unique in the report), severity,
location.path (relative to the repository root) and location.lines.begin. A finding about the
run itself (no file: SB000, SB701) has no place in the widget and stays in the job log.
Code Quality has no notion of a suppression: suppressed findings are left out, baseline ones
are `info` with "(in the baseline)", so the widget's new issues are the ones that fail.
"""

from __future__ import annotations

import json
from typing import Any

from stablebuild.audit.finding import Severity, State
from stablebuild.audit.format.interface import AuditFormatter
from stablebuild.audit.format.places import located
from stablebuild.audit.result import AuditResult
from stablebuild.report.format.codequality import issue

SEVERITY = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}


def issues(result: AuditResult) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for (finding, where), key in zip(located(result)[1], result.fingerprints(), strict=True):
        if where is None or finding.state is State.SUPPRESSED:
            continue
        text = finding.message + (f" Fix: {finding.hint}" if finding.hint else "")
        severity = SEVERITY[finding.severity]
        if finding.state is State.BASELINE:
            text, severity = f"{text} (in the baseline)", "info"
        out.append(issue(finding.rule, text, severity, where, key))
    return out


class CodeQualityFormat(AuditFormatter):
    def format(self, result: AuditResult) -> str:
        return json.dumps(issues(result), indent=2, ensure_ascii=False) + "\n"
