"""`validate` records its run, gates regressions and survives a lost store; `history`, `report`
and `audit` read and write the same store. Each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.unit.history.factories import api_image, broken_image, report, worker_image
from typer.testing import CliRunner

import stablebuild.engine
import stablebuild.validate
from stablebuild.cli import app
from stablebuild.history.interface import RunKind, RunQuery
from stablebuild.history.location import parse_location
from stablebuild.history.store import open_store
from stablebuild.report.format.interface import ReportFormat
from stablebuild.report.model import ImageReport, Report

runner = CliRunner()
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    """The reference stack's shape: api, worker and migrate from one Dockerfile, in git."""
    root = tmp_path / "ffmpeg-api"
    root.mkdir()
    (root / "Dockerfile").write_text("FROM debian:bookworm-slim\nUSER 1000\n")
    images = "".join(f"  {name}: {{dockerfile: Dockerfile}}\n" for name in ("api", "worker"))
    (root / "stablebuild.yml").write_text(
        "version: 1\nname: ffmpeg-api\n"
        "images:\n" + images + "  migrate: {dockerfile: Dockerfile, args: {PIP_TOKEN: "
        "tok-3141592653}}\n"
    )
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "stack"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True)
    return root


Validate = Callable[..., Report]


@pytest.fixture
def runs_validate(monkeypatch: pytest.MonkeyPatch) -> Callable[[list[ImageReport]], list[int]]:
    """Make the next validate return a report of these images (no engine involved)."""
    counter = iter(range(1000))

    def arrange(images: list[ImageReport], before: Callable[[], None] | None = None) -> list[int]:
        run = next(counter)

        def fake_validate(
            engine: Any, manifest: Any, options: Any, observer: Any, on_start: Any
        ) -> Report:
            finished = report(run, images)
            on_start(type("V", (), {"report": finished})())
            if before is not None:
                before()
            return finished

        monkeypatch.setattr(stablebuild.validate, "validate", fake_validate)
        return [run]

    monkeypatch.setattr(stablebuild.engine, "connect", lambda: object())
    return arrange  # type: ignore[return-value]


def _runs(url: str, kind: RunKind = RunKind.VALIDATE) -> list[Any]:
    with open_store(parse_location(url, Path.cwd(), "--history"), create=False) as store:
        return store.runs(RunQuery("ffmpeg-api", kind, last=None))


def test_validate_records_the_run_with_git_and_no_secret(
    stack: Path, history_url: str, runs_validate: Any
) -> None:
    runs_validate([api_image(), worker_image(), broken_image(secret="tok-3141592653")])
    result = runner.invoke(app, ["validate", str(stack), "--history", history_url])
    assert result.exit_code == 1, result.output  # the migrate build failed
    assert "not recorded" not in result.output
    (run,) = _runs(history_url)
    assert [i.name for i in run.images] == ["api", "worker", "migrate"]
    assert run.git.branch == "main" and run.git.dirty is False and len(run.git.commit) == 40
    assert run.status == "failed" and run.complete
    migrate = run.image("migrate")
    assert "tok-3141592653" not in (migrate.log_tail or "")
    assert "https://ci:***@pypi.example.com" in (migrate.log_tail or "")


def test_the_default_store_is_beside_the_manifest_and_git_ignored(
    stack: Path, runs_validate: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STABLEBUILD_HISTORY")
    runs_validate([api_image(), worker_image()])
    result = runner.invoke(app, ["validate", str(stack)])
    assert result.exit_code == 0, result.output
    assert (stack / ".stablebuild" / "history.sqlite").is_file()
    assert "history.sqlite-*" in (stack / ".stablebuild" / ".gitignore").read_text()
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=stack,
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == ""  # the history never shows up as a change to commit
    assert len(_runs(str(stack / ".stablebuild" / "history.sqlite"))) == 1


def test_the_manifest_names_the_store(stack: Path, runs_validate: Any) -> None:
    manifest = stack / "stablebuild.yml"
    manifest.write_text(manifest.read_text() + "history: sqlite:ci/history.sqlite\n")
    runs_validate([api_image()])
    env = {"STABLEBUILD_HISTORY": ""}  # unset: the manifest decides
    result = runner.invoke(app, ["validate", str(stack)], env=env)
    assert result.exit_code == 0, result.output
    assert len(_runs(str(stack / "ci" / "history.sqlite"))) == 1


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("postgresql://ci:hunter22@db/builds", "holds a password"),
        ("sqlite:../elsewhere.sqlite", "inside the stack folder"),
        ("/var/lib/history.sqlite", "inside the stack folder"),
        ("mysql://db/builds", "must be postgresql://"),
    ],
)
def test_a_bad_history_in_the_manifest_is_exit_2_with_its_line(
    stack: Path, value: str, words: str
) -> None:
    manifest = stack / "stablebuild.yml"
    manifest.write_text(manifest.read_text() + f"history: {value}\n")
    result = runner.invoke(app, ["validate", str(stack)], env={"STABLEBUILD_HISTORY": ""})
    assert result.exit_code == 2
    assert f"stablebuild.yml:7: history: {words}" in result.output or words in result.output
    assert ":7:" in result.output and "hunter22" not in result.output


