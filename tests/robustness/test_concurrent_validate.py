"""Two `stablebuild validate` runs of one stack at once, sharing one cache folder (real engine):
both finish and pass with valid reports, every cache file they leave is whole and readable, and
a third run reads those caches (the image comes from the cache) and passes too.

Runs the real command in subprocesses, as CI jobs and pre-push hooks on one machine would. The
fixture image is built from the air-gapped base and removed; each run's containers and tags
carry the session's STABLEBUILD_RUN_PREFIX, and the session checks nothing is left.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker.errors
import pytest
from tests.integration.conftest import FIXTURES, build_fixture, remove_fixture, write_stack
from tests.support import BASE_IMAGE, SESSION_RUN

from stablebuild.engine import Engine, connect

pytestmark = [pytest.mark.docker, pytest.mark.robustness]

VALIDATE_TIMEOUT = 600  # seconds for one validate of a one-image stack on a cold engine


@pytest.fixture(scope="module")
def engine() -> Engine:
    return connect(timeout=900)


@pytest.fixture(scope="module")
def python_image(engine: Engine) -> Iterator[str]:
    """Debian's Python 3.11 in /opt/venv with six==1.16.0, built from the air-gapped base."""
    try:
        engine.docker.inspect_image(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"{BASE_IMAGE} is missing: run `make base` (make test does it for you)")
    tag = f"stablebuild-test/robustness-python:{SESSION_RUN}"
    build_fixture(engine, FIXTURES / "python.Dockerfile", tag, {"BASE_IMAGE": BASE_IMAGE})
    yield tag
    remove_fixture(engine, tag)


def _entry() -> list[str]:
    script = Path(sys.executable).with_name("stablebuild")
    return [str(script)] if script.exists() else [sys.executable, "-m", "stablebuild"]


def _start(stack: Path, report: Path, cache: Path) -> subprocess.Popen[str]:
    argv = [*_entry(), "validate", str(stack), "--format", "json", "-q", "-o", f"json:{report}"]
    # NOTE: STABLEBUILD_RUN_PREFIX comes from tests.support through os.environ.
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "NO_COLOR": "1"}
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
        start_new_session=True,
    )


def _finish(proc: subprocess.Popen[str], report: Path) -> dict[str, object]:
    try:
        out, err = proc.communicate(timeout=VALIDATE_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)  # let it clean up its containers
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
        pytest.fail(f"validate did not finish in {VALIDATE_TIMEOUT} s")
    assert "Traceback" not in err, err[-3000:]
    assert proc.returncode == 0, f"exit {proc.returncode}\n{err[-3000:]}"
    document = json.loads(out)
    assert json.loads(report.read_text()) == document
    images = document["images"]
    assert isinstance(images, list) and images
    assert all(image["ok"] for image in images), json.dumps(images, indent=1)[:3000]
    return document


def test_two_validates_of_one_stack_at_once(python_image: str, tmp_path: Path) -> None:
    stack = write_stack(
        tmp_path / "stack",
        {
            "requirements.txt": "six==1.16.0\n",
            "Dockerfile": f'FROM {python_image}\nLABEL which="concurrent"\n',
            "stablebuild.yml": """
                version: 1
                name: concurrent
                python: "3.11"
                requirements: [requirements.txt]
                images:
                  app: {dockerfile: Dockerfile, interpreter: /opt/venv/bin/python, imports: [six]}
            """,
        },
    ).parent
    cache = tmp_path / "cache"
    reports = [tmp_path / "first.json", tmp_path / "second.json"]
    runs = [_start(stack, report, cache) for report in reports]
    for proc, report in zip(runs, reports, strict=True):
        _finish(proc, report)

    files = [p for p in cache.rglob("*") if p.is_file()]
    assert files, "the runs left no cache at all"
    assert not [p for p in files if p.name.endswith(".tmp")], "half-written cache files left"
    for path in files:
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix in (".db", ".sqlite", ".sqlite3"):
            with sqlite3.connect(path) as db:
                assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    third = _finish(_start(stack, tmp_path / "third.json", cache), tmp_path / "third.json")
    images = third["images"]
    assert isinstance(images, list)
    assert all(image["from_cache"] for image in images), "the third run did not read the caches"
