"""`stablebuild clean` over a stack's engines: every engine that answers is cleaned, one that
does not is named afterwards (exit 3), never the reason the others keep their leftovers."""

from __future__ import annotations

from pathlib import Path

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
        assert "removed 1 containers" in result.stdout and "on here" in result.stdout
        assert "not cleaned: gone did not answer" in result.stderr
    finally:
        left = engine.docker.containers(all=True, filters={"label": f"{LABEL_RUN}={run_id}"})
        for leftover in left:
            engine.docker.remove_container(leftover["Id"], force=True)
    assert left == []
