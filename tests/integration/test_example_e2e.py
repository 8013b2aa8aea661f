"""The reference stack end to end on a real engine: build, start, transcode, probe, tear down.

Images build FROM the air-gapped base (no registry is needed); postgres and redis come from
Debian's packages (examples/ffmpeg-api/docker/{postgres,redis}). Everything the test creates
carries `org.stablebuild.run=<session>-e2e-<random>` and is removed at the end; image tags are
removed without pruning their untagged parents, so the layer cache survives for the next run
(STABLEBUILD_E2E_PRUNE=1 removes those too).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import httpx
import pytest
from docker.models.containers import Container
from tests.support import BASE_IMAGE, SESSION_RUN

from stablebuild.engine.client import LABEL_RUN

pytestmark = pytest.mark.docker

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ffmpeg-api"
DB_PASSWORD = "e2e-" + secrets.token_hex(6)
CLIP_SECONDS = 2.0
# Keep the untagged parent layers (the build cache) unless asked: the next run then rebuilds
# only the final labelled layer instead of the whole stack.
PRUNE = os.environ.get("STABLEBUILD_E2E_PRUNE") == "1"


@dataclass
class Created:
    """What the test made, so the teardown removes exactly that."""

    containers: list[Container] = field(default_factory=list)
    networks: list[Any] = field(default_factory=list)
    volumes: list[Any] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    def remove_all(self, client: docker.DockerClient) -> None:
        for container in reversed(self.containers):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True, v=True)
        for network in self.networks:
            network.remove()
        for volume in self.volumes:
            volume.remove(force=True)
        for tag in self.tags:
            with contextlib.suppress(docker.errors.ImageNotFound):
                client.images.remove(tag, noprune=not PRUNE)


@dataclass(frozen=True)
class Stack:
    client: docker.DockerClient
    run_id: str
    api_url: str
    worker_image: str
    created: Created


def _build(client: docker.DockerClient, run_id: str, name: str, created: Created,
           **kwargs: Any) -> str:  # fmt: skip
    tag = f"stablebuild-e2e/{name}:{run_id}"
    buildargs = {"BASE_IMAGE": BASE_IMAGE, **kwargs.pop("buildargs", {})}
    try:
        client.images.build(
            tag=tag, buildargs=buildargs, labels={LABEL_RUN: run_id}, rm=True, forcerm=True,
            **kwargs,
        )  # fmt: skip
    except docker.errors.BuildError as exc:
        log = "".join(str(chunk.get("stream", chunk.get("error", ""))) for chunk in exc.build_log)
        pytest.fail(f"building {name} failed: {exc}\n{log[-4000:]}")
    created.tags.append(tag)
    return tag


def _start(client: docker.DockerClient, created: Created, image: str, name: str,
           **kwargs: Any) -> Container:  # fmt: skip
    container = client.containers.run(image, name=name, detach=True, **kwargs)
    created.containers.append(container)
    return container


def _wait_healthy(container: Container, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        container.reload()
        health = container.attrs["State"].get("Health", {}).get("Status")
        if health == "healthy":
            return
        if container.status == "exited":
            break
        time.sleep(1)
    logs = container.logs(tail=40).decode(errors="replace")
    pytest.fail(f"{container.name} not healthy ({container.status}):\n{logs}")


def _run_once(stack: Stack, command: list[str], put: dict[str, bytes] | None = None) -> Container:
    """Run `command` in the worker image to completion (files `put` into /tmp first)."""
    container = stack.client.containers.create(
        stack.worker_image, command=command, labels={LABEL_RUN: stack.run_id}, network_disabled=True
    )
    stack.created.containers.append(container)
    if put:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for name, data in put.items():
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.uid, info.gid = len(data), 0o644, 1000, 1000
                tar.addfile(info, io.BytesIO(data))
        container.put_archive("/tmp", buffer.getvalue())
    container.start()
    status = container.wait(timeout=120)
    if status["StatusCode"] != 0:
        logs = container.logs().decode(errors="replace")
        pytest.fail(f"{command[0]} exited {status['StatusCode']}:\n{logs[-3000:]}")
    return container


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    client = docker.from_env(timeout=1800)
    try:
        client.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.skip(f"{BASE_IMAGE} is missing: run `make base`")
    run_id = f"{SESSION_RUN}-e2e-{secrets.token_hex(4)}"
    labels = {LABEL_RUN: run_id}
    created = Created()
    try:
        path = str(EXAMPLE)
        api = _build(client, run_id, "api", created, path=path,
                     dockerfile="docker/api/Dockerfile", target="runtime")  # fmt: skip
        worker = _build(client, run_id, "worker-cpu", created, path=path,
                        dockerfile="docker/worker/Dockerfile", target="runtime",
                        buildargs={"WORKER_TYPE": "cpu"})  # fmt: skip
        postgres = _build(
            client, run_id, "postgres", created, path=str(EXAMPLE / "docker/postgres")
        )
        redis = _build(client, run_id, "redis", created, path=str(EXAMPLE / "docker/redis"))

        network = client.networks.create(f"sb-{run_id}", driver="bridge", labels=labels)
        created.networks.append(network)
        media = client.volumes.create(name=f"sb-{run_id}-media", labels=labels)
        created.volumes.append(media)

        db_host, broker_host = f"{run_id}-postgres", f"{run_id}-redis"
        env = {
            "DATABASE_URL": f"postgresql+psycopg2://rendiff:{DB_PASSWORD}@{db_host}:5432/rendiff",
            "BROKER_URL": f"redis://{broker_host}:6379/0",
        }
        common = {"network": network.name, "labels": labels}
        pg = _start(client, created, postgres, db_host, **common, environment={
            "POSTGRES_USER": "rendiff", "POSTGRES_PASSWORD": DB_PASSWORD, "POSTGRES_DB": "rendiff",
        })  # fmt: skip
        rd = _start(client, created, redis, broker_host, **common)
        _wait_healthy(pg)
        _wait_healthy(rd)
        volumes = {media.name: {"bind": "/data", "mode": "rw"}}
        api_box = _start(client, created, api, f"{run_id}-api", **common, environment=env,
                         volumes=volumes, ports={"8000/tcp": ("127.0.0.1", None)})  # fmt: skip
        worker_box = _start(client, created, worker, f"{run_id}-worker-cpu", **common,
                            environment=env, volumes=volumes)  # fmt: skip
        _wait_healthy(api_box)
        _wait_healthy(worker_box)
        api_box.reload()
        port = api_box.ports["8000/tcp"][0]["HostPort"]
        yield Stack(client, run_id, f"http://127.0.0.1:{port}", worker, created)
    finally:
        created.remove_all(client)
        client.close()


@pytest.fixture(scope="module")
def clip(stack: Stack) -> bytes:
    """A 2 s clip with a tone, made by the worker image's own FFmpeg (MPEG-4 part 2 + PCM)."""
    command = [
        "ffmpeg", "-hide_banner", "-loglevel", "error",
        "-f", "lavfi", "-i", f"testsrc=duration={CLIP_SECONDS:g}:size=320x240:rate=25",
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={CLIP_SECONDS:g}",
        "-c:v", "mpeg4", "-c:a", "pcm_s16le", "/tmp/clip.mkv",
    ]  # fmt: skip
    container = _run_once(stack, command)
    chunks, _ = container.get_archive("/tmp/clip.mkv")
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
        member = tar.extractfile("clip.mkv")
        assert member is not None
        return member.read()


