"""A regression check is an ordinary failed check to every report format, and each consumer's
schema accepts the report that carries one (SARIF, JUnit, GitLab Code Quality)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.schemas.consumers import codequality_problems, junit_problems, sarif_problems
from tests.unit.history.factories import api_image, report, run_record

from stablebuild.history.regression import judge_image
from stablebuild.report.format.interface import ReportFormat
from stablebuild.report.model import Report
from stablebuild.report.write import render


@pytest.fixture
def regressed(tmp_path: Path) -> Report:
    (tmp_path / "Dockerfile").write_text("FROM debian:bookworm-slim\nUSER 1000\n")
    manifest = tmp_path / "stablebuild.yml"
    manifest.write_text("version: 1\nname: ffmpeg-api\nimages:\n  api: {dockerfile: Dockerfile}\n")
    history = [run_record(n, [api_image(400.0)]) for n in range(3)]
    finished = report(9, [api_image(520.0)])
    finished.manifest = str(manifest)
    current = run_record(9, [api_image(520.0)]).images[0]
    finished.images[0].checks.extend(judge_image(current, history, {"size": 0.1}, "on branch main"))
    return finished


def test_every_format_shows_the_regression(regressed: Report) -> None:
    for fmt in ReportFormat:
        assert "regression.size" in render(regressed, fmt), fmt


def test_consumers_accept_a_report_with_a_regression(regressed: Report) -> None:
    sarif = json.loads(render(regressed, ReportFormat.SARIF))
    assert sarif_problems(sarif) == []
    results = sarif["runs"][0]["results"]
    assert [r["properties"]["check"] for r in results] == ["regression.size"]
    assert "30.0% above the baseline 400.0 MB" in results[0]["message"]["text"]
    assert junit_problems(render(regressed, ReportFormat.JUNIT)) == []
    assert codequality_problems(json.loads(render(regressed, ReportFormat.CODEQUALITY))) == []
