"""The stack's files agree with each other: Dockerfiles, compose files, manifest, lock."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .conftest import EXAMPLE

PIN = re.compile(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([A-Za-z0-9_.+-]+)$")


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines()]


def _instructions(dockerfile: Path) -> list[str]:
    return [line for line in _lines(dockerfile) if line and not line.startswith("#")]


def _stages(dockerfile: Path) -> set[str]:
    return {
        line.split()[-1] for line in _instructions(dockerfile) if re.match(r"FROM .* AS \S+$", line)
    }


def test_every_requirement_is_an_exact_pin() -> None:
    lock = [line for line in _lines(EXAMPLE / "docker/requirements-stable.txt") if line]
    pins = [line for line in lock if not line.startswith("#")]
    assert pins
    assert all(PIN.match(line) for line in pins), [line for line in pins if not PIN.match(line)]


def test_worker_type_is_declared_before_the_first_from() -> None:
    lines = _instructions(EXAMPLE / "docker/worker/Dockerfile")
    first_from = next(i for i, line in enumerate(lines) if line.startswith("FROM "))
    assert "ARG WORKER_TYPE=cpu" in lines[:first_from]
    assert "FROM runtime-${WORKER_TYPE} AS runtime" in lines
    assert {"runtime-cpu", "runtime-gpu"} <= _stages(EXAMPLE / "docker/worker/Dockerfile")


def test_python_base_is_shared_by_builder_and_runtime() -> None:
    for name in ("api", "worker"):
        lines = _instructions(EXAMPLE / f"docker/{name}/Dockerfile")
        froms = [line for line in lines if line.startswith("FROM ")]
        assert froms[0] == "FROM ${BASE_IMAGE} AS python-base"
        assert "FROM python-base AS builder" in froms
        assert any(line.startswith("FROM python-base AS runtime") for line in froms)
        assert "ARG BASE_IMAGE=python:${PYTHON_VERSION}-slim" in lines
        assert "USER 1000:1000" in lines
        assert any(line.startswith("HEALTHCHECK") for line in lines)


def test_manifest_points_at_files_and_stages_that_exist() -> None:
    manifest = yaml.safe_load((EXAMPLE / "stablebuild.yml").read_text())
    assert (EXAMPLE / manifest["python"]).read_text().strip() == "3.12.7"
    for requirement in manifest["requirements"]:
        assert (EXAMPLE / requirement).is_file()
    for name, image in manifest["images"].items():
        dockerfile = EXAMPLE / image["dockerfile"]
        assert dockerfile.is_file(), name
        assert image["target"] in _stages(dockerfile), name
    assert manifest["profiles"]["airgap"]["args"]["BASE_IMAGE"] == "stablebuild/airgap:bookworm"


def test_compose_overrides_name_only_existing_services() -> None:
    services = set(yaml.safe_load((EXAMPLE / "compose.yml").read_text())["services"])
    assert services == {"api", "worker-cpu", "worker-gpu", "postgres", "redis"}
    for override in ("compose.stable.yml", "compose.airgap.yml"):
        assert set(yaml.safe_load((EXAMPLE / override).read_text())["services"]) <= services


def test_compose_workers_match_their_worker_type() -> None:
    services = yaml.safe_load((EXAMPLE / "compose.yml").read_text())["services"]
    for kind in ("cpu", "gpu"):
        service = services[f"worker-{kind}"]
        assert service["build"]["args"]["WORKER_TYPE"] == kind
        assert service["environment"]["WORKER_TYPE"] == kind
    assert services["worker-gpu"]["profiles"] == ["gpu"]


def test_dockerignore_keeps_what_the_dockerfiles_copy() -> None:
    ignore = _lines(EXAMPLE / ".dockerignore")
    assert "*" in ignore
    assert "!app/" in ignore
    assert "!docker/requirements-stable.txt" in ignore
