"""`stablebuild validate` contract without an engine: interrupts, engine loss, bad options."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

import stablebuild.engine
import stablebuild.validate
from stablebuild.cli import app
from stablebuild.errors import EngineUnavailable
from stablebuild.report.model import BuildOutcome, BuildStatus, ImageReport, Report

runner = CliRunner()


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text("FROM debian\n")
    images = "  a: {dockerfile: Dockerfile}\n  b: {dockerfile: Dockerfile}\n"
    (tmp_path / "stablebuild.yml").write_text(f"version: 1\nname: s\nimages:\n{images}")
    return tmp_path


def _partial() -> Report:
    report = Report(stack="s", run_id="r1", started_at="2026-01-01T00:00:00+00:00", complete=False)
    report.images.append(
        ImageReport("a", BuildOutcome(BuildStatus.BUILT, 1.0, image_id="sha256:1"))
    )
    return report


def _interrupting(error: BaseException) -> Any:
    def fake_validate(
        engine: Any, manifest: Any, options: Any, observer: Any, on_start: Any
    ) -> Report:
        on_start(SimpleNamespace(report=_partial()))
        raise error

    return fake_validate


def test_interrupt_writes_the_partial_report_and_exits_130(
    stack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stablebuild.engine, "connect", lambda: object())
    monkeypatch.setattr(stablebuild.validate, "validate", _interrupting(KeyboardInterrupt()))
    out = tmp_path / "report.json"
    result = runner.invoke(app, ["validate", str(stack), "-q", "-o", f"json:{out}"])
    assert result.exit_code == 130
    data = json.loads(out.read_text())
    assert data["complete"] is False and data["status"] == "incomplete"
    assert [image["name"] for image in data["images"]] == ["a"]


def test_engine_lost_mid_run_exits_3_with_the_partial_report(
    stack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stablebuild.engine, "connect", lambda: object())
    lost = EngineUnavailable("the engine stopped answering during the run", "start it")
    monkeypatch.setattr(stablebuild.validate, "validate", _interrupting(lost))
    out = tmp_path / "report.json"
    result = runner.invoke(app, ["validate", str(stack), "-q", "-o", f"json:{out}"])
    assert result.exit_code == 3
    assert "error: the engine stopped answering" in result.output
    assert json.loads(out.read_text())["status"] == "incomplete"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--image", "nope"], "--image nope: not in"),
        (["-o", "report.txt"], "cannot tell the format"),
        (["--build-arg", "novalue"], "expected KEY=VALUE"),
    ],
)
def test_bad_options_are_one_line_exit_2(stack: Path, args: list[str], words: str) -> None:
    result = runner.invoke(app, ["validate", str(stack), *args])
    assert result.exit_code == 2
    assert words in result.output
    assert "Traceback" not in result.output
