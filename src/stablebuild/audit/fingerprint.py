"""Stable ids of audit findings: the one implementation behind SARIF's `partialFingerprints`,
GitLab Code Quality's `fingerprint` and the baseline file.

An id is the rule, the path relative to the git work tree and the normalized content of the
finding's line (or, with no line, its message without numbers), plus the occurrence among equal
ones: it survives lines moving up or down and edits elsewhere in the file
(`stablebuild.report.format.source.Fingerprints`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from stablebuild.audit.finding import Finding
from stablebuild.report.format.source import (
    Fingerprints,
    Place,
    line_text,
    normalize,
    read_lines,
    repo_path,
    work_tree_root,
)


def place(finding: Finding, root: Path, tree: Path) -> Place | None:
    """`finding` in the work tree `tree` (line 1 when the rule has no line); None for a finding
    about the run itself (no file: SB000, SB701)."""
    if not finding.file:
        return None
    path = root / finding.file
    text = line_text(path, finding.line, root) if finding.line else ""
    return Place(repo_path(tree, path), finding.line or 1, text)


def places(root: Path, findings: Sequence[Finding]) -> tuple[Path, list[Place | None]]:
    """The work tree root, and each finding's place, in order: what `place` gives, with each
    file read once however many findings it has."""
    tree = work_tree_root(root)
    lines: dict[str, list[str]] = {}
    paths: dict[str, str] = {}
    out: list[Place | None] = []
    for finding in findings:
        if not finding.file:
            out.append(None)
            continue
        if finding.file not in paths:
            paths[finding.file] = repo_path(tree, root / finding.file)
        text = ""
        if finding.line:
            if finding.file not in lines:
                lines[finding.file] = read_lines(root / finding.file, root)
            found = lines[finding.file]
            text = normalize(found[finding.line - 1]) if 0 < finding.line <= len(found) else ""
        out.append(Place(paths[finding.file], finding.line or 1, text))
    return tree, out


def fingerprints(findings: Sequence[Finding], where: Sequence[Place | None]) -> list[str]:
    """Each finding's id, in order; `where` is `places(...)[1]` for the same findings.

    NOTE: every finding counts toward the occurrence numbers, whatever its state, so that
    suppressing one never renumbers the others.
    """
    fingerprint = Fingerprints()
    return [fingerprint(f.rule, p, f.message) for f, p in zip(findings, where, strict=True)]


__all__ = ["fingerprints", "place", "places"]
