"""Release channels on the real engine: validate, promote, change, promote, roll back with a
real probe and trial run, and a refused promotion; no tag is left behind."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest
from tests.integration.conftest import write_stack
from tests.support import SESSION_RUN
from typer.testing import CliRunner

from stablebuild.cli import app
from stablebuild.engine import Engine
from stablebuild.history.interface import RunQuery
from stablebuild.history.sqlite import SqliteStore

pytestmark = pytest.mark.docker
runner = CliRunner()
STACK = f"release-{SESSION_RUN}"
SERVE = 'CMD ["/opt/venv/bin/python", "-m", "http.server", "8000"]'


REGISTRY = "/usr/bin/docker-registry"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Debian's docker-registry on 127.0.0.1, a free port, storage in a temporary folder."""
    if not Path(REGISTRY).exists():
        pytest.fail(f"{REGISTRY} is missing: run scripts/ensure-registry.sh (make test does)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = tmp_path_factory.mktemp("registry")
    config = folder / "config.yml"
    config.write_text(
        f"version: 0.1\nlog: {{level: error}}\n"
        f"storage:\n  filesystem: {{rootdirectory: {folder}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n"
    )
    server = subprocess.Popen([REGISTRY, "serve", str(config)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("the test registry did not start")
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _stack(
    root: Path, python_image: str, version: str, python: str = "", registry: str = ""
) -> Path:
    write_stack(
        root,
        {
            "app.Dockerfile": f"ARG BASE\nFROM ${{BASE}}\nUSER root\n"
            f"RUN echo {version} > /opt/version\nUSER 1000\n{SERVE}\n",
            "stablebuild.yml": f"""
                version: 1
                name: {STACK}
                {python}
                images:
                  app:
                    dockerfile: app.Dockerfile
                    args: {{BASE: "{python_image}"}}
                    interpreter: /opt/venv/bin/python
                    run: {{port: 8000, health: /, start_seconds: 30}}
                release: {{tag: "{registry}{{stack}}/{{image}}:{{channel}}", keep: 2}}
            """,
        },
    )
    return root


_REPOSITORIES = [f"{STACK}/app", f"stablebuild/{STACK}-app"]


def _tags(engine: Engine) -> dict[str, str]:
    found: dict[str, str] = {}
    for repository in _REPOSITORIES:
        for image in engine.docker.images(name=repository):
            for tag in image.get("RepoTags") or []:
                found[tag] = image["Id"]
    return found


@pytest.fixture
def tags_removed(engine: Engine) -> Iterator[None]:
    yield
    for tag in _tags(engine):
        with contextlib.suppress(docker.errors.NotFound):
            engine.docker.remove_image(tag, noprune=True)
    for repository in _REPOSITORIES:  # pulled by digest: no tag, only a digest reference
        for image in engine.docker.images(name=repository, all=True):
            for ref in image.get("RepoDigests") or []:
                with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                    engine.docker.remove_image(ref, noprune=True)
    assert _tags(engine) == {}


def _cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def _validate(root: Path, history: Path) -> str:
    done = _cli("validate", str(root), "--history", str(history), "--keep-images", "--no-cache")
    with SqliteStore(history) as store:
        run = store.runs(RunQuery(STACK, last=1))[0]
    assert done.exit_code in (0, 1), done.output
    return run.id


def test_promote_change_promote_rollback_verify(
    engine: Engine, python_image: str, tmp_path: Path, tags_removed: None
) -> None:
    root, history = tmp_path / "stack", tmp_path / "history.sqlite"
    first = _validate(_stack(root, python_image, "v1"), history)
    promoted = _cli("promote", str(root), "--history", str(history), "--channel", "stable")
    assert promoted.exit_code == 0, promoted.output
    v1 = _tags(engine)[f"{STACK}/app:stable"]

    second = _validate(_stack(root, python_image, "v2"), history)
    assert second != first
    again = _cli("promote", str(root), "--history", str(history))
    assert again.exit_code == 0, again.output
    tags = _tags(engine)
    v2 = tags[f"{STACK}/app:stable"]
    assert v2 != v1 and tags[f"{STACK}/app:stable-previous"] == v1

    back = _cli("rollback", str(root), "--history", str(history), "--channel", "stable")
    assert back.exit_code == 0, back.output
    assert f"rolled back to run {first} (verified)" in back.output
    tags = _tags(engine)
    assert tags[f"{STACK}/app:stable"] == v1 and f"{STACK}/app:stable-previous" not in tags
    listed = _cli("releases", str(root), "--history", str(history))
    assert [line.split()[2] for line in listed.stdout.splitlines()] == [
        "promote",
        "promote",
        "rollback",
    ]
    # The verification's probe and trial containers are gone.
    left = engine.docker.containers(all=True, filters={"label": "org.stablebuild.run"})
    assert [
        c["Id"] for c in left if c["Labels"]["org.stablebuild.run"].startswith(SESSION_RUN)
    ] == []


def test_a_failed_run_and_gone_images_are_refused(
    engine: Engine, python_image: str, tmp_path: Path, tags_removed: None
) -> None:
    root, history = tmp_path / "stack", tmp_path / "history.sqlite"
    failed = _validate(_stack(root, python_image, "v1", python='python: "3.4"'), history)
    refused = _cli("promote", str(root), "--history", str(history), "--run", failed)
    assert refused.exit_code == 1
    assert f"error: run {failed} failed" in refused.output
    passed = _validate(_stack(root, python_image, "v1"), history)
    for tag in _tags(engine):  # the kept images go away: nothing left to promote
        engine.docker.remove_image(tag, noprune=True)
    gone = _cli("promote", str(root), "--history", str(history), "--run", passed)
    assert gone.exit_code == 1 and "is gone from the engine" in gone.output
    assert f"{STACK}/app:stable" not in _tags(engine)


def test_promote_push_to_a_real_registry_then_pull_by_digest(
    engine: Engine, python_image: str, registry: str, tmp_path: Path, tags_removed: None
) -> None:
    root, history = tmp_path / "stack", tmp_path / "history.sqlite"
    repository = f"{registry}/{STACK}/app"
    _REPOSITORIES.append(repository)
    _validate(_stack(root, python_image, "v1", registry=f"{registry}/"), history)
    pushed = _cli("promote", str(root), "--history", str(history), "--push")
    assert pushed.exit_code == 0, pushed.output
    promoted = _tags(engine)[f"{repository}:stable"]
    [note] = [line for line in pushed.output.splitlines() if line.startswith("pushed ")]
    digest = note.split()[1]
    assert digest.startswith("sha256:")
    engine.docker.remove_image(f"{repository}:stable", noprune=True)
    engine.docker.pull(repository, tag=digest)  # by digest: what a deploy would pull
    assert engine.docker.inspect_image(f"{repository}@{digest}")["Id"] == promoted
    listed = _cli("releases", str(root), "--history", str(history), "--json")
    assert f"pushed {digest}" in listed.stdout
