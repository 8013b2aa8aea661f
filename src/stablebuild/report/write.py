"""Render a report in one format and write it atomically (a partial one after an interrupt too)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from stablebuild.report.format import ReportFormat, formatter_for
from stablebuild.report.model import Report


def render(report: Report, fmt: ReportFormat | str) -> str:
    """The full text of `report` in `fmt` (terminal: plain text, no colours)."""
    return formatter_for(ReportFormat(fmt)).format(report)


def write_report(report: Report, fmt: ReportFormat | str, path: Path | str) -> Path:
    """Write to a temporary file beside `path`, then os.replace: readers never see half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = render(report, fmt)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target
