"""SB2xx: unpinned pin files, drift between files, conflicts, duplicates, uninstalled pins."""

from __future__ import annotations

from pathlib import Path

from stablebuild.audit import pins
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project
from stablebuild.manifest.model import AuditSpec, Manifest

DRIFT = Path(__file__).parents[2] / "fixtures" / "audit" / "pins" / "drift"


def _by_rule(findings: list[Finding]) -> dict[str, list[tuple[str, int | None]]]:
    out: dict[str, list[tuple[str, int | None]]] = {}
    for f in findings:
        out.setdefault(f.rule, []).append((f.file, f.line))
    return {k: sorted(v) for k, v in out.items()}


def test_drift_fixture_without_manifest() -> None:
    findings = pins.run(Project.discover(DRIFT), AuditOptions())
    rules = _by_rule(findings)
    # a file named "stable" must pin exactly; warnings without a manifest
    assert rules["SB201"] == [("requirements-stable.txt", 4), ("requirements-stable.txt", 5)]
    assert {f.severity for f in findings if f.rule == "SB201"} == {Severity.WARNING}
    assert rules["SB204"] == [("requirements-stable.txt", 7)]
    assert rules["SB203"] == [("requirements-dev.txt", 2)]  # anyio 4.4.0 vs -r base's 4.3.0
    assert rules["SB202"] == [("requirements.txt", 2)]  # psycopg2-binary 2.9.9 vs 2.9.10
    assert rules["SB205"] == [("requirements-stable.txt", None)]
    stale = next(f for f in findings if f.rule == "SB205")
    assert "docker/Dockerfile:4 installs requirements.txt" in stale.message


def test_inventory_maps_image_paths_back_to_the_repo() -> None:
    inv = pins.inventory(Project.discover(DRIFT))
    assert [(i.dockerfile, i.line, i.target, i.how) for i in inv.installs] == [
        ("docker/Dockerfile", 3, "requirements.txt", "COPY"),
        ("docker/Dockerfile", 4, "requirements.txt", "-r"),
    ]
    assert inv.wheel_files() == ["requirements.txt"]
    assert inv.closures["requirements-stable.txt"] == (
        "requirements-stable.txt",
        "requirements-base.txt",
    )


def test_manifest_named_files_must_pin_exactly() -> None:
    manifest = Manifest(
        path=DRIFT / "stablebuild.yml",
        root=DRIFT,
        name="svc",
        python=None,
        python_source="stablebuild.yml",
        requirements=(DRIFT / "requirements.txt",),
        audit=AuditSpec(exact_pins=True),
    )
    findings = pins.run(Project.discover(DRIFT, manifest), AuditOptions())
    unpinned = [f for f in findings if f.rule == "SB201"]
    assert [(f.file, f.line, f.severity) for f in unpinned] == [
        ("requirements.txt", 1, Severity.ERROR)
    ]
    assert not [f for f in findings if f.rule == "SB205"]  # the named file is installed


def test_pip_install_forms(tmp_path: Path) -> None:
    (tmp_path / "reqs").mkdir()
    for name in ("reqs/prod.txt", "constraints.txt", "lock.txt", "requirements.txt"):
        (tmp_path / name).write_text("a==1\n")
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.12\nWORKDIR /srv\nCOPY reqs/ ./reqs/\nCOPY . /src\n"
        'RUN ["pip", "install", "-r", "reqs/prod.txt"]\n'
        "RUN rm -rf /x && python -m pip install --requirement=/src/constraints.txt\n"
        "RUN uv pip sync /src/lock.txt && pip install -c/src/requirements.txt b\n"
    )
    inv = pins.inventory(Project.discover(tmp_path))
    assert sorted((i.line, i.target, i.how) for i in inv.installs) == [
        (5, "reqs/prod.txt", "-r"),
        (6, "constraints.txt", "-r"),
        (7, "lock.txt", "-r"),
        (7, "requirements.txt", "-c"),
    ]


def test_markers_keep_apart_legitimate_double_pins(tmp_path: Path) -> None:
    (tmp_path / "requirements-lock.txt").write_text(
        'numpy==1.24.4 ; python_version < "3.12"\nnumpy==1.26.4 ; python_version >= "3.12"\n'
    )
    assert pins.run(Project.discover(tmp_path), AuditOptions()) == []


def test_parse_problems_are_reported_once(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-r base.txt\n-r nothere.txt\n")
    (tmp_path / "requirements-lock.txt").write_text("-r base.txt\n")
    (tmp_path / "base.txt").write_text("not valid ===\n")
    rules = _by_rule(pins.run(Project.discover(tmp_path), AuditOptions()))
    assert rules == {"SB200": [("base.txt", 1)], "SB206": [("requirements.txt", 2)]}
