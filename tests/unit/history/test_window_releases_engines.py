"""The KPIs a store computes by SQL (`window`, `audit_totals`) against the same KPIs from whole
records; release channels in `history` and the HTML report; the engines of a multi-engine run.
Each store test runs on SQLite and on PostgreSQL (`history_url`)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.unit.history.factories import (
    api_image,
    broken_image,
    report,
    run_record,
    series,
    worker_image,
)
from typer.testing import CliRunner

from stablebuild.cli import app
from stablebuild.history.html import render_html
from stablebuild.history.interface import (
    FindingCount,
    RunKind,
    RunQuery,
    RunRecord,
    audit_totals_of,
    window_of,
)
from stablebuild.history.kpi import kpi_table, window_table
from stablebuild.history.location import parse_location
from stablebuild.history.migrations import LATEST
from stablebuild.history.record import report_record
from stablebuild.history.releases import ReleaseEvent, record_release, release_log
from stablebuild.history.store import open_store
from stablebuild.report.model import BuildStatus

runner = CliRunner()


def _open(url: str):  # type: ignore[no-untyped-def]
    return open_store(parse_location(url, Path.cwd(), "--history"))


def _mixed_runs() -> list[RunRecord]:
    """Runs with gaps (worker only in some), a failed and an interrupted build, failing checks."""
    runs = series(9)
    interrupted = broken_image()
    interrupted.build.status = BuildStatus.SKIPPED
    runs.append(run_record(20, [api_image(430.0, failed=("user", "imports.fastapi"))]))
    runs.append(run_record(21, [api_image(431.0, cached=True), broken_image()]))
    runs.append(run_record(22, [api_image(432.0), interrupted], complete=False))
    return runs


def _audit(n: int, *findings: FindingCount) -> RunRecord:
    return RunRecord(
        id=f"audit-{n}",
        kind=RunKind.AUDIT,
        stack="ffmpeg-api",
        started_at=f"2026-11-0{n}T08:00:00+00:00",
        status="failed",
        findings=findings,
    )


def test_the_sql_window_gives_the_kpis_whole_records_give(history_url: str) -> None:
    runs = _mixed_runs()
    audits = [
        _audit(1, FindingCount("SB101", "error", 2), FindingCount("SB320", "warning", 1)),
        _audit(2, FindingCount("SB320", "warning", 4), FindingCount("SB101", "error", 1)),
    ]
    with _open(history_url) as store:
        assert store.schema_version() == LATEST
        for run in [*runs, *audits]:
            store.record(run)
        for last in (None, 5, 1):
            query = RunQuery("ffmpeg-api", last=last)
            window = store.window(query)
            totals = store.audit_totals(query)
            chosen = runs if last is None else runs[-last:]
            expected = kpi_table("ffmpeg-api", chosen, ["api", "worker"], audits[-(last or 2) :])
            table = window_table("ffmpeg-api", window, ["api", "worker"], totals)
            assert table == expected
        by_name = {c.name: c for c in store.window(RunQuery("ffmpeg-api", last=None)).images}
    assert by_name == {c.name: c for c in window_of(runs).images}
    api = kpi_table("ffmpeg-api", runs).images[0]
    assert api.failing == (("imports.fastapi", 2), ("user", 1))  # ties: by id, on every store
    assert api.build_times[-2] is None  # reused from the cache: no build time
    migrate = next(k for k in kpi_table("ffmpeg-api", runs).images if k.image == "migrate")
    assert migrate.runs == 1 and migrate.success_rate == 0.0  # the interrupted one not counted
    assert audit_totals_of(audits).rules == {"SB101": 3, "SB320": 5}


def test_an_empty_window_is_an_empty_table(history_url: str) -> None:
    with _open(history_url) as store:
        store.record(run_record(1, [api_image()]))
        window = store.window(RunQuery("another-stack"))
        totals = store.audit_totals(RunQuery("another-stack"))
    table = window_table("another-stack", window, (), totals)
    assert table.runs == 0 and table.images == () and table.audit is None


def test_a_run_recorded_again_replaces_its_images_and_checks(history_url: str) -> None:
    first = run_record(1, [api_image(failed=("user",)), worker_image()])
    again = first._replace(images=first.images[:1], status="passed")
    with _open(history_url) as store:
        store.record(first)
        store.record(again)
        (back,) = store.runs(RunQuery("ffmpeg-api"))
        window = store.window(RunQuery("ffmpeg-api"))
    assert back == again
    assert [c.name for c in window.images] == ["api"]
    assert window.images[0].failing == (("user", 1),)


def _engines_report() -> RunRecord:
    gpu = {
        "name": "gpu-box",
        "endpoint": "ssh://ci:s3cret-pass@gpu.example.com",
        "server_version": "24.0.7",
        "os_arch": "linux/amd64",
        "cpus": 32,
        "memory_bytes": 128 * 1024**3,
        "runtimes": ["runc", "nvidia"],
        "reachable": True,
    }
    local = {**gpu, "name": "local", "endpoint": "unix:///var/run/docker.sock", "cpus": 2}
    local.update(runtimes=["runc"], server_version="20.10.24", memory_bytes=8 * 1024**3)
    made = report(3, [api_image(), worker_image()])
    made.images[0].engine = "local"
    made.images[1].engine = "gpu-box"
    made.engine = {**local, "engines": [local, gpu]}
    return report_record(made)


def test_the_engines_of_a_run_are_recorded_and_shown_in_the_html(history_url: str) -> None:
    run = _engines_report()
    with _open(history_url) as store:
        store.record(run)
        (back,) = store.runs(RunQuery("ffmpeg-api"))
    assert back == run
    assert [(e.name, e.nvidia, e.cpus) for e in back.engines] == [
        ("local", False, 2),
        ("gpu-box", True, 32),
    ]
    assert "s3cret-pass" not in back.engines[1].endpoint  # a password in a URL is masked
    assert back.image("worker") is not None and back.image("worker").engine == "gpu-box"  # type: ignore[union-attr]
    page = render_html("ffmpeg-api", [back])
    table = page[page.index("<h3>Engines</h3>") : page.index("</table>", page.index("<h3>Engines"))]
    rows = re.findall(r"<tr><td><b>([^<]+)</b>.*?</tr>", table)
    assert rows == ["local", "gpu-box"]
    gpu_row = table[table.index("gpu-box") :]
    assert "24.0.7" in gpu_row and "128.0 GiB" in gpu_row and ">nvidia<" in gpu_row
    assert gpu_row.split("</tr>")[0].endswith("<td>worker</td>")
    assert "s3cret-pass" not in page


def test_a_run_on_one_engine_has_no_engine_table(history_url: str) -> None:
    with _open(history_url) as store:
        store.record(run_record(1, [api_image()]))
        (back,) = store.runs(RunQuery("ffmpeg-api"))
    assert back.engines == ()
    assert "<h3>Engines</h3>" not in render_html("ffmpeg-api", [back])


def _promote(store, runs: list[RunRecord]) -> list[ReleaseEvent]:  # type: ignore[no-untyped-def]
    def event(channel: str, action: str, run: RunRecord, at: str) -> ReleaseEvent:
        images = {i.name: i.image_id or "" for i in run.images}
        return ReleaseEvent("ffmpeg-api", channel, action, run.id, at, "alice", None, images)

    for made in (
        event("staging", "promote", runs[2], "2026-11-01T12:00:00+00:00"),
        event("stable", "promote", runs[3], "2026-11-01T13:00:00+00:00"),
        event("staging", "promote", runs[5], "2026-11-01T15:00:00+00:00"),
        event("stable", "rollback", runs[2], "2026-11-01T16:00:00+00:00"),
    ):
        record_release(store, made)
    return release_log(store, "ffmpeg-api")


def test_history_shows_where_each_image_is_released(tmp_path: Path, history_url: str) -> None:
    runs = series(8)
    with _open(history_url) as store:
        for run in runs:
            store.record(run)
        _promote(store, runs)
    base = ["history", str(tmp_path), "--stack", "ffmpeg-api", "--history", history_url]
    done = runner.invoke(app, [*base, "-f", "json"])
    assert done.exit_code == 0, done.output
    api = json.loads(done.stdout)["images"][0]
    assert [(c["channel"], c["action"], c["run_id"]) for c in api["channels"]] == [
        ("stable", "rollback", runs[2].id),
        ("staging", "promote", runs[5].id),
    ]
    assert api["channels"][0]["at"] == "2026-11-01T16:00:00+00:00"
    markdown = runner.invoke(app, [*base, "-f", "markdown"]).stdout
    assert "| released |" in markdown.splitlines()[2]
    assert "stable (rolled back 2026-11-01 16:00), staging (promoted 2026-11-01 15:00)" in markdown
    csv_text = runner.invoke(app, [*base, "-f", "csv"]).stdout
    assert csv_text.splitlines()[0].endswith(",channels")
    assert "stable:rollback:2026-11-01T16:00:00+00:00" in csv_text
    terminal = runner.invoke(app, base, env={"COLUMNS": "220"}).stdout
    assert "released" in terminal and "staging (promoted 2026-11-01 15:00)" in terminal


def test_the_html_report_marks_promotions_and_lists_them(history_url: str) -> None:
    runs = series(8)
    with _open(history_url) as store:
        for run in runs:
            store.record(run)
        events = _promote(store, runs)
    page = render_html("ffmpeg-api", runs, releases=events)
    section = page[page.index("<h2>Releases</h2>") : page.index("<h2>Recent runs</h2>")]
    assert section.count("<tr><td>") == 4
    assert section.index("rollback") < section.index("promote")  # newest first
    # On each chart drawn: a marker at the three runs a channel was given (the worker has no
    # start-to-healthy chart: no health check, nothing measured, nothing to mark).
    markers = re.findall(r'<g class="rl">.*?<title>([^<]*)</title></g>', page)
    assert len(markers) == 3 * (3 + 2)
    assert any("promoted to stable 2026-11-01 13:00 by alice" in m for m in markers)
    assert any("rolled back in stable" in m and "promoted to staging" in m for m in markers)
    assert "<script" not in page


def test_the_machine_formats_never_load_rich(tmp_path: Path) -> None:
    """json, markdown and csv are read by scripts: what they need must not pull in rich (the
    terminal format imports it when it is chosen)."""
    store_path = tmp_path / "history.sqlite"
    with _open(str(store_path)) as store:
        for run in series(3):
            store.record(run)
    code = f"""
