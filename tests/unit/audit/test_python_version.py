"""SB1xx: Python versions across .python-version, Dockerfiles, compose, CI and pyproject."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from stablebuild.audit import python_version
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project
from stablebuild.manifest.model import AuditSpec, Manifest

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


# Owning projects (a monorepo: each folder with its own Python is its own project) ----------
def test_monorepo_compares_each_place_with_its_owning_project() -> None:
    findings = _run("monorepo")
    assert _places(findings, "SB101") == [
        (".github/workflows/ci.yml", 27),  # job 'docs' runs in the root: 3.10 is not 3.12
        ("docker-compose.yml", 10),  # an image-only service belongs to the compose file's folder
        ("packages/old/Dockerfile", 1),  # packages/old requires-python '<3.11'
        ("services/api/Dockerfile", 1),  # no project of its own: the root's 3.12.7
    ]
    by_file = {f.file: f for f in findings if f.rule == "SB101"}
    assert "requires-python of the project in packages/old/ is '<3.11'" in (
        by_file["packages/old/Dockerfile"].message
    )
    assert "3.12.7 (.python-version:1)" in by_file["services/api/Dockerfile"].message
    # samples/legacy (3.9, own .python-version; its Dockerfile, compose file, the root compose
    # service building it and the CI job working there), apps/web (runtime.txt 3.10) and
    # packages/lib (>=3.8) agree with their own projects
    assert not any(f.file.startswith(("samples/", "apps/", "packages/lib")) for f in findings)
    assert _places(findings, "SB103") == []  # packages/old is judged by its own image


def test_owner_of_walks_up_to_the_nearest_project() -> None:
    found = python_version.discover(Project.discover(FIXTURES / "monorepo"))
    assert found.owner_of("samples/legacy/deep/er").folder == "samples/legacy"
    assert found.owner_of("services/api").folder == "."
    assert found.owner_of("apps/web").reference is not None
    assert str(found.owner_of("apps/web").reference.version) == "3.10.14"  # type: ignore[union-attr]
    assert found.image_targets() == [(3, 8), (3, 9), (3, 10), (3, 11), (3, 12)]


def test_requires_python_of_a_library_without_images_is_checked_against_the_root(
    tmp_path: Path,
) -> None:
    (tmp_path / ".python-version").write_text("3.12\n")
    (tmp_path / "libs" / "core").mkdir(parents=True)
    (tmp_path / "libs" / "core" / "pyproject.toml").write_text(
        '[project]\nname = "core"\nversion = "1"\nrequires-python = ">=3.8,<3.11"\n'
    )
    findings = python_version.run(Project.discover(tmp_path), AuditOptions())
    assert [(f.rule, f.file, f.line) for f in findings] == [
        ("SB103", "libs/core/pyproject.toml", 4)
    ]


# A stage named like an image ---------------------------------------------------------------
def test_a_stage_named_python_is_that_stage_not_python_latest(tmp_path: Path) -> None:
    (tmp_path / ".python-version").write_text("3.12.7\n")
    (tmp_path / "Dockerfile").write_text(
        "FROM ghcr.io/astral-sh/uv:python3.12-bookworm-slim AS python\n"
        "FROM python AS build\nRUN uv sync --frozen\n"
        "FROM python\nCOPY --from=build /app /app\nUSER 1000\n"
    )
    project = Project.discover(tmp_path)
    assert python_version.run(project, AuditOptions()) == []
    claims = [c for c in python_version.discover(project).claims if c.file == "Dockerfile"]
    assert [(c.line, str(c.version), c.how) for c in claims] == [
        (1, "3.12", "the base image ghcr.io/astral-sh/uv:python3.12-bookworm-slim names it")
    ]


def test_python_named_later_is_still_python_latest(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python AS base\nFROM alpine AS python\n")
    findings = python_version.run(Project.discover(tmp_path), AuditOptions())
    assert [(f.rule, f.line) for f in findings] == [("SB104", 1)]


# Smaller classes: a byte order mark, a matrix's include ------------------------------------
def test_a_byte_order_mark_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / ".python-version").write_bytes(b"\xef\xbb\xbf3.12.7\n")
    (tmp_path / "Dockerfile").write_bytes(b"\xef\xbb\xbfFROM python:3.11-slim\nUSER 1\n")
    (tmp_path / "pyproject.toml").write_bytes(
        b'\xef\xbb\xbf[project]\nname = "x"\nversion = "1"\nrequires-python = ">=3.13"\n'
    )
    (tmp_path / "compose.yaml").write_bytes(
        b"\xef\xbb\xbfservices:\n  a:\n    image: python:3.10\n"
    )
    findings = python_version.run(Project.discover(tmp_path), AuditOptions())
    assert sorted((f.rule, f.file, f.line) for f in findings) == [
        ("SB101", "Dockerfile", 1),
        ("SB101", "compose.yaml", 3),
        ("SB103", "pyproject.toml", 4),
    ]


MATRIX = """\
jobs:
  test:
    strategy:
      matrix:
        python-version: ["3.10", "3.11"]
        os: [ubuntu-latest]
        include:
          - python-version: "{added}"
            experimental: true
        exclude:
          - python-version: "3.8"
    steps:
      - uses: actions/setup-python@v5
        with:
          python-version: ${{{{ matrix.python-version }}}}
