"""Two real engines: a second dockerd started for this module, with a runtime registered as
`nvidia` that is really runc. Placement, the fake-NVIDIA failure and save/load are exercised.

NOTE: the second daemon gets a bridge of its own plus a NAT rule; `--bridge none` would delete
the first daemon's docker0 and break every later build there. Both are undone at the end.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import docker.errors
import pytest
from tests.integration.conftest import write_stack

from stablebuild.engine import Engine
from stablebuild.engine.dockerpy import DockerPyEngine
from stablebuild.engine.engines import connect_engine
from stablebuild.errors import EngineUnavailable
from stablebuild.manifest.load import load_manifest
from stablebuild.manifest.model import EngineSpec
from stablebuild.report.model import CheckStatus
from stablebuild.validate import ValidateOptions, Validation

pytestmark = pytest.mark.docker


def _sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@pytest.fixture(scope="module")
def second_engine() -> Iterator[DockerPyEngine]:
    dockerd, runc = shutil.which("dockerd"), shutil.which("runc")
    if os.geteuid() != 0 or dockerd is None or runc is None or shutil.which("ip") is None:
        pytest.skip("a second engine needs root, dockerd, runc and ip")
    # NOTE: under /tmp, short: a unix socket path has at most 107 bytes.
    root = Path(tempfile.mkdtemp(prefix="sb-e2-", dir="/tmp"))
    bridge, net = f"sbe2{secrets.token_hex(2)}", f"10.213.{secrets.randbelow(200) + 20}"
    nat = ["POSTROUTING", "-s", f"{net}.0/24", "!", "-o", bridge, "-j", "MASQUERADE"]
    _sh("ip", "link", "add", bridge, "type", "bridge")
    _sh("ip", "addr", "add", f"{net}.1/24", "dev", bridge)
    _sh("ip", "link", "set", bridge, "up")
    _sh("iptables", "-t", "nat", "-A", *nat)
    log = (root / "dockerd.log").open("w")
    sock = root / "docker.sock"
    daemon = subprocess.Popen(
        [
            dockerd,
            f"--data-root={root / 'data'}",
            f"--exec-root={root / 'exec'}",
            f"--pidfile={root / 'docker.pid'}",
            f"--host=unix://{sock}",
            "--iptables=false",
            f"--bridge={bridge}",
            f"--add-runtime=nvidia={runc}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                engine = connect_engine(EngineSpec("fake-gpu", f"unix://{sock}"), timeout=900)
                break
            except EngineUnavailable:
                if time.monotonic() > deadline or daemon.poll() is not None:
                    pytest.fail(
                        "the second dockerd did not start:\n"
                        + (root / "dockerd.log").read_text()[-3000:]
                    )
                time.sleep(1)
        yield engine
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()
        with contextlib.suppress(subprocess.CalledProcessError):
            _sh("iptables", "-t", "nat", "-D", *nat)
        with contextlib.suppress(subprocess.CalledProcessError):
            _sh("ip", "link", "delete", bridge)
        shutil.rmtree(root, ignore_errors=True)


def transfer(source: Engine, target: DockerPyEngine, ref: str) -> float:
    """docker save | docker load, streamed; the seconds it took."""
    started = time.monotonic()
    target.engine.api.load_image(source.api.get_image(ref))
    return time.monotonic() - started


def test_the_first_engine_keeps_its_bridge(engine: Engine, second_engine: DockerPyEngine) -> None:
    names = {n["Name"] for n in engine.api.networks()}
    assert "bridge" in names
    assert second_engine.capabilities.nvidia_runtime
    assert second_engine.capabilities.endpoint.startswith("unix:///tmp/sb-e2-")


def test_gpu_image_goes_to_the_nvidia_engine_and_its_encode_fails_for_real(
    engine: Engine,
    second_engine: DockerPyEngine,
    python_image: str,
    ffmpeg_image: str,
    tmp_path: Path,
) -> None:
    seconds = transfer(engine, second_engine, ffmpeg_image)
    print(f"\nsave/load of {ffmpeg_image} to the second engine: {seconds:.1f} s")
    assert second_engine.image_exists(ffmpeg_image)
    manifest = write_stack(
        tmp_path,
        {
            "app.Dockerfile": """
                ARG BASE
                FROM ${BASE}
                HEALTHCHECK CMD ["true"]
            """,
            "media.Dockerfile": """
                ARG MEDIA
                FROM ${MEDIA}
                HEALTHCHECK CMD ["ffmpeg", "-version"]
            """,
            "stablebuild.yml": f"""
                version: 1
                name: two-engines
                python: "3.11"
                images:
                  app:
                    dockerfile: app.Dockerfile
                    args: {{BASE: "{python_image}"}}
                    interpreter: /opt/venv/bin/python
                    imports: [six]
                  media:
                    dockerfile: media.Dockerfile
                    args: {{MEDIA: "{ffmpeg_image}"}}
                    interpreter: /opt/venv/bin/python
                    gpu: {{nvenc: [h264_nvenc]}}
            """,
        },
    )
    first = DockerPyEngine(engine, name="local")
    options = ValidateOptions(stack=False, use_cache=False)
    started = time.monotonic()
    report = Validation([first, second_engine], load_manifest(manifest), options).run()
    print(f"two engines: {time.monotonic() - started:.1f} s")
    by_name = {image.name: image for image in report.images}
    assert by_name["media"].engine == "fake-gpu"
    assert by_name["app"].engine == "local"
    encode = next(c for c in by_name["media"].checks if c.id == "nvenc.encode.h264_nvenc")
    assert encode.status is CheckStatus.FAILED, encode
    assert "skipped" not in encode.message.lower()
    assert any(word in encode.message for word in ("libcuda", "CUDA", "nvenc", "NVENC")), encode
    with contextlib.suppress(docker.errors.APIError):
        second_engine.engine.api.remove_image(ffmpeg_image, force=True)
