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


def test_bind_mounted_pins_file_is_installed(tmp_path: Path) -> None:
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "stable.txt").write_text("httpx==0.27.0\n")
    (tmp_path / "requirements" / "dev.txt").write_text("pytest==8.3.3\n")
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.12-slim-bookworm\n"
        "WORKDIR /srv\n"
        "RUN --mount=type=cache,target=/root/.cache/pip \\\n"
        "    --mount=type=bind,source=requirements/stable.txt,target=/tmp/pins.txt \\\n"
        "    pip install -r /tmp/pins.txt\n"
        "RUN --mount=source=requirements,target=reqs pip install -c reqs/stable.txt pytest\n"
    )
    project = Project.discover(tmp_path)
    inv = pins.inventory(project)
    assert sorted((i.line, i.target, i.how) for i in inv.installs) == [
        (3, "requirements/stable.txt", "-r"),
        (3, "requirements/stable.txt", "mount"),
        (6, "requirements/stable.txt", "-c"),
    ]
    findings = pins.run(project, AuditOptions())
    assert not [f for f in findings if f.rule == "SB205"]
    assert inv.wheel_files() == ["requirements/stable.txt"]


def test_index_options_follow_the_pins_they_install(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text(
        "--extra-index-url https://download.pytorch.org/whl/cpu\nnumpy==1.26.4\n"
    )
    (tmp_path / "requirements.txt").write_text("-r base.txt\ntorch==2.3.0+cpu\n")
    (tmp_path / "requirements-tools.txt").write_text("ruff==0.6.9\n")
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.12-slim-bookworm\n"
        "ARG PIP_INDEX_URL=https://mirror.example/simple\n"
        "COPY . /src\n"
        "RUN pip install -r /src/requirements.txt\n"
        "RUN uv pip install --system --index tools=https://tools.example/simple "
        "-r /src/requirements-tools.txt\n"
    )
    inv = pins.inventory(Project.discover(tmp_path))
    by_name = {p.name: p for f in inv.files.values() for p in f.entries}
    torch = pins.indexes_for(inv, by_name["torch"])
    assert torch.index_url == "https://mirror.example/simple"  # the ARG is pip's environment
    assert torch.extra == ("https://download.pytorch.org/whl/cpu",)  # from the included file
    assert pins.indexes_for(inv, by_name["numpy"]).extra == torch.extra
    tools = pins.indexes_for(inv, by_name["ruff"])
    assert tools.extra == ("https://tools.example/simple",)
    assert tools.index_url is None  # uv does not read PIP_INDEX_URL
