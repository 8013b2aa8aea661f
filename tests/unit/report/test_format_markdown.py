"""The Markdown report: the matrix, then failures in <details>."""

from __future__ import annotations

from stablebuild.report.model import Report
from stablebuild.report.write import render


def test_matrix_and_details(failing_report: Report) -> None:
    text = render(failing_report, "markdown")
    assert "❌ failed" in text.splitlines()[0]
    assert (
        "| image | build | python | imports | ffmpeg | nvenc | user | size | health | other |"
        in text
    )
    worker = next(line for line in text.splitlines() if line.startswith("| `worker-gpu`"))
    assert worker.split(" | ")[1:8] == ["✅ 60s", "✅", "⚠️", "❌", "➖", "❌", ""]
    assert "| `migrate` | ❌ |" in text
    assert text.count("<details>") == 2  # worker-gpu and migrate; api is clean
    assert "`packages.forbid.gcc`" in text
    assert "psycopg2 is being built from source" in text
    assert "&lt;oops&gt; \\| pipe" in text  # escaped for the page
    assert "FAILED: 2 of 3 images failed" in text


def test_passing_report(passing_report: Report) -> None:
    text = render(passing_report, "markdown")
    assert "✅ passed" in text.splitlines()[0]
    assert "<details>" not in text
    assert "| other |" in text  # layers has no column of its own
    assert "PASSED" in text


def test_partial_report_says_so(partial_report: Report) -> None:
    text = render(partial_report, "markdown")
    assert "Incomplete report" in text
    assert "INCOMPLETE" in text