def test_a_regression_fails_the_image_in_every_report_format(
    stack: Path, history_url: str, runs_validate: Any, tmp_path: Path
) -> None:
    for size in (400.0, 404.0, 398.0):
        runs_validate([api_image(size), worker_image()])
        assert runner.invoke(app, ["validate", str(stack), "--history", history_url]).exit_code == 0
    runs_validate([api_image(520.0), worker_image()])
    outputs = {fmt: tmp_path / f"report.{fmt.value}" for fmt in ReportFormat}
    args = [word for fmt, path in outputs.items() for word in ("-o", f"{fmt.value}:{path}")]
    result = runner.invoke(
        app,
        ["validate", str(stack), "--history", history_url,
         "--max-regression", "size=10%,build=25%", *args],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    for fmt, path in outputs.items():
        assert "regression.size" in path.read_text(), fmt
    data = json.loads(outputs[ReportFormat.JSON].read_text())
    api = next(i for i in data["images"] if i["name"] == "api")
    size = next(c for c in api["checks"] if c["id"] == "regression.size")
    assert size["status"] == "failed"
    assert "520.0 MB is 30.0% above the baseline 400.0 MB" in size["message"]
    assert "median of 3 passing runs on branch main" in size["message"]
    worker = next(i for i in data["images"] if i["name"] == "worker")
    assert {c["id"]: c["status"] for c in worker["checks"]}["regression.size"] == "passed"
    # the failed gate is recorded: the HTML report and the KPI table can mark it
    assert _runs(history_url)[-1].image("api").failed_checks[0].id == "regression.size"


def test_the_baseline_can_be_another_ref(stack: Path, history_url: str, runs_validate: Any) -> None:
    runs_validate([api_image(300.0)])
    assert runner.invoke(app, ["validate", str(stack), "--history", history_url]).exit_code == 0
    subprocess.run(["git", "tag", "v1"], cwd=stack, check=True)
    (stack / "app.py").write_text("print('v2')\n")
    subprocess.run(["git", "add", "."], cwd=stack, check=True)
    subprocess.run(
        ["git", "commit", "-q", "-m", "v2"], cwd=stack, check=True, env={**os.environ, **GIT_ENV}
    )
    runs_validate([api_image(500.0)])
    assert runner.invoke(app, ["validate", str(stack), "--history", history_url]).exit_code == 0
    runs_validate([api_image(510.0)])
    result = runner.invoke(
        app,
        ["validate", str(stack), "--history", history_url, "-f", "json",
         "--max-regression", "size=5%", "--baseline-ref", "v1"],
    )  # fmt: skip
    assert result.exit_code == 1
    check = next(
        c for c in json.loads(result.stdout)["images"][0]["checks"] if c["id"] == "regression.size"
    )
    assert "baseline 300.0 MB" in check["message"] and "at v1 (" in check["message"]


@pytest.mark.parametrize(
    ("limits", "words"),
    [
        ("size=10%,speed=5%", "unknown metric 'speed'"),
        ("size=ten", "expected METRIC=PERCENT"),
        ("size=1%,size=2%", "named twice"),
    ],
)
def test_bad_regression_limits_are_exit_2_before_any_work(
    stack: Path, limits: str, words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never() -> None:
        raise AssertionError("the engine was reached")

    monkeypatch.setattr(stablebuild.engine, "connect", never)
    result = runner.invoke(app, ["validate", str(stack), "--max-regression", limits])
    assert result.exit_code == 2
    assert words in result.output and "Traceback" not in result.output


def test_an_unreachable_store_is_a_warning_and_the_checks_decide(
    stack: Path, runs_validate: Any, tmp_path: Path
) -> None:
    from tests.history_support import free_port

    url = f"postgresql://ci:pw-9876@127.0.0.1:{free_port()}/builds"
    runs_validate([api_image(), worker_image()])
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["validate", str(stack), "--history", url, "-o", f"json:{out}"])
    assert result.exit_code == 0, result.output
    assert "warning: this run was not recorded in the history" in result.output
    assert "pw-9876" not in result.output
    assert json.loads(out.read_text())["status"] == "passed"


def test_a_required_store_that_cannot_be_reached_is_exit_3_before_any_build(
    stack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.history_support import free_port

    def never() -> None:
        raise AssertionError("the engine was reached")

    monkeypatch.setattr(stablebuild.engine, "connect", never)
    url = f"postgresql://ci@127.0.0.1:{free_port()}/builds"
    result = runner.invoke(app, ["validate", str(stack), "--history", url, "--history-required"])
    assert result.exit_code == 3
    assert "error: history postgresql://ci@127.0.0.1" in result.output


@pytest.fixture
def lose_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, Callable[[], None]]]:
    """A store and the way to lose it mid-run: kill PostgreSQL, or take SQLite's folder away."""
    if request.param == "postgresql":
        cluster = request.getfixturevalue("own_cluster")
        yield cluster.url(), cluster.kill
        return
    folder = tmp_path / "shared"
    folder.mkdir()

    def lose() -> None:
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()
        folder.write_text("the mount went away\n")

    yield str(folder / "history.sqlite"), lose


