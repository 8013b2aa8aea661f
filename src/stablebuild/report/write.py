"""Render a report in one format and write it atomically (a partial one after an interrupt too)."""

from __future__ import annotations

from pathlib import Path

from stablebuild import atomic
from stablebuild.report.format import ReportFormat, formatter_for
from stablebuild.report.model import Report


def render(report: Report, fmt: ReportFormat | str) -> str:
    """The full text of `report` in `fmt` (terminal: plain text, no colours)."""
    return formatter_for(ReportFormat(fmt)).format(report)


def write_report(report: Report, fmt: ReportFormat | str, path: Path | str) -> Path:
    """Written atomically: readers never see half a report (a partial one is marked so).

    The folder must exist, and only a regular file is replaced (`atomic.NotRegularFile`).
    """
    return atomic.write_text(Path(path), render(report, fmt))
