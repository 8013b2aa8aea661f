"""`stablebuild audit`: options, formats, -o, exit codes, and manifest errors without tracebacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stablebuild.cli import app

FIXTURES = Path(__file__).parents[2] / "fixtures" / "audit" / "dockerfile"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # offline cache lives here
    return CliRunner()


def test_json_output_and_exit_1(runner: CliRunner) -> None:
    result = runner.invoke(
        app,
        ["audit", str(FIXTURES / "reference"), "--offline", "--no-hadolint", "--format", "json"],
    )
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == 1
    assert {"SB401", "SB403", "SB408"} <= {f["rule"] for f in data["findings"]}


def test_fixed_stack_passes_at_error_threshold(runner: CliRunner) -> None:
    args = ["audit", str(FIXTURES / "fixed"), "--offline", "--no-hadolint"]
    assert runner.invoke(app, args).exit_code == 0
    assert runner.invoke(app, [*args, "--fail-on", "warning"]).exit_code == 1
    assert runner.invoke(app, [*args[:2], "--offline", "--fail-on", "never"]).exit_code == 0


def test_output_file_is_written_atomically(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "report.sarif"
    result = runner.invoke(
        app,
        [
            "audit",
            str(FIXTURES / "reference"),
            "--offline",
            "--no-hadolint",
            "--format",
            "sarif",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 1
    assert json.loads(out.read_text())["version"] == "2.1.0"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert "report written to" in result.stderr


def test_table_is_the_default(runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["audit", str(FIXTURES / "reference"), "--offline", "--no-hadolint"]
    )
    assert result.exit_code == 1 and "SB401" in result.stdout


def test_malformed_manifest_is_exit_2_with_file_and_line(runner: CliRunner, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "fixed", repo)
    (repo / "stablebuild.yml").write_text("version: 1\nname: x\nimages:\n  api: [\n")
    result = runner.invoke(app, ["audit", str(repo), "--offline", "--no-hadolint"])
    assert result.exit_code == 2
    assert "stablebuild.yml:" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "/no/such/dir"],
        ["audit", ".", "--vuln-db", "/no/such/db.json"],
        ["audit", ".", "--manifest", "/no/such/stablebuild.yml"],
        ["audit", ".", "--format", "xml"],
        ["audit", ".", "-o", "/no/such/dir/out.json"],
    ],
)
def test_usage_errors_are_exit_2(runner: CliRunner, args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
