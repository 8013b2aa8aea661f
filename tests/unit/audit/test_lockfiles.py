"""uv.lock, poetry.lock, Pipfile.lock and pdm.lock feed wheel coverage, pin drift and vulns."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stablebuild.audit import lockfiles, pins, vulns, wheels
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.index import DistFile, ProjectPage
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project

FIXTURES = Path(__file__).parents[2] / "fixtures" / "audit" / "lockfiles"
ML = "manylinux_2_17_x86_64.manylinux2014_x86_64"
# (fixture, lockfile, the line of psycopg2-binary's version)
LOCKS = [
    ("uv", "uv.lock", 52),
    ("poetry", "poetry.lock", 44),
    ("pdm", "pdm.lock", 51),
    ("pipfile", "Pipfile.lock", 26),
]


def _pypi(name: str) -> ProjectPage:
    """What the index says; a lockfile with recorded files must not need it."""
    pages = {
        "psycopg2-binary": ["psycopg2-binary-2.9.9.tar.gz"]
        + [f"psycopg2_binary-2.9.9-cp3{m}-cp3{m}-{ML}.whl" for m in range(8, 13)],
        "requests": ["requests-2.32.3-py3-none-any.whl", "requests-2.32.3.tar.gz"],
        "pytest": ["pytest-8.3.3-py3-none-any.whl", "pytest-8.3.3.tar.gz"],
    }
    if name not in pages:
        return ProjectPage(name, (), found=False)
    return ProjectPage(name, tuple(DistFile(f) for f in pages[name]))


def _project(tmp_path: Path, fixture: str) -> Project:
    root = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, root)
    return Project.discover(root)


def _wheel_findings(findings: list[Finding]) -> list[tuple[str, str, int | None]]:
    return sorted((f.rule, f.file, f.line) for f in findings if f.rule in {"SB301", "SB304"})


@pytest.mark.parametrize(("fixture", "lock", "line"), LOCKS)
def test_lockfile_pin_without_a_wheel_is_flagged_at_its_line(
    tmp_path: Path, fixture: str, lock: str, line: int
) -> None:
    project = _project(tmp_path, fixture)
    findings = wheels.run(project, AuditOptions(cache_dir=tmp_path / "cache"), _pypi)
    # psycopg2-binary 2.9.9 has no cp313 wheel; pywin32 (Windows only) is not judged on Linux
    assert _wheel_findings(findings) == [("SB301", lock, line)]
    [psycopg] = [f for f in findings if f.rule == "SB301"]
    assert psycopg.severity is Severity.ERROR
    assert psycopg.message.startswith("psycopg2-binary==2.9.9 has no wheel for CPython 3.13")
    assert "pg_config" in psycopg.message


@pytest.mark.parametrize(("fixture", "lock"), [(f, lk) for f, lk, _ in LOCKS if f != "pipfile"])
def test_recorded_wheel_lists_need_no_index(tmp_path: Path, fixture: str, lock: str) -> None:
    def no_network(name: str) -> ProjectPage:
        raise AssertionError(f"{lock} records its files; the index was asked for {name}")

    project = _project(tmp_path, fixture)
    findings = wheels.run(project, AuditOptions(cache_dir=tmp_path / "cache"), no_network)
    line = next(n for f, _, n in LOCKS if f == fixture)
    assert [f.line for f in findings if f.rule == "SB301"] == [line]


def test_lockfile_pins_are_exact_pins_with_markers_from_the_graph(tmp_path: Path) -> None:
    project = _project(tmp_path, "uv")
    lock = lockfiles.read(project, Path("uv.lock"))
    by_name = {p.name: p for p in lock.requirements.entries}
    assert "orders-api" not in by_name  # the project itself (editable) is not a pin
    assert by_name["psycopg2-binary"].exact_version == "2.9.9"
    assert by_name["psycopg2-binary"].line == 52
    assert by_name["pywin32"].marker == "sys_platform == 'win32'"
    assert by_name["certifi"].marker is None  # requests needs it everywhere
    assert lock.dev_only == frozenset({("uv.lock", by_name["pytest"].line)})
    assert any(f.filename.endswith("win_amd64.whl") for f in lock.recorded[("uv.lock", 52)])


def test_poetry_edges_give_markers_and_pdm_uses_its_own(tmp_path: Path) -> None:
    poetry = lockfiles.read(_project(tmp_path, "poetry"), Path("poetry.lock"))
    marker = {p.name: p.marker for p in poetry.requirements.entries}["pywin32"]
    assert marker == 'platform_system == "Windows"'
    pdm = lockfiles.read(_project(tmp_path, "pdm"), Path("pdm.lock"))
    assert {p.name: p.marker for p in pdm.requirements.entries}["pywin32"] == (
        'platform_system == "Windows"'
    )
    assert {p.name for p in pdm.requirements.entries if (p.file, p.line) in pdm.dev_only} == {
        "iniconfig",
        "pytest",
    }


def test_broken_lockfile_is_one_clear_finding(tmp_path: Path) -> None:
    (tmp_path / "uv.lock").write_text('version = 1\n[[package]]\nname = "a"\nversion = \n')
    (tmp_path / "Pipfile.lock").write_text("{not json")
    project = Project.discover(tmp_path)
    findings = pins.run(project, AuditOptions())
    broken = sorted((f.rule, f.file, f.line, f.severity) for f in findings)
    assert broken == [
        ("SB208", "Pipfile.lock", 1, Severity.WARNING),
        ("SB208", "uv.lock", 4, Severity.WARNING),
    ]
    assert all("not checked" in f.message for f in findings)


def test_lockfile_drift_against_a_requirements_file(tmp_path: Path) -> None:
    project = _project(tmp_path, "uv")
    (project.root / "requirements.txt").write_text("psycopg2-binary==2.9.10\nrequests==2.32.3\n")
    findings = pins.run(Project.discover(project.root), AuditOptions())
    drift = [(f.rule, f.file, f.line) for f in findings if f.rule == "SB202"]
    assert drift == [("SB202", "requirements.txt", 1)]
    assert "uv.lock:52" in next(f for f in findings if f.rule == "SB202").message
    # a lockfile is a resolver's output: no SB201/SB203/SB204/SB205 about it
    assert not [f for f in findings if f.file == "uv.lock"]


def test_vulnerable_lockfile_pin(tmp_path: Path) -> None:
    db = tmp_path / "insecure_full.json"
    db.write_text(
        json.dumps(
            {
                "requests": [
                    {
                        "id": "pyup.io-71064",
                        "cve": "CVE-2024-35195",
                        "advisory": "Requests Session verify=False persists for the connection",
                        "specs": ["<2.32.4"],
                        "v": "<2.32.4",
                    }
                ]
            }
        )
    )
    project = _project(tmp_path, "poetry")
    findings = vulns.run(project, AuditOptions(vuln_db=db))
    assert [(f.rule, f.file, f.line) for f in findings] == [("SB601", "poetry.lock", 83)]


@pytest.mark.parametrize(("fixture", "lock"), [(f, lk) for f, lk, _ in LOCKS])
def test_the_dockerfile_installs_the_lockfile(tmp_path: Path, fixture: str, lock: str) -> None:
    inv = pins.inventory(_project(tmp_path, fixture))
    assert lock in inv.installed()
    assert inv.wheel_files() == [lock]


def test_windows_only_package_is_not_judged_even_without_a_marker(tmp_path: Path) -> None:
    project = _project(tmp_path, "uv")
    lock = project.root / "uv.lock"
    text = lock.read_text()
    start = text.index('[[package]]\nname = "orders-api"')
    end = text.index('[[package]]\nname = "portalocker"')
    lock.write_text(text[:start] + text[end:])  # no project entry: no graph to read markers from
    project = Project.discover(project.root)
    pywin32 = next(
        p
        for p in lockfiles.read(project, Path("uv.lock")).requirements.entries
        if p.name == "pywin32"
    )
    assert pywin32.marker is None
    findings = wheels.run(project, AuditOptions(cache_dir=tmp_path / "cache"), _pypi)
    # only Windows wheels recorded, no sdist: a package for another system, not an SB304
    assert [f.rule for f in findings if f.rule.startswith("SB30")] == ["SB301"]
