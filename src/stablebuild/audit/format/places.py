"""Where each audit finding is in the repository: the work tree path and line CI tools want."""

from __future__ import annotations

from pathlib import Path

from stablebuild.audit.finding import Finding
from stablebuild.audit.runner import AuditResult
from stablebuild.report.format.source import Place, line_text, repo_path, work_tree_root


def place(finding: Finding, root: Path, tree: Path) -> Place | None:
    """`finding` in the work tree `tree` (line 1 when the rule has no line); None for a finding
    about the run itself (no file: SB000, SB701)."""
    if not finding.file:
        return None
    path = root / finding.file
    text = line_text(path, finding.line) if finding.line else ""
    return Place(repo_path(tree, path), finding.line or 1, text)


def located(result: AuditResult) -> tuple[Path, list[tuple[Finding, Place | None]]]:
    """The work tree root, and every finding with its place, in the result's order."""
    tree = work_tree_root(result.root)
    return tree, [(f, place(f, result.root, tree)) for f in result.findings]


__all__ = ["located", "place"]
