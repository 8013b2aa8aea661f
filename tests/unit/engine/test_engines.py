"""Choosing and reaching a run's engines: --engine, `engines:`, Docker contexts; failures
name the endpoint really used (a context's, not /var/run/docker.sock)."""

from __future__ import annotations

from pathlib import Path

import pytest
from docker.context import ContextAPI

from stablebuild.engine import connect
from stablebuild.engine.engines import (
    DEFAULT,
    chosen,
    connect_all,
    connect_engine,
    manifest_engines,
)
from stablebuild.errors import EngineUnavailable, ManifestError, UsageError
from stablebuild.manifest.load import load_manifest
from stablebuild.manifest.model import EngineSpec, Placement

DECLARED = (
    EngineSpec("local"),
    EngineSpec("gpu-host", "ssh://builder@gpu-host.internal", ("gpu",)),
)


@pytest.fixture
def contexts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Docker CLI config of its own, with a context `gpu-host` on a socket nobody serves."""
    config = tmp_path / "docker-config"
    config.mkdir()
    (config / "config.json").write_text("{}")
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    ContextAPI.create_context("gpu-host", host=f"unix://{tmp_path}/gpu-host.sock")
    return tmp_path


def test_cli_engines_win_over_the_manifest() -> None:
    specs = chosen(DECLARED, ["gpu-host", "tcp://10.0.0.5:2376", "build-ctx"])
    assert specs == [
        DECLARED[1],
        EngineSpec("tcp://10.0.0.5:2376", "tcp://10.0.0.5:2376"),
        EngineSpec("build-ctx"),
    ]


def test_the_manifest_engines_else_the_current_context() -> None:
    assert chosen(DECLARED, []) == list(DECLARED)
    assert chosen((), []) == [EngineSpec(DEFAULT)]


def test_a_current_context_that_does_not_answer_is_named(contexts: Path) -> None:
    ContextAPI.set_current_context("gpu-host")
    where = f"unix://{contexts}/gpu-host.sock"
    with pytest.raises(EngineUnavailable, match=f"no Docker engine answers at {where}$"):
        connect(timeout=5)
    with pytest.raises(EngineUnavailable, match=f"at {where}$"):
        connect_engine(EngineSpec(DEFAULT), timeout=5)


def test_a_named_context_is_reached_at_its_own_endpoint(contexts: Path) -> None:
    with pytest.raises(EngineUnavailable) as caught:
        connect_engine(EngineSpec("gpu-host"), timeout=5)
    assert caught.value.message == (
        f"no Docker engine answers at unix://{contexts}/gpu-host.sock (engine gpu-host)"
    )


def test_an_unknown_engine_name_is_a_usage_error(contexts: Path) -> None:
    with pytest.raises(UsageError, match="no engine named 'gpu-hots'") as caught:
        connect_all(DECLARED, ["gpu-hots"])
    assert "docker context ls" in caught.value.hint


def test_an_endpoint_that_does_not_answer_stops_the_run(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match=f"at unix://{tmp_path}/none.sock$"):
        connect_all((), [f"unix://{tmp_path}/none.sock"], timeout=5)


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\n")
    (tmp_path / "stablebuild.yml").write_text(text)
    return tmp_path / "stablebuild.yml"


def test_the_manifest_declares_engines_and_placements(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
version: 1
name: ffmpeg-api
engines:
  local: {}
  gpu-host: {endpoint: "ssh://builder@gpu-host.internal", labels: [gpu, big]}
images:
  api: {dockerfile: Dockerfile, placement: {engine: local}}
  worker-gpu: {dockerfile: Dockerfile, placement: {labels: [gpu]}}
""",
    )
    manifest = load_manifest(path)
    assert manifest.engines == (
        EngineSpec("local"),
        EngineSpec("gpu-host", "ssh://builder@gpu-host.internal", ("gpu", "big")),
    )
    assert manifest.images["api"].placement == Placement(engine="local")
    assert manifest.images["worker-gpu"].placement == Placement(labels=("gpu",))


def test_a_bad_endpoint_and_a_double_placement_are_manifest_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
version: 1
name: ffmpeg-api
engines:
  gpu-host: {endpoint: "gpu-host.internal:2376"}
images:
  api: {dockerfile: Dockerfile, placement: {engine: gpu-host, labels: [gpu]}}
""",
    )
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    problems = [str(p) for p in caught.value.problems]
    assert any(":4:" in p and "must be unix:///PATH, tcp://HOST:PORT" in p for p in problems)
    assert any(":6:" in p and "name an engine or labels, not both" in p for p in problems)
    assert all("\n" not in p for p in problems)  # every problem is one line


def test_doctor_and_clean_read_the_engines_of_the_stack_here(tmp_path: Path) -> None:
    write(
        tmp_path, "version: 1\nname: s\nengines:\n  gpu-host: {endpoint: 'tcp://10.0.0.5:2376'}\n"
    )
    assert manifest_engines(tmp_path) == (EngineSpec("gpu-host", "tcp://10.0.0.5:2376"),)
    (tmp_path / "stablebuild.yml").write_text("version: 1\nname: s\nengines: [oops]\n")
    assert manifest_engines(tmp_path) == ()  # a broken manifest is validate's to report
    (tmp_path / "stablebuild.yml").unlink()
    assert manifest_engines(tmp_path) == ()
