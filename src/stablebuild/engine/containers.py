"""Short-lived containers: the probe (locked down, no network) and the runtime trial."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from stablebuild.checks.inputs import ImageMeta, RunOutcome
from stablebuild.engine.api import ApiError, TimedOut
from stablebuild.engine.client import LABEL_RUN, Engine

EXEC_FAILED = (126, 127)
# NOTE: a process limit counts threads too. 1024 contains a fork bomb, and leaves room for what
# a probe legitimately starts on a big host: libx264 alone runs up to 128 threads, ffmpeg's
# filters and a BLAS import one per CPU.
PROBE_PIDS = 1024
PROBE_CPUS = 2.0  # at most; fewer when the engine has fewer
PROBE_MEMORY = 2 * 1024**3
TRIAL_MEMORY = 2 * 1024**3
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


class ContainerResult(NamedTuple):
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
    host_config: dict[str, Any] = {
        "NetworkMode": "none",
        "CapDrop": ["ALL"],
        "SecurityOpt": ["no-new-privileges"],
        "ReadonlyRootfs": True,
        "Tmpfs": {"/tmp": "rw,nosuid,nodev,size=512m"},
        "Memory": PROBE_MEMORY,
        "PidsLimit": PROBE_PIDS,
        "NanoCpus": probe_nano_cpus(engine),
    }
    if request_devices:
        host_config["DeviceRequests"] = [
            {"Driver": "", "Count": -1, "DeviceIDs": None,
             "Capabilities": [["gpu", "video", "compute"]], "Options": {}}
        ]  # fmt: skip
    if gpu:
        host_config["Runtime"] = "nvidia"
    env = {"PYTHONDONTWRITEBYTECODE": "1", "HOME": "/tmp", **(environment or {})}
    started = time.monotonic()
    cid = engine.api.create_container(
        {
            "Image": image,
            "Entrypoint": [argv[0]],
            "Cmd": list(argv[1:]),
            "Env": [f"{name}={value}" for name, value in env.items()],
            "Labels": {LABEL_RUN: run_id},
            "NetworkDisabled": True,
            "AttachStdout": False,
            "AttachStderr": False,
            "HostConfig": host_config,
        }
    )
    try:
        try:
            engine.api.start(cid)
        except ApiError as exc:
            return ContainerResult(None, "", "", start_error=_explain(exc))
        timed_out = False
        try:
            exit_code = engine.api.wait(cid, timeout=timeout)
        except TimedOut:
            timed_out, exit_code = True, -1
            with contextlib.suppress(ApiError):
                engine.api.kill(cid)
        out, err = engine.api.logs(cid)
        return ContainerResult(
            exit_code,
            out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"),
            timed_out=timed_out,
            seconds=time.monotonic() - started,
        )
    finally:
        with contextlib.suppress(ApiError):
            engine.api.remove_container(cid)


def _explain(exc: ApiError) -> str:
    return exc.first_line("container did not start")


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
    healthcheck = _eager_healthcheck(engine, image)
    host_config: dict[str, Any] = {
        "CapDrop": ["ALL"],
        "SecurityOpt": ["no-new-privileges"],
        "Memory": TRIAL_MEMORY,
        "PidsLimit": TRIAL_PIDS,
    }
    config: dict[str, Any] = {
        "Image": image,
        "Env": [f"{name}={value}" for name, value in env.items()],
        "Labels": {LABEL_RUN: run_id},
        "HostConfig": host_config,
    }
    if command:
        config["Cmd"] = list(command)
    if port:
        config["ExposedPorts"] = {f"{port}/tcp": {}}
        host_config["PortBindings"] = {f"{port}/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}
    if healthcheck:
        config["Healthcheck"] = healthcheck
    cid = engine.api.create_container(config)
    started = time.monotonic()
    details: dict[str, Any] = {}
    try:
        try:
            engine.api.start(cid)
        except ApiError as exc:
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
            logs = engine.api.log_text(cid, tail=40).decode("utf-8", "replace")
        details["url"] = url
        return RunOutcome(
            True, healthy, seconds, status, endpoint, endpoint_error, exit_code, logs, details
        )
    finally:
        with contextlib.suppress(ApiError):
            engine.api.remove_container(cid)


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
        "Test": test,
        "Interval": 1_000_000_000,
        "Timeout": int(config.get("Timeout") or 5_000_000_000),
        "Retries": int(config.get("Retries") or 3),
        "StartPeriod": 0,
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
    # NOTE: here: urllib.request loads http.client and the e-mail parser (~30 ms), and only a
    # trial run with a health endpoint asks.
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status), None
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, OSError) as exc:
        return None, str(getattr(exc, "reason", exc))
