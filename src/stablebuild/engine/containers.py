"""Short-lived containers: the probe (locked down, no network) and the runtime trial."""

from __future__ import annotations

import contextlib
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import docker.errors
import docker.types
import requests.exceptions

from stablebuild.checks.inputs import ImageMeta, RunOutcome
from stablebuild.engine.client import LABEL_RUN, Engine

EXEC_FAILED = (126, 127)
# NOTE: a process limit counts threads too. 1024 contains a fork bomb, and leaves room for what
# a probe legitimately starts on a big host: libx264 alone runs up to 128 threads, ffmpeg's
# filters and a BLAS import one per CPU.
PROBE_PIDS = 1024
PROBE_CPUS = 2.0  # at most; fewer when the engine has fewer
# A service may run worker processes with thread pools each; the trial only needs to stop one
# that forks without end.
TRIAL_PIDS = 4096


def probe_nano_cpus(engine: Engine) -> int:
    """The probe's CPU limit in billionths of a CPU: PROBE_CPUS, or the engine's count if lower."""
    try:
        available = float(engine.info.get("NCPU") or PROBE_CPUS)
    except (TypeError, ValueError):
        available = PROBE_CPUS
    return int(min(PROBE_CPUS, max(available, 0.01)) * 1_000_000_000)


@dataclass(frozen=True)
class ContainerResult:
    """What one container run left: its exit code and output, or why it could not start."""

    exit_code: int | None
    stdout: str
    stderr: str
    start_error: str | None = None
    timed_out: bool = False
    seconds: float = 0.0

    @property
    def could_not_exec(self) -> bool:
        return self.start_error is not None or self.exit_code in EXEC_FAILED


def run_locked(
    engine: Engine,
    image: str,
    argv: Sequence[str],
    *,
    run_id: str,
    timeout: float = 300.0,
    gpu: bool = False,
    environment: Mapping[str, str] | None = None,
) -> ContainerResult:
    """Run `argv` (entrypoint first) with no network, no capabilities and a read-only root.

    Memory, processes and CPU are limited. The container runs as the image's own user; it is
    always removed.
    """
    result = _run_locked(engine, image, argv, run_id, timeout, gpu, gpu, environment)
    if gpu and result.start_error and "could not select device driver" in result.start_error:
        # NOTE: an engine with an `nvidia` runtime but no GPU device driver for requests (the
        # legacy runtime, or no driver at all): the runtime alone, told by its variables. The
        # encode is then attempted and fails with the driver library's own error.
        nvidia = {
            "NVIDIA_VISIBLE_DEVICES": "all",
            "NVIDIA_DRIVER_CAPABILITIES": "compute,video,utility",
        }
        env = {**nvidia, **(environment or {})}
        result = _run_locked(engine, image, argv, run_id, timeout, gpu, False, env)
    return result


def _run_locked(
    engine: Engine,
    image: str,
    argv: Sequence[str],
    run_id: str,
    timeout: float,
    gpu: bool,
    request_devices: bool,
    environment: Mapping[str, str] | None,
) -> ContainerResult:
    device_requests = (
        [docker.types.DeviceRequest(count=-1, capabilities=[["gpu", "video", "compute"]])]
        if request_devices
        else None
    )
    host_config = engine.api.create_host_config(
        network_mode="none",
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        read_only=True,
        tmpfs={"/tmp": "rw,nosuid,nodev,size=512m"},
        device_requests=device_requests,
        runtime="nvidia" if gpu else None,
        mem_limit="2g",
        pids_limit=PROBE_PIDS,
        nano_cpus=probe_nano_cpus(engine),
    )
    env = {"PYTHONDONTWRITEBYTECODE": "1", "HOME": "/tmp", **(environment or {})}
    started = time.monotonic()
    container = engine.api.create_container(
        image,
        entrypoint=[argv[0]],
        command=list(argv[1:]),
        host_config=host_config,
        labels={LABEL_RUN: run_id},
        environment=env,
        network_disabled=True,
        detach=True,
    )
    cid = container["Id"]
    try:
        try:
            engine.api.start(cid)
        except docker.errors.APIError as exc:
            return ContainerResult(None, "", "", start_error=_explain(exc))
        timed_out = False
        try:
            exit_code = int(engine.api.wait(cid, timeout=timeout)["StatusCode"])
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            timed_out, exit_code = True, -1
            with contextlib.suppress(docker.errors.APIError):
                engine.api.kill(cid)
        stdout = engine.api.logs(cid, stdout=True, stderr=False).decode("utf-8", "replace")
        stderr = engine.api.logs(cid, stdout=False, stderr=True).decode("utf-8", "replace")
        return ContainerResult(
            exit_code, stdout, stderr, timed_out=timed_out, seconds=time.monotonic() - started
        )
    finally:
        with contextlib.suppress(docker.errors.APIError):
            engine.api.remove_container(cid, force=True)


