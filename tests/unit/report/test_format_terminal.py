"""The terminal summary renders to a recording Console with the matrix and the verdict."""

from __future__ import annotations

from rich.console import Console

from stablebuild.report.format.terminal import TerminalFormat
from stablebuild.report.model import Report
from stablebuild.report.write import render


def printed(report: Report) -> str:
    console = Console(record=True, width=140, color_system=None)
    TerminalFormat().print(report, console)
    return console.export_text()


def test_failing_report(failing_report: Report) -> None:
    text = printed(failing_report)
    assert "FAILED: 2 of 3 images failed (1 build failed" in text
    assert "✘ packages.forbid.gcc" in text
    assert "– nvenc.encode.h264_nvenc" in text
    assert "! pip.check" in text
    assert "cause: psycopg2 is being built from source (pg-config-missing)" in text
    assert "<oops> | pipe" in text
    for column in ("build", "python", "imports", "ffmpeg", "nvenc", "user", "size", "health"):
        assert column in text
    assert text.strip().splitlines()[-1].startswith("FAILED")


def test_passing_report(passing_report: Report) -> None:
    text = printed(passing_report)
    assert text.strip().splitlines()[-1].startswith("PASSED: 1 image built and checked")
    assert "✔ 42s" in text


def test_partial_report_is_marked(partial_report: Report) -> None:
    text = printed(partial_report)
    assert text.startswith("INCOMPLETE REPORT")
    assert "INCOMPLETE: the run was interrupted" in text


def test_render_gives_plain_text(failing_report: Report) -> None:
    text = render(failing_report, "terminal")
    assert "\x1b[" not in text
    assert "FAILED" in text
