"""Two real engines: a second dockerd started for this module, with a runtime registered as
`nvidia` that is really runc. Placement, the fake-NVIDIA failure, the copy of a local-only base,
an engine that does not answer at the start and one lost mid-build are exercised.

NOTE: the second daemon gets a bridge of its own plus NAT and FORWARD rules; `--bridge none`
would delete the first daemon's docker0 and break every later build there. All are undone at
the end.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import docker.errors
import pytest
from tests.integration.conftest import write_stack
from tests.support import SESSION_RUN

from stablebuild.engine import Engine
from stablebuild.engine.apiengine import ApiEngine
from stablebuild.engine.client import LABEL_RUN
from stablebuild.engine.engines import connect_available, connect_engine, current_endpoint
from stablebuild.errors import EngineUnavailable
from stablebuild.events import Event
from stablebuild.manifest.load import load_manifest
from stablebuild.manifest.model import EngineSpec
from stablebuild.report.model import BuildStatus, CheckStatus
from stablebuild.validate import ValidateOptions, Validation

pytestmark = pytest.mark.docker


def _sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@contextlib.contextmanager
def dockerd(name: str, prefix: str) -> Iterator[tuple[ApiEngine, subprocess.Popen[bytes]]]:
    """A dockerd of its own (data, exec root, socket, bridge and NAT rule), named `name`, with
    a runtime `nvidia` that is really runc; stopped, and every trace removed, at the end."""
    dockerd, runc = shutil.which("dockerd"), shutil.which("runc")
    if os.geteuid() != 0 or dockerd is None or runc is None or shutil.which("ip") is None:
        pytest.skip("a second engine needs root, dockerd, runc and ip")
    # NOTE: under /tmp, short: a unix socket path has at most 107 bytes.
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    bridge, net = f"sbe2{secrets.token_hex(2)}", f"10.213.{secrets.randbelow(200) + 20}"
    nat = ["POSTROUTING", "-s", f"{net}.0/24", "!", "-o", bridge, "-j", "MASQUERADE"]
    # NOTE: the first daemon sets the FORWARD policy to DROP and lets only its own bridge
    # through: without these two rules the second engine's builds resolve no name at all.
    established = ["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED"]
    forward = [
        ["FORWARD", "-i", bridge, "!", "-o", bridge, "-j", "ACCEPT"],
        ["FORWARD", "-o", bridge, *established, "-j", "ACCEPT"],
    ]
    _sh("ip", "link", "add", bridge, "type", "bridge")
    _sh("ip", "addr", "add", f"{net}.1/24", "dev", bridge)
    _sh("ip", "link", "set", bridge, "up")
    _sh("iptables", "-t", "nat", "-A", *nat)
    for rule in forward:
        _sh("iptables", "-I", *rule)
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
                engine = connect_engine(EngineSpec(name, f"unix://{sock}"), timeout=900)
                break
            except EngineUnavailable:
                if time.monotonic() > deadline or daemon.poll() is not None:
                    pytest.fail(
                        "the second dockerd did not start:\n"
                        + (root / "dockerd.log").read_text()[-3000:]
                    )
                time.sleep(1)
        yield engine, daemon
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()
        with contextlib.suppress(subprocess.CalledProcessError):
            _sh("iptables", "-t", "nat", "-D", *nat)
        for rule in forward:
            with contextlib.suppress(subprocess.CalledProcessError):
                _sh("iptables", "-D", *rule)
        with contextlib.suppress(subprocess.CalledProcessError):
            _sh("ip", "link", "delete", bridge)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def second_engine() -> Iterator[ApiEngine]:
    with dockerd("fake-gpu", "sb-e2-") as (engine, _):
        yield engine


def test_the_first_engine_keeps_its_bridge(engine: Engine, second_engine: ApiEngine) -> None:
    names = {n["Name"] for n in engine.docker.networks()}
    assert "bridge" in names
    assert second_engine.capabilities.nvidia_runtime
    assert second_engine.capabilities.endpoint.startswith("unix:///tmp/sb-e2-")


def test_gpu_image_goes_to_the_nvidia_engine_and_its_encode_fails_for_real(
    engine: Engine,
    second_engine: ApiEngine,
    python_image: str,
    ffmpeg_image: str,
    tmp_path: Path,
) -> None:
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
    first = ApiEngine(engine, name="local")
    options = ValidateOptions(stack=False, use_cache=False)
    started = time.monotonic()
    validation = Validation([first, second_engine], load_manifest(manifest), options)
    report = validation.run()
    print(f"\ntwo engines: {time.monotonic() - started:.1f} s")
    # NOTE: the ffmpeg fixture exists only on the first engine (built there, never pushed):
    # it is copied to the engine the media image goes to, before the build.
    assert validation.bases is not None
    copied = {(base, src, dst): seconds for base, src, dst, seconds in validation.bases.copied}
    print(f"save/load of {ffmpeg_image}: {copied[(ffmpeg_image, 'local', 'fake-gpu')]:.1f} s")
    assert second_engine.image_exists(ffmpeg_image)
    by_name = {image.name: image for image in report.images}
    assert by_name["media"].engine == "fake-gpu"
    assert by_name["app"].engine == "local"
    encode = next(c for c in by_name["media"].checks if c.id == "nvenc.encode.h264_nvenc")
    assert encode.status is CheckStatus.FAILED, encode
    assert "skipped" not in encode.message.lower()
    assert any(word in encode.message for word in ("libcuda", "CUDA", "nvenc", "NVENC")), encode
    with contextlib.suppress(docker.errors.APIError):
        second_engine.engine.docker.remove_image(ffmpeg_image, force=True)


def small_stack(root: Path, base: str, slow: bool = False) -> Path:
    """One image with `gpu:` (so it goes to the engine with the `nvidia` runtime)."""
    step = "RUN sleep 20 && echo done" if slow else "RUN true"
    return write_stack(
        root,
        {
            "media.Dockerfile": f"""
                ARG BASE
                FROM ${{BASE}}
                {step}
                HEALTHCHECK CMD ["true"]
            """,
            "stablebuild.yml": f"""
                version: 1
                name: engines-{"lost" if slow else "skipped"}
                images:
                  media:
                    dockerfile: media.Dockerfile
                    args: {{BASE: "{base}"}}
                    gpu: {{nvenc: [h264_nvenc]}}
            """,
        },
    )


def test_an_engine_that_does_not_answer_is_skipped_and_its_image_goes_to_the_other(
    engine: Engine, base_image: str, tmp_path: Path
) -> None:
    # NOTE: a socket file nobody listens on: what a stopped daemon leaves behind.
    folder = Path(tempfile.mkdtemp(prefix="sb-gone-", dir="/tmp"))
    gone = folder / "docker.sock"
    try:
        with socket.socket(socket.AF_UNIX) as bound:
            bound.bind(str(gone))
            local = EngineSpec("local", current_endpoint()[1])
            warnings: list[str] = []
            engines = connect_available(
                (local, EngineSpec("gpu-host", f"unix://{gone}", ("gpu",))), [], warnings.append
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert warnings == [
        f"warning: engine gpu-host skipped: no Docker engine answers at unix://{gone} "
        "(engine gpu-host); its images go to the others"
    ]
    manifest = load_manifest(small_stack(tmp_path, base_image))
    report = Validation(engines, manifest, ValidateOptions(stack=False, use_cache=False)).run()
    assert report.complete
    (media,) = report.images
    assert media.engine == "local"
    assert media.build.status is BuildStatus.BUILT
    listed = {e["name"]: e for e in report.engine["engines"]}
    assert listed["gpu-host"]["reachable"] is False
    assert listed["gpu-host"]["endpoint"] == f"unix://{gone}"
    assert listed["local"]["reachable"] is True


def test_an_engine_lost_mid_build_has_its_image_retried_on_the_other(
    engine: Engine, base_image: str, tmp_path: Path
) -> None:
    manifest = load_manifest(small_stack(tmp_path, base_image, slow=True))
    first = ApiEngine(engine, name="local")
    with dockerd("doomed-gpu", "sb-e3-") as (doomed, daemon):
        stopped: list[float] = []

        def stop_during_the_sleep(event: Event) -> None:
            if event.kind == "build-step" and "sleep" in event.message and not stopped:
                stopped.append(time.monotonic())  # the first time: on doomed-gpu
                threading.Timer(2.0, daemon.send_signal, (signal.SIGTERM,)).start()

        options = ValidateOptions(stack=False, use_cache=False)
        validation = Validation([first, doomed], manifest, options, stop_during_the_sleep)
        report = validation.run()
        assert daemon.wait(60) is not None  # it really stopped
    assert stopped and report.complete
    (media,) = report.images
    assert media.engine == "local (retried: engine doomed-gpu stopped answering)"
    assert media.build.status is BuildStatus.BUILT
    assert "done" in "\n".join(media.build.log)  # the slow step ran to its end on local
    assert validation.bases is not None
    assert [(b, s, d) for b, s, d, _ in validation.bases.copied] == [
        (base_image, "local", "doomed-gpu")
    ]
    assert validation.lost == {"doomed-gpu"}


def resolves(engine: ApiEngine, image: str, host: str) -> bool:
    """Whether a container on `engine` resolves `host` (as a build's RUN step would)."""
    api = engine.engine.docker
    container = api.create_container(
        image, ["getent", "hosts", host], labels={LABEL_RUN: SESSION_RUN}
    )
    try:
        api.start(container)
        return int(api.wait(container, timeout=60)["StatusCode"]) == 0
    finally:
        api.remove_container(container, force=True)


def test_the_second_engine_reaches_the_network_as_the_first_does(
    engine: Engine, second_engine: ApiEngine, base_image: str
) -> None:
    first = ApiEngine(engine, name="local")
    if not second_engine.image_exists(base_image):
        second_engine.load(first.save(base_image))
    # NOTE: the package mirror the bootstrapped base's sources.list names.
    assert resolves(second_engine, base_image, "deb.debian.org") == resolves(
        first, base_image, "deb.debian.org"
    )
