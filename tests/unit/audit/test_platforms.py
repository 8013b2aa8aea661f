"""The target platform of each image, told from its base: wheel coverage judged against it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stablebuild.audit import platforms, wheels
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.index import DistFile, ProjectPage
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project
from stablebuild.manifest.model import AuditSpec, Manifest

FIXTURES = Path(__file__).parents[2] / "fixtures" / "audit" / "wheels"


def _numpy_230() -> list[str]:
    # numpy 2.3 dropped manylinux2014: its Linux wheels start at glibc 2.27/2.28
    files = ["numpy-2.3.0.tar.gz"]
    for cp in ("cp311", "cp312", "cp313"):
        files += [
            f"numpy-2.3.0-{cp}-{cp}-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
            f"numpy-2.3.0-{cp}-{cp}-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl",
            f"numpy-2.3.0-{cp}-{cp}-musllinux_1_2_x86_64.whl",
            f"numpy-2.3.0-{cp}-{cp}-musllinux_1_2_aarch64.whl",
            f"numpy-2.3.0-{cp}-{cp}-macosx_14_0_arm64.whl",
            f"numpy-2.3.0-{cp}-{cp}-win_amd64.whl",
        ]
    return files


PAGES: dict[str, list[str]] = {
    "numpy": _numpy_230(),
    "requests": ["requests-2.32.3-py3-none-any.whl", "requests-2.32.3.tar.gz"],
    "orjson": [
        "orjson-3.10.7.tar.gz",
        "orjson-3.10.7-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "orjson-3.10.7-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
        "orjson-3.10.7-cp312-cp312-musllinux_1_2_x86_64.whl",
        "orjson-3.10.7-cp312-cp312-musllinux_1_2_aarch64.whl",
    ],
    "psycopg2-binary": [
        "psycopg2-binary-2.9.9.tar.gz",
        "psycopg2_binary-2.9.9-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "psycopg2_binary-2.9.9-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
    ],
    "x86only": [
        "x86only-1.0.0.tar.gz",
        "x86only-1.0.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    ],
}


def fake_fetch(name: str) -> ProjectPage:
    if name not in PAGES:
        return ProjectPage(name, (), found=False)
    return ProjectPage(name, tuple(DistFile(f) for f in PAGES[name]))


def _audit(tmp_path: Path, fixture: str, **options: object) -> list[Finding]:
    root = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, root)
    opts = AuditOptions(cache_dir=tmp_path / "cache", **options)  # type: ignore[arg-type]
    return wheels.run(Project.discover(root), opts, fake_fetch)


def _coverage(findings: list[Finding]) -> list[tuple[str, str, str, int | None]]:
    return sorted(
        (f.rule, f.severity.value, f.file, f.line)
        for f in findings
        if f.rule in ("SB301", "SB302", "SB303", "SB304")
    )


# -- what a base image says ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "family", "version"),
    [
        ("python:3.12-slim-bookworm", "manylinux", (2, 36)),
        ("python:3.11-slim-buster", "manylinux", (2, 28)),
        ("python:3.12.7-bullseye", "manylinux", (2, 31)),
        ("docker.io/library/python:3.13-slim-trixie", "manylinux", (2, 41)),
        ("python:3.12", "manylinux", (2, 41)),  # plain tags: the Debian they point at now
        ("python:3.12-slim", "manylinux", (2, 41)),
        ("python:3.8-slim", "manylinux", (2, 36)),  # last built on bookworm
        ("python:3.12-alpine3.20", "musllinux", (1, 2)),
        ("python:3.12-alpine", "musllinux", (1, 2)),
        ("alpine:3.12", "musllinux", (1, 1)),
        ("alpine:3.19", "musllinux", (1, 2)),
        ("debian:12-slim", "manylinux", (2, 36)),
        ("debian:bullseye-20240110-slim", "manylinux", (2, 31)),
        ("ubuntu:22.04", "manylinux", (2, 35)),
        ("ubuntu:noble", "manylinux", (2, 39)),
        ("ubuntu:20.04", "manylinux", (2, 31)),
        ("nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04", "manylinux", (2, 35)),
        ("ghcr.io/astral-sh/uv:python3.12-bookworm-slim", "manylinux", (2, 36)),
        ("gcr.io/distroless/python3-debian12", "manylinux", (2, 36)),
        ("centos:7", "manylinux", (2, 17)),
        ("rockylinux:9", "manylinux", (2, 34)),
        ("registry.access.redhat.com/ubi8/python-311", "manylinux", (2, 28)),
        ("amazonlinux:2023", "manylinux", (2, 34)),
        ("fedora:40", "manylinux", (2, 39)),
        ("quay.io/pypa/manylinux2014_x86_64", "manylinux", (2, 17)),
        ("quay.io/pypa/musllinux_1_2_aarch64", "musllinux", (1, 2)),
    ],
)
def test_base_image_tells_the_c_library(image: str, family: str, version: tuple[int, int]) -> None:
    told = platforms.libc_of(image)
    assert told is not None, image
    assert (told.libc.family, told.libc.version) == (family, version)
    assert told.why  # the message says how it was told


@pytest.mark.parametrize(
    "image", ["registry.example.com/platform/python-runtime:2024.10", "scratch", "node:20"]
)
def test_unknown_bases_are_not_guessed(image: str) -> None:
    assert platforms.libc_of(image) is None


def test_platform_tags_accept_every_older_policy_and_the_aliases() -> None:
    bookworm = platforms.parse_platform("manylinux_2_36_x86_64")
    assert bookworm is not None
    tags = bookworm.tags()
    assert tags[0] == "manylinux_2_36_x86_64"
    assert {"manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"} <= set(tags)
    assert {"manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"} <= set(tags)
    assert "manylinux_2_37_x86_64" not in tags and "musllinux_1_2_x86_64" not in tags
    legacy = platforms.parse_platform("manylinux2014_aarch64")
    assert legacy == platforms.Platform("manylinux", (2, 17), "aarch64")
    musl = platforms.parse_platform("musllinux_1_1_x86_64")
    assert musl is not None and musl.tags()[:2] == ["musllinux_1_1_x86_64", "musllinux_1_0_x86_64"]
    assert "manylinux_2_17_x86_64" not in musl.tags()
    assert platforms.parse_platform("win_amd64") is None


def test_docker_platforms_name_the_architecture() -> None:
    assert platforms.arch_of("linux/arm64") == "aarch64"
    assert platforms.arch_of("linux/arm64/v8") == "aarch64"
    assert platforms.arch_of("linux/amd64") == "x86_64"
    assert platforms.arch_of("$BUILDPLATFORM") is None


def test_image_platform_of_a_dockerfile(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "ARG DEBIAN=bookworm\n"
        "FROM --platform=linux/arm64 python:3.12-slim-${DEBIAN} AS build\n"
        "RUN pip install -r requirements.txt\n"
        "FROM build AS final\n"
        "USER 10001\n"
    )
    image = platforms.image_platform(Project.discover(tmp_path), Path("Dockerfile"))
    assert image.libc == platforms.Libc("manylinux", (2, 36)) and image.libc_known
    assert image.archs == ("aarch64",) and image.arch_declared
    assert [p.tag for p in image.platforms()] == ["manylinux_2_36_aarch64"]


def test_the_install_stage_is_bounded_by_the_final_stage(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.12-slim-bookworm AS build\n"
        "RUN pip wheel -r requirements.txt -w /wheels\n"
        "FROM python:3.12-slim-bullseye\n"
        "COPY --from=build /wheels /wheels\n"
    )
    image = platforms.image_platform(Project.discover(tmp_path), Path("Dockerfile"), line=2)
    assert image.libc == platforms.Libc("manylinux", (2, 31))  # the wheels run on bullseye
    assert not image.arch_declared and image.archs == ("x86_64", "aarch64")


# -- wheel coverage against the inferred platform -------------------------------------------


def test_manylinux_2_28_wheels_on_bookworm_are_fine(tmp_path: Path) -> None:
    findings = _audit(tmp_path, "bookworm")
    assert _coverage(findings) == []
    assert not [f for f in findings if f.rule == "SB308"]


def test_manylinux_2_28_wheels_on_buster_are_fine(tmp_path: Path) -> None:
    assert _coverage(_audit(tmp_path, "buster")) == []


def test_glibc_2_17_base_cannot_take_manylinux_2_28(tmp_path: Path) -> None:
    findings = _audit(tmp_path, "centos7")
    assert _coverage(findings) == [("SB301", "error", "requirements.txt", 1)]
    [numpy] = [f for f in findings if f.rule == "SB301"]
    assert "manylinux_2_17_x86_64" in numpy.message and "numpy==2.3.0" in numpy.message


def test_musllinux_wheels_on_alpine(tmp_path: Path) -> None:
    findings = _audit(tmp_path, "alpine")
    # orjson ships musllinux wheels; psycopg2-binary only manylinux ones: a source build on musl
    assert _coverage(findings) == [("SB301", "error", "requirements.txt", 2)]
    [psycopg] = [f for f in findings if f.rule == "SB301"]
    assert "musllinux_1_2_x86_64" in psycopg.message


def test_unknown_base_assumes_manylinux_2_28_and_says_so_once(tmp_path: Path) -> None:
    findings = _audit(tmp_path, "unknown-base")
    assert _coverage(findings) == []  # numpy's 2_28 wheels fit the documented default
    [assumed] = [f for f in findings if f.rule == "SB308"]
    assert assumed.severity is Severity.INFO
    assert (assumed.file, assumed.line) == ("Dockerfile", 1)
    assert "manylinux_2_28" in assumed.message and "python-runtime:2024.10" in assumed.message
    assert "--platform" in assumed.hint and "audit.platforms" in assumed.hint


def test_declared_architecture_is_the_only_one_checked(tmp_path: Path) -> None:
    findings = _audit(tmp_path, "arm64")
    [x86only] = [f for f in findings if f.rule == "SB301"]
    assert x86only.severity is Severity.ERROR
    assert "manylinux_2_36_aarch64" in x86only.message and "x86_64" not in x86only.message


def test_undeclared_architecture_checks_aarch64_as_a_warning(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "arm64", root)
    dockerfile = root / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("--platform=linux/arm64 ", ""))
    findings = wheels.run(
        Project.discover(root), AuditOptions(cache_dir=tmp_path / "cache"), fake_fetch
    )
    [x86only] = [f for f in findings if f.rule == "SB301"]
    assert x86only.severity is Severity.WARNING  # x86_64, the usual builder, is fine
    assert "aarch64" in x86only.message and "FROM --platform" in x86only.hint


def test_command_line_platform_still_overrides(tmp_path: Path) -> None:
    findings = _audit(tmp_path, "bookworm", platforms=("manylinux_2_17_x86_64",))
    assert _coverage(findings) == [("SB301", "error", "requirements.txt", 1)]


def test_docker_platform_on_the_command_line_sets_the_architecture(tmp_path: Path) -> None:
    findings = _audit(tmp_path, "arm64", platforms=("linux/amd64",))
    assert _coverage(findings) == []  # x86only has its x86_64 wheel on bookworm


def test_manifest_platforms_still_override(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "bookworm", root)
    manifest = Manifest(
        path=root / "stablebuild.yml",
        root=root,
        name="svc",
        python=None,
        python_source=".python-version",
        audit=AuditSpec(platforms=("manylinux2014_x86_64",)),
    )
    options = AuditOptions(cache_dir=tmp_path / "cache")
    findings = wheels.run(Project.discover(root, manifest), options, fake_fetch)
    assert _coverage(findings) == [("SB301", "error", "requirements.txt", 1)]


def test_a_manifest_without_platforms_leaves_them_to_the_base(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "bookworm", root)
    manifest = Manifest(
        path=root / "stablebuild.yml",
        root=root,
        name="svc",
        python=None,
        python_source=".python-version",
    )
    options = AuditOptions(cache_dir=tmp_path / "cache")
    assert _coverage(wheels.run(Project.discover(root, manifest), options, fake_fetch)) == []
