"""run_audit: every family runs, one failing family becomes SB000, findings sorted, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from stablebuild.audit import runner
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project
from stablebuild.audit.runner import AuditResult, FailOn, exit_code, run_audit
from stablebuild.manifest.model import AuditSpec, Manifest

REFERENCE = Path(__file__).parents[2] / "fixtures" / "audit" / "dockerfile" / "reference"


def options(tmp_path: Path) -> AuditOptions:
    return AuditOptions(offline=True, cache_dir=tmp_path / "cache", hadolint=False)


def test_reference_stack(tmp_path: Path) -> None:
    result = run_audit(REFERENCE, options(tmp_path), None)
    rules = {f.rule for f in result.findings}
    assert {"SB401", "SB403", "SB404", "SB408"} <= rules
    assert result.errors == {}
    keys = [(f.file, f.line or 0) for f in result.findings]
    assert keys == sorted(keys)
    assert result.files_scanned == len(Project.discover(REFERENCE).files)
    assert set(result.timings) >= {name for name, _ in runner.FAMILIES}
    assert result.counts()["error"] >= 4


def test_a_crashing_family_is_sb000_and_the_rest_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(project: Project, opts: AuditOptions) -> list[Finding]:
        raise KeyError("oops")

    families = tuple((n, boom if n == "compose" else r) for n, r in runner.FAMILIES)
    monkeypatch.setattr(runner, "FAMILIES", families)
    result = run_audit(REFERENCE, options(tmp_path), None)
    internal = [f for f in result.findings if f.rule == "SB000"]
    assert len(internal) == 1 and "internal error in compose: KeyError" in internal[0].message
    assert "compose" in result.errors
    assert any(f.rule == "SB401" for f in result.findings)


def test_hadolint_start_failure_is_contained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(project: Project, opts: AuditOptions) -> None:
        raise OSError("no fork")

    monkeypatch.setattr(runner.hadolint, "start", broken)
    opts = AuditOptions(offline=True, cache_dir=tmp_path / "cache")
    result = run_audit(REFERENCE, opts, None)
    assert "hadolint" in result.errors
    assert any(f.rule == "SB401" for f in result.findings)


def test_manifest_can_turn_hadolint_off(tmp_path: Path) -> None:
    manifest = Manifest(
        REFERENCE / "stablebuild.yml", REFERENCE, "ref", None, "", audit=AuditSpec(hadolint=False)
    )
    opts = AuditOptions(offline=True, cache_dir=tmp_path / "cache")
    result = run_audit(REFERENCE, opts, manifest)
    assert not any(f.rule.startswith("SB7") for f in result.findings)


def _result(*severities: Severity) -> AuditResult:
    findings = tuple(Finding("SB999", s, "f", 1, "m") for s in severities)
    return AuditResult(Path("."), findings, 1, 0.0)


@pytest.mark.parametrize(
    ("severities", "fail_on", "code"),
    [
        ((), FailOn.ERROR, 0),
        ((Severity.WARNING, Severity.INFO), FailOn.ERROR, 0),
        ((Severity.WARNING,), FailOn.WARNING, 1),
        ((Severity.INFO,), FailOn.WARNING, 0),
        ((Severity.ERROR,), "error", 1),
        ((Severity.ERROR,), FailOn.NEVER, 0),
    ],
)
def test_exit_code(severities: tuple[Severity, ...], fail_on: FailOn | str, code: int) -> None:
    assert exit_code(_result(*severities), fail_on) == code