"""


@pytest.mark.parametrize(("added", "expected"), [("3.12", []), ("3.13", [(5, "3.10, 3.11, 3.13")])])
def test_a_matrix_include_adds_a_version(
    tmp_path: Path, added: str, expected: list[tuple[int, str]]
) -> None:
    (tmp_path / ".python-version").write_text("3.12\n")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text(MATRIX.format(added=added))
    findings = python_version.run(Project.discover(tmp_path), AuditOptions())
    got = [(f.line, f.message.split("names Python ")[1].split(", but")[0]) for f in findings]
    assert got == expected


def test_gitlab_parallel_matrix_is_one_group(tmp_path: Path) -> None:
    (tmp_path / ".python-version").write_text("3.12\n")
    (tmp_path / ".gitlab-ci.yml").write_text(
        "test:\n  parallel:\n    matrix:\n      - PYTHON_VERSION: ['3.11']\n"
        "      - PYTHON_VERSION: ['3.12']\n  script: [pytest]\n"
    )
    assert python_version.run(Project.discover(tmp_path), AuditOptions()) == []


# Images whose base is not python: ----------------------------------------------------------
NODE_GYP = "FROM node:20-bookworm\nRUN apt-get install -y python3 make g++\nRUN npm ci\nUSER node\n"


def test_non_python_bases_tell_their_python(tmp_path: Path) -> None:
    (tmp_path / ".python-version").write_text("3.12\n")
    (tmp_path / "gpu").mkdir()
    (tmp_path / "gpu" / "Dockerfile").write_text(
        "FROM nvidia/cuda:12.2.0-runtime-ubuntu22.04\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends python3.11 python3-pip\n"
        "RUN python3.11 -m pip install -r requirements.txt\n"
    )
    (tmp_path / "debian").mkdir()
    (tmp_path / "debian" / "Dockerfile").write_text(
        "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y python3 python3-pip\n"
        'CMD ["python3", "-m", "app"]\n'
    )
    (tmp_path / "frontend").mkdir()
    (tmp_path / "frontend" / "Dockerfile").write_text(NODE_GYP)
    findings = python_version.run(Project.discover(tmp_path), AuditOptions())
    got = {(f.rule, f.file, f.line, f.severity) for f in findings}
    assert got == {
        ("SB101", "gpu/Dockerfile", 2, Severity.ERROR),  # python3.11, written down
        ("SB101", "debian/Dockerfile", 2, Severity.WARNING),  # bookworm's python3 is 3.11
    }
    debian = next(f for f in findings if f.file == "debian/Dockerfile")
    assert "debian bookworm's python3 package" in debian.message
    targets = python_version.discover(Project.discover(tmp_path)).image_targets()
    assert targets == [(3, 11), (3, 12)]


def test_unknown_python_is_said_once_per_dockerfile(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM registry.example.com/base:2 AS build\nRUN pip install -r requirements.txt\n"
        'FROM registry.example.com/base:2\nCOPY --from=build /app /app\nCMD ["gunicorn", "app"]\n'
    )
    (tmp_path / "web.Dockerfile").write_text(NODE_GYP)  # runs no Python: nothing to say
    [finding] = python_version.run(Project.discover(tmp_path), AuditOptions())
    assert (finding.rule, finding.severity, finding.file, finding.line) == (
        "SB107",
        Severity.INFO,
        "Dockerfile",
        1,
    )
    assert "registry.example.com/base:2" in finding.message
    assert "audit.python_versions" in finding.hint and "python: 3.12" in finding.hint
    told = python_version.run(Project.discover(tmp_path), AuditOptions(python_targets=("3.12",)))
    assert told == []
    manifest = Manifest(
        path=tmp_path / "stablebuild.yml",
        root=tmp_path,
        name="svc",
        python=None,
        python_source="",
        audit=AuditSpec(python_versions=("3.12",)),
    )
    assert python_version.run(Project.discover(tmp_path, manifest), AuditOptions()) == []


def test_audit_python_versions_are_targets_not_drift(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\n")
    manifest = Manifest(
        path=tmp_path / "stablebuild.yml",
        root=tmp_path,
        name="svc",
        python="3.12",
        python_source="stablebuild.yml",
        audit=AuditSpec(python_versions=("3.13",)),
    )
    project = Project.discover(tmp_path, manifest)
    assert python_version.run(project, AuditOptions()) == []
    assert python_version.discover(project).image_targets() == [(3, 12), (3, 13)]


def test_a_gitlab_job_that_cds_into_a_project_belongs_to_it(tmp_path: Path) -> None:
    (tmp_path / ".python-version").write_text("3.12\n")
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / ".python-version").write_text("3.9\n")
    (tmp_path / ".gitlab-ci.yml").write_text(
        "legacy:\n  image: python:3.9\n  script:\n    - cd legacy && pytest\n"
        "other:\n  image: python:3.9\n  script:\n    - pytest\n"
    )
    findings = python_version.run(Project.discover(tmp_path), AuditOptions())
    assert [(f.rule, f.line) for f in findings] == [("SB101", 6)]


@pytest.mark.parametrize(("reference", "expected"), [("3.12.8", []), ("3.11", [("SB101", 1)])])
def test_an_arg_alias_stage_like_cookiecutter_django(
    tmp_path: Path, reference: str, expected: list[tuple[str, int]]
) -> None:
    (tmp_path / ".python-version").write_text(f"{reference}\n")
    (tmp_path / "Dockerfile").write_text(
        "ARG PYTHON_VERSION=3.12-slim-bookworm\nARG PYTHON=python3\n"
        "FROM docker.io/python:${PYTHON_VERSION} AS python\n"
        "FROM python AS python-build-stage\nRUN pip wheel -r requirements.txt\n"
        "FROM python AS python-run-stage\nUSER 1000\n"
    )
    findings = python_version.run(Project.discover(tmp_path), AuditOptions())
    assert [(f.rule, f.line) for f in findings] == expected
