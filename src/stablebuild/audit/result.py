"""What an audit found: the AuditResult every output format renders.

Kept apart from the runner (which imports every rule family) so that rendering a result, a
remembered one included (`stablebuild.audit.answer`), loads none of the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from stablebuild.audit.baseline import Entry
from stablebuild.audit.finding import Finding, Severity, State
from stablebuild.audit.fingerprint import fingerprints, places
from stablebuild.report.format.source import Place


@dataclass(frozen=True)
class AuditResult:
    root: Path
    findings: tuple[Finding, ...]  # sorted by file, line, rule; every state
    files_scanned: int  # files discovered and considered by the rules
    seconds: float
    errors: Mapping[str, str] = field(default_factory=dict)  # family -> what went wrong inside it
    timings: Mapping[str, float] = field(default_factory=dict)  # family -> seconds
    ids: tuple[str, ...] = ()  # each finding's fingerprint; empty: computed when asked
    baseline: Path | None = None  # the baseline file in use
    fixed: tuple[Entry, ...] = ()  # its entries no finding matches any more

    @property
    def active(self) -> tuple[Finding, ...]:
        """The findings that count toward the gate."""
        return tuple(f for f in self.findings if f.active)

    def counts(self) -> dict[str, int]:
        """Active findings by severity."""
        out = {s.value: 0 for s in Severity}
        for finding in self.active:
            out[finding.severity.value] += 1
        return out

    def states(self) -> dict[str, int]:
        """Findings that do not count, by why: suppressed, baseline."""
        out = {State.SUPPRESSED.value: 0, State.BASELINE.value: 0}
        for finding in self.findings:
            if not finding.active:
                out[finding.state.value] += 1
        return out

    def places(self) -> tuple[Path, list[Place | None]]:
        """The git work tree root and each finding's place in it (read once)."""
        return self._placed

    def fingerprints(self) -> tuple[str, ...]:
        """Each finding's stable id, in order (`stablebuild.audit.fingerprint`)."""
        if len(self.ids) == len(self.findings):
            return self.ids
        return self._fingerprints

    @cached_property
    def _placed(self) -> tuple[Path, list[Place | None]]:
        return places(self.root, self.findings)

    @cached_property
    def _fingerprints(self) -> tuple[str, ...]:
        return tuple(fingerprints(self.findings, self._placed[1]))


__all__ = ["AuditResult"]
