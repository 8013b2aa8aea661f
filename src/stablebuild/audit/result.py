"""What an audit found: the AuditResult every output format renders.

Kept apart from the runner (which imports every rule family) so that rendering a result, a
remembered one included (`stablebuild.audit.answer`), loads none of the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import cast

from stablebuild.audit.baseline import Entry
from stablebuild.audit.finding import Finding, Severity, State
from stablebuild.audit.fingerprint import fingerprints, places
from stablebuild.report.format.source import Place
from stablebuild.values import Frozen


class AuditResult(Frozen):
    """NOTE: not a NamedTuple: it keeps the places and fingerprints it finds (once each)."""

    __slots__ = (
        "_found",
        "baseline",
        "errors",
        "files_scanned",
        "findings",
        "fixed",
        "ids",
        "root",
        "seconds",
        "timings",
    )
    _uncompared = _unshown = ("_found",)
    root: Path
    findings: tuple[Finding, ...]  # sorted by file, line, rule; every state
    files_scanned: int  # files discovered and considered by the rules
    seconds: float
    errors: Mapping[str, str]  # family -> what went wrong inside it
    timings: Mapping[str, float]  # family -> seconds
    ids: tuple[str, ...]  # each finding's fingerprint; empty: computed when asked
    baseline: Path | None  # the baseline file in use
    fixed: tuple[Entry, ...]  # its entries no finding matches any more
    _found: dict[str, object]  # what was computed once: the places, the fingerprints

    def __init__(
        self,
        root: Path,
        findings: tuple[Finding, ...],
        files_scanned: int,
        seconds: float,
        errors: Mapping[str, str] | None = None,
        timings: Mapping[str, float] | None = None,
        ids: tuple[str, ...] = (),
        baseline: Path | None = None,
        fixed: tuple[Entry, ...] = (),
    ) -> None:
        super().__init__(
            root=root,
            findings=findings,
            files_scanned=files_scanned,
            seconds=seconds,
            errors=errors if errors is not None else {},
            timings=timings if timings is not None else {},
            ids=ids,
            baseline=baseline,
            fixed=fixed,
            _found={},
        )

    def placed_at(self, tree: Path, found: list[Place | None]) -> None:
        """The places, as they were found when the answer was given (a remembered one)."""
        self._found["places"] = (tree, found)

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
        if "places" not in self._found:
            self._found["places"] = places(self.root, self.findings)
        return cast("tuple[Path, list[Place | None]]", self._found["places"])

    def fingerprints(self) -> tuple[str, ...]:
        """Each finding's stable id, in order (`stablebuild.audit.fingerprint`)."""
        if len(self.ids) == len(self.findings):
            return self.ids
        if "fingerprints" not in self._found:
            self._found["fingerprints"] = tuple(fingerprints(self.findings, self.places()[1]))
        return cast("tuple[str, ...]", self._found["fingerprints"])


__all__ = ["AuditResult"]
