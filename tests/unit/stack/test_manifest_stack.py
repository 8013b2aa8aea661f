"""The manifest's `stack:` section: the spec it builds, and each problem with file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stablebuild.errors import ManifestError
from stablebuild.manifest import load_manifest
from stablebuild.manifest.model import ExecStep, HttpStep, PollSpec

COMPOSE = """\
services:
  api:
    build: .
    ports: ["8000:8000"]
  worker:
    build: .
  postgres:
    image: postgres:15
"""

HEAD = """\
version: 1
name: shop
images:
  api: {dockerfile: Dockerfile}
  worker: {dockerfile: Dockerfile}
"""


def write(root: Path, stack: str, *, extra: dict[str, str] | None = None) -> Path:
    files = {"Dockerfile": "FROM scratch\n", "compose.yml": COMPOSE, **(extra or {})}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    manifest = root / "stablebuild.yml"
    manifest.write_text(HEAD + textwrap.dedent(stack))
    return manifest


def problems(manifest: Path, profile: str | None = None) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest, profile)
    return [str(p).replace(str(manifest), "stablebuild.yml") for p in caught.value.problems]


def test_full_section_builds_the_spec(tmp_path: Path) -> None:
    manifest = write(
        tmp_path,
        """\
        stack:
          compose: [compose.yml, compose.ci.yml]
          services: {api: api, worker: worker}
          profiles: [gpu]
          wait: {healthy: [api, postgres], timeout_seconds: 90}
          smoke:
            - http: {service: api, path: /health}
            - exec: {service: worker, command: "python -m app.smoke --fast", timeout_seconds: 5}
            - http:
                service: api
                method: POST
                path: /jobs
                port: 8000
                json_file: smoke/job.json
                expect_status: 202
                then_poll:
                  path: "/jobs/{id}"
                  until: {status: done, attempts: 1}
                  fail_when: {status: failed}
                  timeout_seconds: 30
                  interval_seconds: 0.5
        """,
        extra={"compose.ci.yml": "services:\n  api: {}\n", "smoke/job.json": '{"n": 1}\n'},
    )
    stack = load_manifest(manifest).stack
    assert stack is not None
    assert stack.compose == (tmp_path / "compose.yml", tmp_path / "compose.ci.yml")
    assert stack.services == {"api": "api", "worker": "worker"}
    assert stack.profiles == ("gpu",)
    assert stack.healthy == ("api", "postgres")
    assert stack.wait_seconds == 90
    health, smoke, job = stack.smoke
    assert health == HttpStep(service="api", path="/health")
    assert smoke == ExecStep("worker", ("python", "-m", "app.smoke", "--fast"), 5.0)
    assert isinstance(job, HttpStep)
    assert (job.method, job.port, job.expect_status, job.json_file) == (
        "POST", 8000, 202, "smoke/job.json",
    )  # fmt: skip
    assert job.json_body == '{"n": 1}\n'
    assert job.then_poll == PollSpec(
        "/jobs/{id}", {"status": "done", "attempts": "1"}, {"status": "failed"}, 30.0, 0.5
    )


def test_defaults_wait_for_the_mapped_services(tmp_path: Path) -> None:
    manifest = write(tmp_path, "stack: {compose: compose.yml, services: {api: api}}\n")
    stack = load_manifest(manifest).stack
    assert stack is not None
    assert stack.healthy == ("api",)
    assert stack.wait_seconds == 120
    assert stack.smoke == ()
    assert load_manifest(write(tmp_path / "none", "")).stack is None


def test_unknown_services_images_and_keys_name_their_line(tmp_path: Path) -> None:
    manifest = write(
        tmp_path,
        """\
        stack:
          compose: [compose.yml]
          services: {apii: api, worker: wroker}
          wait: {healthy: [postgress], timout: 3}
          smoke:
            - exec: {service: redis, command: [true]}
        """,
    )
    assert problems(manifest) == [
        "stablebuild.yml:8: stack.services.apii: no service 'apii' in the compose files "
        "(did you mean 'api'?); known: api, postgres, worker",
        "stablebuild.yml:8: stack.services.worker: no image 'wroker' in images: "
        "(did you mean 'worker'?); known: api, worker",
        "stablebuild.yml:9: stack.wait.timout: unknown key 'timout'; known keys: healthy, "
        "timeout_seconds",
        "stablebuild.yml:9: stack.wait.healthy[0]: no service 'postgress' in the compose files "
        "(did you mean 'postgres'?); known: api, postgres, worker",
        "stablebuild.yml:11: stack.smoke[0].exec.service: no service 'redis' in the compose "
        "files; known: api, postgres, worker",
    ]  # fmt: skip


def test_missing_and_wrong_values(tmp_path: Path) -> None:
    manifest = write(
        tmp_path,
        """\
        stack:
          compose: [compose.yml, missing.yml]
          services: {api: api}
          build: [api]
          wait: {timeout_seconds: 7200}
          smoke:
            - {http: {service: api, path: /a}, exec: {service: api, command: x}}
            - http: {service: api, path: health, expect_status: 700, json_file: bad.json, form: {a: b}}
            - http:
                service: api
                path: /jobs
                then_poll: {path: "/jobs/{id} x", interval_seconds: 100}
            - exec: {service: api}
            - http: {path: /x, method: get}
        """,  # noqa: E501
        extra={"bad.json": "{not json"},
    )
    found = problems(manifest)
    expected = [
        (7, "stack.compose[1]: 'missing.yml' does not exist"),
        (9, "stack.build[0]: service 'api' runs its validated image; it is not built"),
        (10, "stack.wait.timeout_seconds: timeout_seconds must be at most 3600, not 7200"),
        (12, "stack.smoke[0]: a smoke step is one `http:` or one `exec:`"),
        (13, "stack.smoke[1].http.path: path 'health' must start with /"),
        (13, "stack.smoke[1].http.expect_status: 700 is not an HTTP status (100-599)"),
        (13, "stack.smoke[1].http.json_file: 'bad.json' is not valid JSON"),
        (13, "stack.smoke[1].http.form: send `json_file:` or `form:`, not both"),
        (17, "stack.smoke[2].http.then_poll.path: path '/jobs/{id} x' is not a URL path"),
        (17, "stack.smoke[2].http.then_poll: `then_poll:` needs `until:`"),
        (17, "stack.smoke[2].http.then_poll.interval_seconds: interval_seconds (100) is longer "
             "than timeout_seconds (60)"),
        (18, "stack.smoke[3].exec: an exec step needs a `command:`"),
        (19, "stack.smoke[4].http.method: must be one of GET, POST, PUT, PATCH, DELETE"),
        (19, "stack.smoke[4].http: a smoke step needs `service:`"),
    ]  # fmt: skip
    for line, start in expected:
        where = f"stablebuild.yml:{line}: {start}"
        assert any(problem.startswith(where) for problem in found), (where, found)
    assert len(found) == len(expected), found


def test_a_stack_needs_compose_files_and_mapped_services(tmp_path: Path) -> None:
    manifest = write(tmp_path, "stack: {wait: {timeout_seconds: 5}}\n")
    assert problems(manifest) == [
        "stablebuild.yml:6: stack: `stack:` needs `compose:`, the compose files to run",
        "stablebuild.yml:6: stack: `stack:` needs `services:`, each compose service that runs a "
        "manifest image (e.g. {api: api})",
    ]


def test_shapes_are_checked_like_every_other_key(tmp_path: Path) -> None:
    manifest = write(tmp_path, "stack: {compose: compose.yml, services: [api], smoke: {a: 1}}\n")
    assert problems(manifest) == [
        "stablebuild.yml:6: stack.services: must be a mapping of names to strings, not a list",
        "stablebuild.yml:6: stack.smoke: must be a list, not a mapping",
    ]


def test_a_profile_replaces_the_compose_files_and_keeps_the_smoke_steps(tmp_path: Path) -> None:
    manifest = write(
        tmp_path,
        """\
        stack:
          compose: compose.yml
          services: {api: api}
          smoke: [{http: {service: api, path: /health}}]
        profiles:
          airgap:
            stack: {compose: [compose.yml, compose.airgap.yml], build: [postgres]}
        """,
        extra={"compose.airgap.yml": "services:\n  postgres: {build: pg}\n"},
    )
    base = load_manifest(manifest).stack
    airgap = load_manifest(manifest, "airgap").stack
    assert base is not None and airgap is not None
    assert base.compose == (tmp_path / "compose.yml",) and base.build == ()
    assert airgap.compose == (tmp_path / "compose.yml", tmp_path / "compose.airgap.yml")
    assert airgap.build == ("postgres",)
    assert airgap.smoke == base.smoke


def test_a_compose_file_outside_the_stack_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.yml").write_text(COMPOSE)
    root = tmp_path / "stack"
    root.mkdir()
    manifest = write(root, "stack: {compose: ../elsewhere.yml, services: {api: api}}\n")
    (found,) = problems(manifest)
    assert found.startswith("stablebuild.yml:6: stack.compose: '../elsewhere.yml'")
    assert "outside the stack folder" in found


def test_the_reference_stack_declares_a_real_transcode() -> None:
    example = Path(__file__).resolve().parents[3] / "examples" / "ffmpeg-api"
    stack = load_manifest(example / "stablebuild.yml", "airgap").stack
    assert stack is not None
    assert stack.services == {"api": "api", "worker-cpu": "worker-cpu"}
    assert stack.build == ("postgres", "redis")
    assert set(stack.healthy) == {"api", "worker-cpu", "postgres", "redis"}
    kinds = [type(step).__name__ for step in stack.smoke]
    assert kinds == ["HttpStep", "ExecStep", "HttpStep", "ExecStep"]
    job = stack.smoke[2]
    assert isinstance(job, HttpStep) and job.then_poll is not None
    assert job.then_poll.until == {"status": "succeeded", "encoder": "libx264"}
    verify = stack.smoke[3]
    assert isinstance(verify, ExecStep) and "ffprobe" in verify.command[-1]