import sys
from pathlib import Path
from stablebuild.history.formats import HistoryFormat
from stablebuild.history.interface import RunQuery
from stablebuild.history.kpi import window_table
from stablebuild.history.location import parse_location
from stablebuild.history.store import open_store
from stablebuild.history.tables import render
with open_store(parse_location({str(store_path)!r}, Path.cwd(), "x"), create=False) as store:
    table = window_table("ffmpeg-api", store.window(RunQuery("ffmpeg-api")))
for fmt in (HistoryFormat.JSON, HistoryFormat.MARKDOWN, HistoryFormat.CSV):
    assert "api" in render(table, fmt, {{}})
print(sorted(name for name in sys.modules if name.split(".")[0] == "rich"))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_git_is_started_when_the_session_opens_and_read_when_the_run_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Making the session starts git's process (it works while the images build; the store's
    imports run on a thread), and the run is recorded with what git said."""
    import stablebuild.history.gitinfo as gitinfo
    from stablebuild.history.interface import GitInfo
    from stablebuild.history.session import HistorySession

    asked_on: list[str] = []

    def ask_git(folder: Path, environ: object = None) -> Callable[[], GitInfo]:
        asked_on.append("started")

        def answer() -> GitInfo:
            asked_on.append("read")
            return GitInfo("f" * 40, "feature", True)

        return answer

    monkeypatch.setattr(gitinfo, "ask_git", ask_git)
    store_path = tmp_path / "history.sqlite"
    session = HistorySession(
        parse_location(str(store_path), tmp_path, "--history"), tmp_path, warn=lambda m, h: None
    )
    assert asked_on == ["started"]
    assert session.finish(report(1, [api_image()]))
    assert asked_on == ["started", "read"]
    with _open(str(store_path)) as store:
        (run,) = store.runs(RunQuery("ffmpeg-api"))
    assert run.git == GitInfo("f" * 40, "feature", True)
