"""The compose command line: which compose runs, how it is called, and that a timeout kills it
whole. Fake `docker` and `docker-compose` scripts stand in for the real ones (no engine)."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from stablebuild.engine.compose import (
    Compose,
    ComposeError,
    ComposeUnavailable,
    find_compose,
    run_command,
)


def script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))  # only the fakes: no real compose is found
    return folder


def test_docker_compose_v2_is_preferred(bin_dir: Path) -> None:
    script(bin_dir, "docker", '[ "$1 $2 $3" = "compose version --short" ] && echo v2.27.0\n')
    script(bin_dir, "docker-compose", "echo 1.29.2\n")
    assert find_compose() == (("docker", "compose"), "2.27.0")


def test_debians_docker_compose_when_the_plugin_is_missing(bin_dir: Path) -> None:
    script(bin_dir, "docker", "echo \"docker: 'compose' is not a docker command.\" >&2; exit 1\n")
    script(bin_dir, "docker-compose", "echo 1.29.2\n")
    assert find_compose() == (("docker-compose",), "1.29.2")


def test_no_compose_at_all_says_how_to_get_one(bin_dir: Path) -> None:
    script(bin_dir, "docker", "exit 1\n")
    with pytest.raises(ComposeUnavailable) as caught:
        find_compose()
    assert "neither `docker compose` nor `docker-compose`" in caught.value.message
    assert "make engine" in caught.value.hint


def test_every_command_names_the_project_files_and_profiles(tmp_path: Path) -> None:
    project = Compose(
        ("docker-compose",), "1.29.2", "sb-shop-r1", (tmp_path / "a.yml",), tmp_path, ("gpu",)
    )
    run = project.with_files(tmp_path / "run.yml")
    assert run.argv("up", "--detach") == [
        "docker-compose", "--project-name", "sb-shop-r1", "--project-directory", str(tmp_path),
        "--file", str(tmp_path / "run.yml"), "--profile", "gpu", "up", "--detach",
    ]  # fmt: skip
    assert project.files == (tmp_path / "a.yml",)


def test_a_failing_command_raises_with_composes_last_words(bin_dir: Path, tmp_path: Path) -> None:
    script(
        bin_dir,
        "docker-compose",
        "echo 'Creating x ... error' >&2; echo 'ERROR: no such image' >&2; exit 1\n",
    )
    project = Compose(("docker-compose",), "1.29.2", "p", (), tmp_path)
    with pytest.raises(ComposeError) as caught:
        project.up(timeout=10)
    assert caught.value.message == "`compose up` failed: ERROR: no such image"
    assert caught.value.output == "Creating x ... error\nERROR: no such image"
    result = project.exec("api", ["true"], timeout=10)  # exec: any exit code is an answer
    assert result.exit_code == 1


def test_a_timeout_kills_the_command_and_its_children(tmp_path: Path) -> None:
    marker = tmp_path / "child-alive"
    started = time.monotonic()
    result = run_command(
        ["sh", "-c", f"(sleep 3; touch {marker}) & echo started; sleep 30"], timeout=0.5
    )
    assert result.timed_out and result.exit_code == -1
    assert result.stdout.strip() == "started"
    assert time.monotonic() - started < 5
    time.sleep(3.5)
    assert not marker.exists(), "a child of the timed-out command outlived it"


def test_a_command_that_cannot_start_is_compose_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ComposeUnavailable):
        run_command([str(tmp_path / "missing-compose")], timeout=1)
    assert os.getpgrp()  # the test process itself was never signalled
