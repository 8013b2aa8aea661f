"""The stack phase on a real engine and a real compose: a two-service stack (web in front of
store, fixture images from tests/fixtures/images/stack) that passes, a smoke step that times out,
and an interrupt; in every case nothing of the project or the run is left behind.

The reference stack's own stack phase (the real transcode) runs in `make demo` and in
`test_reference_stack_phase_transcodes_a_clip`: about a minute and a half with a warm layer
cache (test_example_e2e.py builds the same Dockerfiles), minutes cold.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import FIXTURES

from stablebuild.engine import Engine
from stablebuild.engine.client import LABEL_RUN
from stablebuild.engine.compose import PROJECT_LABEL, ComposeUnavailable, find_compose
from stablebuild.engine.composefile import project_name
from stablebuild.events import Event
from stablebuild.manifest.load import load_manifest
from stablebuild.report.model import CheckStatus, Report
from stablebuild.report.write import render
from stablebuild.validate import ValidateOptions, Validation, validate

pytestmark = pytest.mark.docker

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ffmpeg-api"
SECRET = "hunter2-secret"


@pytest.fixture(scope="module")
def compose() -> str:
    try:
        command, version = find_compose()
    except ComposeUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{exc.message}: {exc.hint}")
    return f"{' '.join(command)} {version}"


def stack_root(root: Path, python_image: str, smoke: str, wait: int = 60) -> Path:
    """The fixture stack copied into `root`, with a manifest whose smoke steps are `smoke`."""
    shutil.copytree(FIXTURES / "stack", root, dirs_exist_ok=True)
    manifest = root / "stablebuild.yml"
    manifest.write_text(
        textwrap.dedent(f"""\
            version: 1
            name: stack-test
            images:
              web: {{dockerfile: Dockerfile, args: {{BASE: "{python_image}"}}}}
              store: {{dockerfile: Dockerfile, args: {{BASE: "{python_image}", ROLE: store}}}}
            stack:
              compose: compose.yml
              services: {{web: web, store: store}}
              wait: {{healthy: [store, web], timeout_seconds: {wait}}}
              smoke:
            """)
        + textwrap.indent(textwrap.dedent(smoke), "    ")
    )
    return manifest


PASSING = """\
- http: {service: web, path: /health}
- http:
    service: web
    method: POST
    path: /jobs
    json_file: smoke/job.json
    expect_status: 202
    then_poll: {path: "/jobs/{id}", until: {status: done, name: smoke}, timeout_seconds: 30}
- exec: {service: store, command: [python3, /srv/app.py, count]}
"""

TIMING_OUT = """\
- http:
    service: web
    method: POST
    path: /jobs
    json_file: smoke/job.json
    expect_status: 202
    then_poll: {path: "/jobs/{id}", until: {status: archived}, timeout_seconds: 3}
- exec: {service: store, command: [python3, /srv/app.py, count]}
"""


def left_behind(engine: Engine, report: Report) -> dict[str, list[str]]:
    """Everything on the engine that carries the run's label or the project's, or its name."""
    project = project_name(report.stack, report.run_id)
    found: dict[str, list[str]] = {"containers": [], "networks": [], "volumes": []}
    for label in (f"{LABEL_RUN}={report.run_id}", f"{PROJECT_LABEL}={project}"):
        filters = {"label": label}
        found["containers"] += [
            c["Names"][0] for c in engine.docker.containers(all=True, filters=filters)
        ]
        found["networks"] += [n["Name"] for n in engine.docker.networks(filters=filters)]
        found["volumes"] += [
            v["Name"] for v in engine.docker.volumes(filters=filters).get("Volumes") or []
        ]
    found["containers"] += [
        c["Names"][0]
        for c in engine.docker.containers(all=True)
        if any(project in name for name in c["Names"])
    ]
    found["networks"] += [n["Name"] for n in engine.docker.networks() if project in n["Name"]]
    found["volumes"] += [
        v["Name"] for v in engine.docker.volumes().get("Volumes") or [] if project in v["Name"]
    ]
    return {kind: names for kind, names in found.items() if names}


@contextlib.contextmanager
def host_port_taken(port: int) -> Iterator[bool]:
    """Hold `port` on the host, as a developer's own `compose up` would: a run that published
    the compose file's fixed port could then not start."""
    sock = socket.socket()
    try:
        sock.bind(("0.0.0.0", port))
        sock.listen()
    except OSError:
        sock.close()
        yield False  # someone else holds it already: just as good
        return
    try:
        yield True
    finally:
        sock.close()


def fresh(folder: Path, **kw: Any) -> ValidateOptions:
    """A cache of the test's own: an earlier test's passing verdict for the same stack would
    otherwise be reused, and this test's stack phase would not run at all."""
    return ValidateOptions(jobs=2, cache_dir=folder / "cache", **kw)


def checks(report: Report) -> dict[str, Any]:
    assert report.stack_phase is not None
    return {c.id: c for c in report.stack_phase.checks}


@pytest.fixture(scope="module")
def passing(
    engine: Engine, python_image: str, compose: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Report, float]:
    manifest = stack_root(tmp_path_factory.mktemp("stack-pass"), python_image, PASSING)
    started = time.monotonic()
    with host_port_taken(8000):
        report = validate(
            engine, load_manifest(manifest), fresh(tmp_path_factory.mktemp("stack-pass-cache"))
        )
    return report, time.monotonic() - started


