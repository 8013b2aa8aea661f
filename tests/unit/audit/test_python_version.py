"""SB1xx: Python versions across .python-version, Dockerfiles, compose, CI and pyproject."""

from __future__ import annotations

from pathlib import Path

from packaging.version import Version

from stablebuild.audit import python_version
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project
from stablebuild.manifest.model import Manifest

FIXTURES = Path(__file__).parents[2] / "fixtures" / "audit" / "python_version"


def _run(name: str, manifest: Manifest | None = None) -> list[Finding]:
    return python_version.run(Project.discover(FIXTURES / name, manifest), AuditOptions())


def _places(findings: list[Finding], rule: str) -> list[tuple[str, int | None]]:
    return sorted((f.file, f.line) for f in findings if f.rule == rule)


def test_mismatches_against_the_python_version_file() -> None:
    findings = _run("mismatch")
    assert _places(findings, "SB101") == [
        (".github/workflows/ci.yml", 8),  # matrix 3.10/3.11: the reference is never tested
        (".gitlab-ci.yml", 2),
        ("Dockerfile", 1),
        ("docker-compose.yml", 6),
    ]
    dockerfile = next(f for f in findings if f.rule == "SB101" and f.file == "Dockerfile")
    assert "3.13.5" in dockerfile.message and "3.12.7" in dockerfile.message
    assert dockerfile.severity is Severity.ERROR and dockerfile.hint


def test_patch_level_difference_is_not_a_mismatch() -> None:
    findings = _run("mismatch")
    [patch] = [f for f in findings if f.rule == "SB102"]
    assert (patch.file, patch.line, patch.severity) == ("Dockerfile", 5, Severity.INFO)
    # compose `- PYTHON_VERSION=3.12` and CI `python-version: 3.12` agree with 3.12.7
    assert ("docker-compose.yml", 12) not in _places(findings, "SB101")
    assert (".github/workflows/ci.yml", 18) not in _places(findings, "SB101")


def test_floating_tag_and_requires_python() -> None:
    findings = _run("mismatch")
    assert _places(findings, "SB104") == [("Dockerfile.worker", 1)]
    [req] = [f for f in findings if f.rule == "SB103"]
    assert (req.file, req.line) == ("pyproject.toml", 4) and ">=3.13" in req.message


def test_consistent_repo_is_clean() -> None:
    assert _run("consistent") == []


def test_reference_is_most_common_without_python_version_file() -> None:
    found = python_version.discover(Project.discover(FIXTURES / "common"))
    assert found.reference is not None and found.reference.minor == (3, 11)
    assert found.image_targets() == [(3, 11), (3, 12)]
    assert _places(_run("common"), "SB101") == [("Dockerfile", 3)]


def test_manifest_python_is_the_reference(tmp_path: Path) -> None:
    root = FIXTURES / "consistent"
    manifest = Manifest(
        path=root / "stablebuild.yml",
        root=root,
        name="svc",
        python="3.13.5",
        python_source="stablebuild.yml",
    )
    findings = _run("consistent", manifest)
    assert ("Dockerfile", 1) in _places(findings, "SB101")
    assert (".python-version", 1) in _places(findings, "SB101")
    assert _places(findings, "SB103") == []  # <3.14 admits 3.13


def test_patch_match_from_manifest_warns(tmp_path: Path) -> None:
    (tmp_path / ".python-version").write_text("3.12.7\n")
    (tmp_path / "Dockerfile").write_text("FROM python:3.12.4-slim\nFROM python:3.12\n")
    manifest = Manifest(
        path=tmp_path / "stablebuild.yml",
        root=tmp_path,
        name="svc",
        python="3.12.7",
        python_source=".python-version",
        python_match="patch",
    )
    findings = python_version.run(Project.discover(tmp_path, manifest), AuditOptions())
    assert [(f.rule, f.line, f.severity) for f in findings] == [
        ("SB102", 1, Severity.WARNING),
        ("SB102", 2, Severity.WARNING),
    ]


def test_bad_inputs_become_findings(tmp_path: Path) -> None:
    (tmp_path / ".python-version").write_text("system\n")
    (tmp_path / "pyproject.toml").write_text("[project\nname=1\n")
    (tmp_path / "compose.yaml").write_text("services: [unclosed\n")
    (tmp_path / "Dockerfile").write_bytes(b"\x00\x01binary")
    findings = python_version.run(Project.discover(tmp_path), AuditOptions())
    assert sorted(f.rule for f in findings) == ["SB104", "SB105"]


def test_parse_helpers() -> None:
    assert python_version.parse_version("3.12.7") == Version("3.12.7")
    assert python_version.parse_version("python-3.12") == Version("3.12")
    assert python_version.parse_version("3") is None
    assert python_version.python_image_tag("docker.io/library/python:3.12@sha256:ab") == (
        True,
        "3.12",
    )
    assert python_version.python_image_tag("registry:5000/python") == (True, None)
    assert python_version.python_image_tag("pythonista:3.12")[0] is False