def _ffprobe(stack: Stack, data: bytes) -> dict[str, Any]:
    command = ["ffprobe", "-v", "error", "-print_format", "json", "-show_format",
               "-show_streams", "/tmp/out.mp4"]  # fmt: skip
    container = _run_once(stack, command, put={"out.mp4": data})
    result: dict[str, Any] = json.loads(container.logs(stdout=True, stderr=False))
    return result


def test_health_sees_database_and_broker(stack: Stack) -> None:
    response = httpx.get(f"{stack.api_url}/api/v1/health", timeout=10)
    assert response.status_code == 200, response.text
    assert all(check["ok"] for check in response.json()["checks"].values())


def test_capabilities_come_from_a_real_probe_encode(stack: Stack) -> None:
    body = httpx.get(f"{stack.api_url}/api/v1/capabilities", timeout=10).json()
    (worker,) = body["workers"]
    assert worker["worker_type"] == "cpu"
    assert {"libx264", "libx265", "aac"} <= set(body["working"])
    # Debian's FFmpeg has NVENC compiled in; without a GPU its probe encode fails.
    assert "h264_nvenc" in worker["compiled_in"]
    assert "h264_nvenc" in body["compiled_only"]


def test_upload_is_transcoded_to_h264(stack: Stack, clip: bytes) -> None:
    with httpx.Client(base_url=stack.api_url, timeout=30) as http:
        response = http.post(
            "/api/v1/jobs",
            files={"file": ("clip.mkv", clip, "video/x-matroska")},
            data={"video_codec": "h264", "container": "mp4"},
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]

        deadline = time.monotonic() + 180
        job: dict[str, Any] = {}
        while time.monotonic() < deadline:
            job = http.get(f"/api/v1/jobs/{job_id}").json()
            if job["status"] in ("succeeded", "failed"):
                break
            time.sleep(1)
        assert job.get("status") == "succeeded", job
        assert job["encoder"] == "libx264"
        assert job["queue"] == "cpu"

        output = http.get(f"/api/v1/jobs/{job_id}/output")
        assert output.status_code == 200
        assert output.headers["content-type"] == "video/mp4"

    probe = _ffprobe(stack, output.content)
    codecs = {stream["codec_type"]: stream["codec_name"] for stream in probe["streams"]}
    assert codecs == {"video": "h264", "audio": "aac"}
    assert float(probe["format"]["duration"]) == pytest.approx(CLIP_SECONDS, abs=0.15)
