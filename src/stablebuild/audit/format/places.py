"""Where each audit finding is in the repository: the work tree path and line CI tools want."""

from __future__ import annotations

from pathlib import Path

from stablebuild.audit.finding import Finding
from stablebuild.audit.fingerprint import place
from stablebuild.audit.result import AuditResult
from stablebuild.report.format.source import Place


def located(result: AuditResult) -> tuple[Path, list[tuple[Finding, Place | None]]]:
    """The work tree root, and every finding (whatever its state) with its place, in the
    result's order."""
    tree, where = result.places()
    return tree, list(zip(result.findings, where, strict=True))


__all__ = ["located", "place"]