def test_the_stack_comes_up_with_the_validated_images_and_passes(
    engine: Engine, passing: tuple[Report, float], compose: str
) -> None:
    report, _ = passing
    assert all(image.ok for image in report.images), render(report, "terminal")
    found = checks(report)
    assert list(found) == [
        "stack.up", "stack.healthy.store", "stack.healthy.web",
        "stack.smoke.1", "stack.smoke.2", "stack.smoke.3", "stack.down",
    ], render(report, "terminal")  # fmt: skip
    assert all(c.status is CheckStatus.PASSED for c in found.values()), render(report, "terminal")
    assert report.ok
    assert report.stack_phase is not None
    assert report.stack_phase.compose == compose
    assert report.stack_phase.project == project_name("stack-test", report.run_id)
    assert "2 services up" in found["stack.up"].message
    assert found["stack.smoke.2"].message.startswith("POST /jobs on web answered 202; GET /jobs/")
    assert "reached status: done, name: smoke" in found["stack.smoke.2"].message
    assert "(1 jobs logged)" in found["stack.smoke.3"].message
    assert left_behind(engine, report) == {}


def test_the_containers_ran_the_images_just_validated(
    engine: Engine, passing: tuple[Report, float]
) -> None:
    """Nothing was built or tagged for the stack: the validated images are all there is."""
    report, _ = passing
    ids = {image.build.image_id for image in report.images}
    assert len(ids) == 2
    tagged = [
        tag
        for image in engine.docker.images(filters={"label": f"{LABEL_RUN}={report.run_id}"})
        for tag in image.get("RepoTags") or []
        if tag != "<none>:<none>"
    ]
    assert tagged == []


def test_a_smoke_step_that_times_out_fails_shows_logs_and_leaves_nothing(
    engine: Engine, python_image: str, compose: str, tmp_path: Path
) -> None:
    manifest = stack_root(tmp_path, python_image, TIMING_OUT)
    report = validate(engine, load_manifest(manifest), fresh(tmp_path))
    found = checks(report)
    smoke = found["stack.smoke.1"]
    assert smoke.status is CheckStatus.FAILED
    assert "did not reach status: archived within 3 s (last: status: done)" in smoke.message
    # Each service's last log lines, the secret from its environment masked.
    assert "--- web: last 20 log lines ---" in smoke.message
    assert "--- store: last 20 log lines ---" in smoke.message
    assert "web: listening on 8000, store password ***" in smoke.message
    assert SECRET not in render(report, "json")
    assert found["stack.smoke.2"].status is CheckStatus.SKIPPED
    assert found["stack.down"].status is CheckStatus.PASSED
    assert not report.ok and report.complete
    assert left_behind(engine, report) == {}


def test_an_interrupt_tears_the_stack_down(
    engine: Engine, python_image: str, compose: str, tmp_path: Path
) -> None:
    manifest = stack_root(tmp_path, python_image, PASSING)
    holder: list[Validation] = []

    def interrupt(event: Event) -> None:
        if event.kind == "stack" and event.message.startswith("smoke step 2/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        validate(engine, load_manifest(manifest), fresh(tmp_path), interrupt, holder.append)
    report = holder[0].report
    assert not report.complete
    found = checks(report)
    assert found["stack.smoke.1"].status is CheckStatus.PASSED
    assert "stack.smoke.2" not in found
    assert found["stack.down"].status is CheckStatus.PASSED
    assert left_behind(engine, report) == {}


def test_a_service_that_never_gets_healthy_fails_its_wait(
    engine: Engine, python_image: str, compose: str, tmp_path: Path
) -> None:
    manifest = stack_root(tmp_path, python_image, PASSING, wait=8)
    # The store's health check can never pass.
    compose_file = tmp_path / "compose.yml"
    compose_file.write_text(
        compose_file.read_text().replace(
            "    volumes: [jobs:/data]\n",
            "    volumes: [jobs:/data]\n"
            "    healthcheck: {test: [CMD, python3, -c, 'raise SystemExit(1)']}\n",
        )
    )
    report = validate(engine, load_manifest(manifest), fresh(tmp_path))
    found = checks(report)
    assert found["stack.up"].status is CheckStatus.FAILED  # compose waited on store for web
    assert "--- store: last 20 log lines ---" in found["stack.up"].message
    assert found["stack.healthy.store"].status is CheckStatus.SKIPPED
    assert "store: running, health " in found["stack.healthy.store"].message
    assert "stack.smoke.1" not in found
    assert found["stack.down"].status is CheckStatus.PASSED
    assert left_behind(engine, report) == {}


def test_reference_stack_phase_transcodes_a_clip(
    engine: Engine, base_image: str, compose: str, tmp_path: Path
) -> None:
    """`validate --profile airgap` of the reference stack, as `make demo` runs it (its two
    stack images only): the transcode goes through API, Redis, the worker and PostgreSQL."""
    manifest = load_manifest(EXAMPLE / "stablebuild.yml", "airgap")
    options = fresh(tmp_path, images=("api", "worker-cpu"))
    started = time.monotonic()
    report = validate(engine, manifest, options)
    seconds = time.monotonic() - started
    found = checks(report)
    assert report.ok, render(report, "terminal")
    assert "reached status: succeeded, encoder: libx264" in found["stack.smoke.3"].message
    assert "aac h264" in found["stack.smoke.4"].message
    assert left_behind(engine, report) == {}
    assert report.stack_phase is not None
    print(f"reference stack: validate {seconds:.0f} s, stack phase {report.stack_phase.seconds} s")
