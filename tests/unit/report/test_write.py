"""write_report writes atomically: no temp file left, an old report replaced whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stablebuild.report.format import ReportFormat
from stablebuild.report.model import Report
from stablebuild.report.write import write_report


def test_writes_and_replaces(
    tmp_path: Path, passing_report: Report, partial_report: Report
) -> None:
    target = tmp_path / "out" / "report.json"
    target.parent.mkdir()  # reports never create folders
    write_report(passing_report, ReportFormat.JSON, target)
    assert json.loads(target.read_text())["status"] == "passed"
    write_report(partial_report, "json", target)
    assert json.loads(target.read_text())["status"] == "incomplete"
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]


@pytest.mark.parametrize("fmt", list(ReportFormat))
def test_every_format_writes(tmp_path: Path, failing_report: Report, fmt: ReportFormat) -> None:
    path = write_report(failing_report, fmt, tmp_path / f"r.{fmt.value}")
    assert path.read_text(encoding="utf-8")


def test_failed_render_leaves_old_file(tmp_path: Path, passing_report: Report) -> None:
    target = tmp_path / "r.json"
    target.write_text("old")
    with pytest.raises(ValueError):
        write_report(passing_report, "sarif-not-a-format", target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
