"""The CLI's contract: version, doctor without an engine, error lines and exit codes."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from stablebuild import __version__
from stablebuild.cli import app

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"stablebuild {__version__}"


def test_doctor_without_engine_exits_3_with_the_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 3
    assert "problem" in result.output and "engine" in result.output
    assert "make engine" in result.output
    assert "Traceback" not in result.output
    assert "ca-bundle" in result.output  # the other lines still report


def test_bootstrap_without_engine_is_one_line_exit_3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    result = runner.invoke(app, ["base", "bootstrap", "--tag", "x/y:z"])
    assert result.exit_code == 3
    assert "error: no Docker engine answers" in result.output
    assert "Traceback" not in result.output


def test_socket_without_permission_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory
) -> None:

    sock = f"{tmp_path}/docker.sock"
    open(sock, "w").close()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{sock}")
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 3
    assert "no permission on the engine socket" in result.output
    assert "docker' group" in result.output