def _explain(exc: docker.errors.APIError) -> str:
    text = str(getattr(exc, "explanation", None) or exc)
    return text.strip().splitlines()[0][:400] if text.strip() else "container did not start"


def image_meta(engine: Engine, image: str, build_seconds: float | None = None) -> ImageMeta:
    """Size, user, healthcheck, env, labels and layer count from `docker image inspect`."""
    data = engine.api.inspect_image(image)
    config = data.get("Config") or {}
    health = config.get("Healthcheck") or {}
    test = health.get("Test")
    healthcheck = tuple(test) if test and test != ["NONE"] else None
    env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
    return ImageMeta(
        image_id=str(data["Id"]),
        size_bytes=int(data.get("Size") or 0),
        user=str(config.get("User") or ""),
        healthcheck=healthcheck,
        env=env,
        labels=dict(config.get("Labels") or {}),
        layers=len((data.get("RootFS") or {}).get("Layers") or []),
        build_seconds=build_seconds,
    )


def trial_run(
    engine: Engine,
    image: str,
    *,
    run_id: str,
    env: Mapping[str, str],
    port: int | None,
    health_path: str | None,
    start_seconds: float,
    command: Sequence[str] = (),
) -> RunOutcome:
    """Start the image as a service would; time it to healthy; always remove it."""
    ports = {port: ("127.0.0.1", None)} if port else None
    healthcheck = _eager_healthcheck(engine, image)
    host_config = engine.api.create_host_config(
        port_bindings=ports,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        mem_limit="2g",
        pids_limit=TRIAL_PIDS,
    )
    container = engine.api.create_container(
        image,
        command=list(command) or None,
        environment=dict(env),
        host_config=host_config,
        ports=[port] if port else None,
        labels={LABEL_RUN: run_id},
        healthcheck=healthcheck,
        detach=True,
    )
    cid = container["Id"]
    started = time.monotonic()
    details: dict[str, Any] = {}
    try:
        try:
            engine.api.start(cid)
        except docker.errors.APIError as exc:
            return RunOutcome(False, False, None, None, None, _explain(exc), None)
        url = _health_url(engine, cid, port, health_path)
        status: str | None = None
        endpoint: int | None = None
        endpoint_error: str | None = None
        exit_code: int | None = None
        healthy = False
        while time.monotonic() - started < start_seconds:
            state = engine.api.inspect_container(cid)["State"]
            status = (state.get("Health") or {}).get("Status")
            if not state.get("Running"):
                exit_code = int(state.get("ExitCode", -1))
                break
            if url:
                endpoint, endpoint_error = _get(url)
            docker_ok = status in (None, "healthy")
            endpoint_ok = url is None or (endpoint is not None and 200 <= endpoint < 300)
            if docker_ok and endpoint_ok and (url or status == "healthy"):
                healthy = True
                break
            time.sleep(0.5)
        seconds = round(time.monotonic() - started, 2) if healthy else None
        logs = ""
        if not healthy:
            logs = engine.api.logs(cid, tail=40).decode("utf-8", "replace")
        details["url"] = url
        return RunOutcome(
            True, healthy, seconds, status, endpoint, endpoint_error, exit_code, logs, details
        )
    finally:
        with contextlib.suppress(docker.errors.APIError):
            engine.api.remove_container(cid, force=True)


def _eager_healthcheck(engine: Engine, image: str) -> dict[str, Any] | None:
    """The image's own HEALTHCHECK test, run every second from the start.

    NOTE: an image may check every 15 s or more; time to healthy should measure the service's
    readiness, not the schedule of its probe. The test itself is the image's, unchanged.
    """
    config = (engine.api.inspect_image(image).get("Config") or {}).get("Healthcheck") or {}
    test = config.get("Test")
    if not test or test == ["NONE"]:
        return None
    return {
        "test": test,
        "interval": 1_000_000_000,
        "timeout": int(config.get("Timeout") or 5_000_000_000),
        "retries": int(config.get("Retries") or 3),
        "start_period": 0,
    }


def _health_url(engine: Engine, cid: str, port: int | None, path: str | None) -> str | None:
    if not port or not path:
        return None
    for _ in range(20):
        bindings = engine.api.inspect_container(cid)["NetworkSettings"]["Ports"] or {}
        published = bindings.get(f"{port}/tcp") or []
        if published:
            return f"http://127.0.0.1:{published[0]['HostPort']}{path}"
        time.sleep(0.1)
    return None


def _get(url: str) -> tuple[int | None, str | None]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status), None
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, OSError) as exc:
        return None, str(getattr(exc, "reason", exc))
