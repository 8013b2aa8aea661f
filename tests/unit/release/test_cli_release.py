"""`stablebuild promote`, `rollback` and `releases` through the CLI: exit codes, one-line
reasons on stderr, the release log on stdout."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tests.unit.engine.fake import FakeEngine
from typer.testing import CliRunner

import stablebuild.engine
import stablebuild.engine.apiengine
from stablebuild.cli import app
from stablebuild.history.interface import GitInfo, ImageRecord, RunKind, RunRecord
from stablebuild.history.sqlite import SqliteStore

runner = CliRunner()
MANIFEST = """\
version: 1
name: shop
images:
  api: {dockerfile: Dockerfile}
release: {tag: "shop/{image}:{channel}", keep: 1}
"""


def _run(n: int, status: str = "passed") -> RunRecord:
    image = ImageRecord("api", "built", 10.0, f"sha256:api-{n}", ok=status == "passed")
    return RunRecord(
        f"run-{n}", RunKind.VALIDATE, "shop", f"2026-11-0{n}T09:00:00+00:00", status,
        git=GitInfo("c" * 40, "main", False), images=(image,),
    )  # fmt: skip


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, FakeEngine]:
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\n")
    (tmp_path / "stablebuild.yml").write_text(MANIFEST)
    # A committed, clean checkout: promote refuses a dirty tree.
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    (tmp_path / ".gitignore").write_text(".stablebuild/\n")
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "stack"], check=True)
    engine = FakeEngine()
    monkeypatch.setattr(stablebuild.engine, "connect", lambda: None)
    monkeypatch.setattr(stablebuild.engine.apiengine, "ApiEngine", lambda _: engine)
    monkeypatch.delenv("STABLEBUILD_HISTORY", raising=False)
    return tmp_path, engine


def _record(root: Path, engine: FakeEngine, *runs: RunRecord) -> None:
    with SqliteStore(root / ".stablebuild" / "history.sqlite") as store:
        for run in runs:
            store.record(run)
            engine.images.update(i.image_id for i in run.images if i.image_id)


def test_promote_then_releases_lists_it(stack: tuple[Path, FakeEngine]) -> None:
    root, engine = stack
    _record(root, engine, _run(1), _run(2))
    done = runner.invoke(app, ["promote", str(root), "--channel", "stable", "--run", "run-1"])
    assert done.exit_code == 0, done.output
    assert "promoted run run-1 to stable: api api-1" in done.output
    assert runner.invoke(app, ["promote", str(root)]).exit_code == 0
    assert engine.tags == {
        "shop/api:stable": "sha256:api-2",
        "shop/api:stable-previous": "sha256:api-1",
    }
    listed = runner.invoke(app, ["releases", str(root), "--json"])
    assert listed.exit_code == 0
    events = json.loads(listed.stdout)
    assert [(e["action"], e["run_id"], e["position"]) for e in events] == [
        ("promote", "run-1", 1),
        ("promote", "run-2", 2),
    ]
    table = runner.invoke(app, ["releases", str(root)])
    assert "stable     promote  run-2" in table.stdout


def test_refusals_are_one_line_and_exit_1(stack: tuple[Path, FakeEngine]) -> None:
    root, engine = stack
    _record(root, engine, _run(1, "failed"))
    refused = runner.invoke(app, ["promote", str(root), "--run", "run-1"])
    assert refused.exit_code == 1
    assert "error: run run-1 failed" in refused.output and "Traceback" not in refused.output
    (root / "Dockerfile").write_text("FROM python:3.13-slim\n")
    dirty = runner.invoke(app, ["promote", str(root)])
    assert dirty.exit_code == 1 and "uncommitted changes" in dirty.output
    back = runner.invoke(app, ["rollback", str(root), "--no-verify"])
    assert back.exit_code == 1 and "no earlier promoted set" in back.output


def test_bad_options_exit_2_and_a_missing_history_exit_3(stack: tuple[Path, FakeEngine]) -> None:
    root, engine = stack
    missing = runner.invoke(app, ["promote", str(root)])
    assert missing.exit_code == 3 and "no history at" in missing.output
    _record(root, engine, _run(1))
    bad = runner.invoke(app, ["promote", str(root), "--channel", "stable-previous"])
    assert bad.exit_code == 2 and "names ending in -previous" in bad.output
    unknown = runner.invoke(app, ["rollback", str(root), "--to", "run-9", "--channel", "beta"])
    assert unknown.exit_code == 1 and "beta of shop has no earlier promoted set" in unknown.output
