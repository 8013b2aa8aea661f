"""The history on the real engine: validate records real builds, sizes and start times, gates a
real size regression, and survives its PostgreSQL being killed in the middle of a run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import write_stack
from typer.testing import CliRunner

import stablebuild.validate
from stablebuild.cli import app
from stablebuild.history.interface import RunQuery
from stablebuild.history.location import parse_location
from stablebuild.history.store import open_store

pytestmark = pytest.mark.docker
runner = CliRunner()

HEALTHY = (
    'HEALTHCHECK --interval=1s --timeout=2s --retries=3 CMD ["/opt/venv/bin/python", "-c", '
    "\"import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/')\"]"
)
SERVE = 'CMD ["/opt/venv/bin/python", "-m", "http.server", "8000"]'


def _stack(root: Path, python_image: str, blob_mb: int = 0) -> Path:
    blob = f"RUN head -c {blob_mb}000000 /dev/urandom > /opt/blob\n" if blob_mb else ""
    write_stack(
        root,
        {
            # NOTE: the folder's name in a comment: each test's build inputs are its own, so
            # its first run builds even when another test built the same image before.
            "app.Dockerfile": f"# {root.parent.name}\nARG BASE\nFROM ${{BASE}}\nUSER root\n"
            f"{blob}USER 1000\n"
            f"{HEALTHY}\n{SERVE}\n",
            "stablebuild.yml": f"""
                version: 1
                name: history-it
                images:
                  app:
                    dockerfile: app.Dockerfile
                    args: {{BASE: "{python_image}"}}
                    interpreter: /opt/venv/bin/python
                    run: {{port: 8000, health: /, start_seconds: 30}}
            """,
        },
    )
    return root


def _validate(root: Path, url: str, *more: str) -> Any:
    return runner.invoke(app, ["validate", str(root), "--history", url, *more])


def _runs(url: str) -> list[Any]:
    with open_store(parse_location(url, Path.cwd(), "--history")) as store:
        return store.runs(RunQuery("history-it", last=None))


def test_real_runs_are_recorded_and_a_size_regression_is_caught(
    history_url: str, python_image: str, tmp_path: Path
) -> None:
    root = _stack(tmp_path / "stack", python_image)
    first = _validate(root, history_url)
    assert first.exit_code == 0, first.output
    again = _validate(root, history_url)  # nothing changed: the build is reused
    assert again.exit_code == 0, again.output
    built, reused = _runs(history_url)
    app_built, app_reused = built.image("app"), reused.image("app")
    assert app_built.build_status == "built" and app_built.build_seconds > 0
    assert app_reused.build_status == "cached" and app_reused.build_seconds is None
    assert app_built.size_bytes == app_reused.size_bytes > 10_000_000
    assert app_built.health_passed is True and 0 < app_built.healthy_seconds < 30
    assert app_built.python_version and app_built.python_version.startswith("3.")

    grown = app_built.size_bytes * 0.25 / 1e6  # a quarter larger: over a 10% limit
    _stack(root, python_image, blob_mb=int(grown) + 1)
    out = tmp_path / "report.json"
    third = _validate(root, history_url, "--max-regression", "size=10%", "-o", f"json:{out}")
    assert third.exit_code == 1, third.output
    checks = json.loads(out.read_text())["images"][0]["checks"]
    size = next(c for c in checks if c["id"] == "regression.size")
    assert size["status"] == "failed"
    assert f"above the baseline {app_built.size_bytes / 1e6:.1f} MB" in size["message"]
    assert "median of 2 passing runs of this stack" in size["message"]

    table = runner.invoke(app, ["history", str(root), "--history", history_url, "-f", "json"])
    data = json.loads(table.stdout)
    assert data["runs"] == 3
    kpi = data["images"][0]
    assert kpi["pass_rate"] == pytest.approx(2 / 3) and kpi["success_rate"] == 1.0
    assert kpi["failing_checks"] == [{"id": "regression.size", "runs": 1}]
    assert kpi["size_bytes"]["first"] == app_built.size_bytes < kpi["size_bytes"]["now"]

    html = tmp_path / "report.html"
    made = runner.invoke(app, ["report", str(root), "--history", history_url, "--html", str(html)])
    assert made.exit_code == 0, made.output
    assert html.read_text().count('<svg class="chart"') == 3


def test_postgresql_killed_during_a_real_run(
    own_cluster: Any, python_image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _stack(tmp_path / "stack", python_image)
    url = own_cluster.url()
    assert _validate(root, url).exit_code == 0  # the store works before
    real: Callable[..., Any] = stablebuild.validate.validate

    def killed_while_running(*args: Any, **kwargs: Any) -> Any:
        own_cluster.kill()
        return real(*args, **kwargs)

    monkeypatch.setattr(stablebuild.validate, "validate", killed_while_running)
    out = tmp_path / "report.json"
    result = _validate(root, url, "--no-cache", "-o", f"json:{out}")
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["status"] == "passed"
    assert "warning: this run was not recorded in the history" in result.output
    assert "Traceback" not in result.output
