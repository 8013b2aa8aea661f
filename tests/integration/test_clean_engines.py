"""`stablebuild clean` over a stack's engines: every engine that answers is cleaned, one that
does not is named afterwards (exit 3), never the reason the others keep their leftovers."""

from __future__ import annotations

import contextlib
from pathlib import Path

import docker.errors
import pytest
from typer.testing import CliRunner

from stablebuild.cli import app
from stablebuild.engine import Engine
from stablebuild.engine.client import LABEL_RUN

pytestmark = pytest.mark.docker


def test_the_engines_that_answer_are_cleaned_the_others_named(
    engine: Engine, base_image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = "clean-engines-" + tmp_path.name[-8:]
    engine.docker.create_container(  # a leftover of run_id, as a crashed run leaves one
        base_image, command=["true"], labels={LABEL_RUN: run_id}
    )
    (tmp_path / "stablebuild.yml").write_text(
        "version: 1\nname: cl\nengines:\n"
        '  here: {endpoint: "unix:///var/run/docker.sock"}\n'
        f'  gone: {{endpoint: "unix://{tmp_path}/nothing.sock"}}\n'
    )
    monkeypatch.chdir(tmp_path)
    try:
        result = CliRunner().invoke(app, ["clean", "--run-id", run_id])
        assert result.exit_code == 3, result.output
        assert "removed 1 container and 0 image tags on here" in result.stdout
        assert "not cleaned: gone did not answer" in result.stderr
    finally:
        left = engine.docker.containers(all=True, filters={"label": f"{LABEL_RUN}={run_id}"})
        for leftover in left:
            engine.docker.remove_container(leftover["Id"], force=True)
    assert left == []


def test_a_killed_stack_phase_s_networks_and_volumes_are_cleaned_and_nothing_else(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run killed during its stack phase (SIGKILL: no teardown) leaves its compose project's
    networks and volumes, labelled with the run; `clean` removes those, not a user's own."""
    run_id = "clean-net-" + tmp_path.name[-8:]
    labels = {LABEL_RUN: run_id, "com.docker.compose.project": f"sb-{run_id}"}
    theirs = engine.docker.create_network(f"theirs-{run_id}", driver="bridge")
    ours = engine.docker.create_network(f"sb-{run_id}_default", driver="bridge", labels=labels)
    volume = engine.docker.create_volume(f"sb-{run_id}_pgdata", labels=labels)
    monkeypatch.chdir(tmp_path)
    try:
        result = CliRunner().invoke(app, ["clean", "--run-id", run_id])
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == "removed 1 network, 1 volume and 0 image tags"
        names = {n["Name"] for n in engine.docker.networks()}
        assert f"theirs-{run_id}" in names and f"sb-{run_id}_default" not in names
        assert not engine.docker.volumes(filters={"label": f"{LABEL_RUN}={run_id}"})["Volumes"]
    finally:
        for network in (theirs, ours):
            with contextlib.suppress(docker.errors.NotFound):  # NOTE: clean removed it
                engine.docker.remove_network(network["Id"])
        with contextlib.suppress(docker.errors.NotFound):
            engine.docker.remove_volume(volume["Name"])