@pytest.mark.parametrize("lose_store", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("required", [False, True])
def test_a_store_lost_during_the_run_never_loses_the_validation(
    stack: Path, runs_validate: Any, lose_store: tuple[str, Callable[[], None]], tmp_path: Path,
    required: bool,
) -> None:  # fmt: skip
    url, lose = lose_store
    runs_validate([api_image()])
    assert runner.invoke(app, ["validate", str(stack), "--history", url]).exit_code == 0
    runs_validate([api_image(), broken_image()], before=lose)  # dies while images build
    out = tmp_path / "r.json"
    args = ["validate", str(stack), "--history", url, "-o", f"json:{out}"]
    result = runner.invoke(app, args + (["--history-required"] if required else []))
    assert result.exit_code == (3 if required else 1), result.output
    data = json.loads(out.read_text())
    assert data["status"] == "failed" and [i["name"] for i in data["images"]] == ["api", "migrate"]
    level = "error" if required else "warning"
    assert f"{level}: this run was not recorded in the history" in result.output
    assert "Traceback" not in result.output


def test_history_shows_the_kpis_in_every_format(
    stack: Path, history_url: str, runs_validate: Any
) -> None:
    for n in range(6):
        failed = ("imports.fastapi",) if n == 2 else ()
        runs_validate([api_image(400.0 + 10 * n, 40.0 + n, failed=failed), worker_image()])
        runner.invoke(app, ["validate", str(stack), "--history", history_url])
    base = ["history", str(stack), "--history", history_url]
    data = json.loads(runner.invoke(app, [*base, "-f", "json"]).stdout)
    assert data["runs"] == 6
    api = data["images"][0]
    assert api["image"] == "api" and api["pass_rate"] == pytest.approx(5 / 6)
    assert api["size_bytes"] == {
        "now": 450_000_000, "first": 400_000_000, "min": 400_000_000, "change": 0.125,
    }  # fmt: skip
    assert api["build_seconds"]["median"] == 42.5 and api["build_seconds"]["p90"] == 45.0
    assert api["failing_checks"] == [{"id": "imports.fastapi", "runs": 1}]
    assert api["health_pass_rate"] == 1.0 and api["healthy_seconds"]["median"] == 2.5
    terminal = runner.invoke(app, base).stdout
    assert "ffmpeg-api" in terminal and "imports.fastapi ×1" in terminal
    assert "▁" in terminal and "█" in terminal  # the size trend
    markdown = runner.invoke(app, [*base, "-f", "markdown"]).stdout
    assert "| api | 6 | 100% | 83% |" in markdown
    csv_text = runner.invoke(app, [*base, "-f", "csv", "--last", "2"]).stdout
    header, api_row, worker_row = csv_text.splitlines()
    assert header.startswith("image,runs,success_rate") and api_row.startswith("api,2,1,1,")
    assert worker_row.startswith("worker,2,")


def test_history_windows_by_last_since_and_branch(
    stack: Path, history_url: str, runs_validate: Any
) -> None:
    for _ in range(4):
        runs_validate([api_image()])
        runner.invoke(app, ["validate", str(stack), "--history", history_url])
    base = ["history", str(stack), "--history", history_url, "-f", "json"]
    assert json.loads(runner.invoke(app, [*base, "--last", "3"]).stdout)["runs"] == 3
    # the factories' runs start on 2026-11-01 09:00, one an hour
    since = json.loads(runner.invoke(app, [*base, "--since", "2026-11-01T11:00:00"]).stdout)
    assert since["runs"] == 2
    assert json.loads(runner.invoke(app, [*base, "--branch", "other"]).stdout)["runs"] == 0
    bad = runner.invoke(app, [*base, "--since", "last tuesday"])
    assert bad.exit_code == 2 and "--since 'last tuesday': not a date" in bad.output


def test_history_without_a_manifest_names_the_stack(
    stack: Path, history_url: str, runs_validate: Any, tmp_path: Path
) -> None:
    runs_validate([api_image()])
    runner.invoke(app, ["validate", str(stack), "--history", history_url])
    empty = tmp_path / "dashboard"
    empty.mkdir()
    args = ["history", str(empty), "--history", history_url, "-f", "json"]
    assert runner.invoke(app, args).exit_code == 2
    data = json.loads(runner.invoke(app, [*args, "--stack", "ffmpeg-api"]).stdout)
    assert data["runs"] == 1


def test_history_before_any_run_is_an_empty_table(stack: Path) -> None:
    result = runner.invoke(
        app, ["history", str(stack), "-f", "json"], env={"STABLEBUILD_HISTORY": ""}
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["runs"] == 0
    assert "no history at" in result.stderr
    assert not (stack / ".stablebuild").exists()


def test_report_writes_one_self_contained_html_file(
    stack: Path, history_url: str, runs_validate: Any, tmp_path: Path
) -> None:
    for n in range(5):
        runs_validate([api_image(400.0 + n), worker_image(), broken_image()])
        runner.invoke(app, ["validate", str(stack), "--history", history_url])
    out = tmp_path / "report.html"
    result = runner.invoke(
        app, ["report", str(stack), "--history", history_url, "--html", str(out)]
    )
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert page.count('<svg class="chart"') == 9  # size, build, start for each of 3 images
    assert "pg-config-missing" in page and "pg_config executable not found" in page
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert "src=" not in page
    stripped = page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "http://" not in stripped and "https://ci:***@" in stripped  # only the masked log line


def test_report_refuses_a_bad_target_before_reading(stack: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(stack), "--html", str(tmp_path / "no" / "r.html")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_audit_records_its_findings_by_rule_and_severity(stack: Path, history_url: str) -> None:
    (stack / "Dockerfile").write_text("FROM python:latest\nRUN pip install flask\n")
    args = ["audit", str(stack), "--offline", "--no-hadolint", "--format", "json"]
    result = runner.invoke(app, [*args, "--history", history_url])
    assert result.exit_code == 0, result.output  # warnings only
    shown = json.loads(result.stdout)["findings"]
    (audit,) = _runs(history_url, RunKind.AUDIT)
    assert audit.git.branch == "main" and audit.status == "passed"
    expected = {}
    for finding in shown:
        key = (finding["rule"], finding["severity"])
        expected[key] = expected.get(key, 0) + 1
    assert {(f.rule, f.severity): f.count for f in audit.findings} == expected
    assert ("SB104", "warning") in expected
    data = json.loads(
        runner.invoke(app, ["history", str(stack), "--history", history_url, "-f", "json"]).stdout
    )
    assert data["audit"]["runs"] == 1 and data["audit"]["latest"]["warning"] == len(shown)


def test_history_from_an_unreachable_store_is_exit_3_in_one_line(stack: Path) -> None:
    from tests.history_support import free_port

    url = f"postgresql://ci:pw-1234@127.0.0.1:{free_port()}/builds"
    for command in (["history"], ["report", "--html", str(stack / "r.html")]):
        result = runner.invoke(app, [*command, str(stack), "--history", url])
        assert result.exit_code == 3, result.output
        assert result.output.startswith("error: history postgresql://ci:***@127.0.0.1")
        assert "pw-1234" not in result.output and "Traceback" not in result.output
    assert not (stack / "r.html").exists()
