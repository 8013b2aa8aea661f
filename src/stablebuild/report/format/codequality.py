"""GitLab Code Quality JSON (a CodeClimate subset) for validate: each failure in the merge
request's widget, at the manifest entry or Dockerfile instruction that caused it.

GitLab requires description, check_name, fingerprint (unique in the report), severity (info,
minor, major, critical, blocker), location.path (relative to the repository root) and
location.lines.begin. A failed build is a blocker, a failed check critical, a check that could
not run major.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from stablebuild.report.format.failures import failures
from stablebuild.report.format.interface import ReportFormatter
from stablebuild.report.format.source import Fingerprints, Place
from stablebuild.report.model import Report

SEVERITIES = ("info", "minor", "major", "critical", "blocker")


def issue(
    check_name: str, description: str, severity: str, place: Place, key: str
) -> dict[str, Any]:
    """One Code Quality issue; `key` is made unique in the report by the caller (Fingerprints)."""
    return {
        "type": "issue",
        "engine_name": "stablebuild",
        "check_name": check_name,
        "description": description,
        "categories": ["Bug Risk"],
        "severity": severity,
        "fingerprint": hashlib.sha256(key.encode()).hexdigest()[:32],
        "location": {"path": place.path, "lines": {"begin": place.line}},
    }


def issues(report: Report) -> list[dict[str, Any]]:
    fingerprint = Fingerprints()
    out: list[dict[str, Any]] = []
    for failure in failures(report)[1]:
        if failure.check == "build":
            severity = "blocker"
        else:
            severity = "critical" if failure.status == "failed" else "major"
        key = fingerprint(f"{failure.rule}/{failure.image}/{failure.check}", failure.place, "")
        out.append(
            issue(failure.rule, f"{failure.title}: {failure.message}", severity, failure.place, key)
        )
    return out


class CodeQualityFormat(ReportFormatter):
    def format(self, report: Report) -> str:
        return json.dumps(issues(report), indent=2, ensure_ascii=False) + "\n"
