"""The engine's compose, and what a compose project holds on the engine.

`find_compose` picks `docker compose` (v2) where present, else `docker-compose` (v1, Debian's
package). Every subcommand runs in its own process group with a timeout, killed whole when the
time is up or the user interrupts, and a failure becomes a `ComposeError` with compose's own last
words. Containers, their health and logs, and a project's leftovers are read through the
engine's API, which both compose versions label alike (`com.docker.compose.project`).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from stablebuild.engine.api import FAILURES, ApiError
from stablebuild.engine.cleanup import remove_networks_and_volumes
from stablebuild.engine.client import LABEL_RUN, Engine
from stablebuild.errors import EngineError

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
ONEOFF_LABEL = "com.docker.compose.oneoff"
INSTALL_HINT = (
    "install compose: `make engine` (as root on Debian: apt-get install docker-compose), "
    "or the docker compose plugin"
)
VERSION_TIMEOUT = 20.0
STOP_SECONDS = 1  # containers are removed right after: a graceful stop buys nothing
OUTPUT_LINES = 15
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class ComposeError(EngineError):
    """A compose command failed or ran out of time; `output` holds its last lines."""

    def __init__(self, message: str, hint: str = "", output: str = "") -> None:
        super().__init__(message, hint)
        self.output = output


class ComposeUnavailable(ComposeError):
    """Neither `docker compose` nor `docker-compose` runs here."""


@dataclass(frozen=True)
class CommandResult:
    """What one compose command left: exit code, output, time; `timed_out` when killed."""

    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False

    @property
    def output(self) -> str:
        """stdout and stderr, colour codes removed (compose v1 writes progress to stderr)."""
        return _ANSI.sub("", "\n".join(part for part in (self.stdout, self.stderr) if part))


def run_command(
    argv: Sequence[str], *, timeout: float, cwd: Path | None = None, input: str | None = None
) -> CommandResult:
    """Run `argv` in a new process group; kill the group on timeout or interrupt.

    NOTE: its own group, so that a Ctrl-C in the terminal reaches stablebuild only: it then
    kills the command itself and tears the stack down in order, instead of compose handling
    the signal half-way.
    """
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
        )
    except OSError as exc:
        message = f"{argv[0]} cannot run: {exc.strerror or exc}"
        raise ComposeUnavailable(message, INSTALL_HINT) from None
    try:
        stdout, stderr = process.communicate(input, timeout=max(timeout, 0.1))
    except subprocess.TimeoutExpired:
        _kill_group(process)
        stdout, stderr = process.communicate()
        return CommandResult(-1, stdout, stderr, time.monotonic() - started, timed_out=True)
    except BaseException:
        _kill_group(process)
        process.wait()
        raise
    return CommandResult(process.returncode, stdout, stderr, time.monotonic() - started)


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def tail(text: str, lines: int = OUTPUT_LINES) -> str:
    kept = [line.rstrip() for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def find_compose(timeout: float = VERSION_TIMEOUT) -> tuple[tuple[str, ...], str]:
    """The compose command line and its version: `docker compose` (v2), else `docker-compose`."""
    candidates: list[tuple[str, ...]] = []
    if shutil.which("docker"):
        candidates.append(("docker", "compose"))
    if shutil.which("docker-compose"):
        candidates.append(("docker-compose",))
    for command in candidates:
        result = run_command([*command, "version", "--short"], timeout=timeout)
        if result.exit_code == 0 and result.stdout.strip():
            return command, result.stdout.strip().splitlines()[0].lstrip("v")
    raise ComposeUnavailable("no compose found (neither `docker compose` nor `docker-compose`)",
                             INSTALL_HINT)  # fmt: skip


@dataclass(frozen=True)
class Compose:
    """One compose project: the command, its files, its name. Methods raise `ComposeError`."""

    command: tuple[str, ...]
    version: str
    project: str
    files: tuple[Path, ...]
    directory: Path  # the project directory: relative paths and `.env` resolve against it
    profiles: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)

    def with_files(self, *files: Path) -> Compose:
        return replace(self, files=tuple(files))

    def argv(self, *args: str) -> list[str]:
        argv = [*self.command, "--project-name", self.project]
        argv += ["--project-directory", str(self.directory)]
        for file in self.files:
            argv += ["--file", str(file)]
        for profile in self.profiles:
            argv += ["--profile", profile]
        return [*argv, *args]

    def run(self, *args: str, timeout: float, check: bool = True) -> CommandResult:
        result = run_command(self.argv(*args), timeout=timeout, cwd=self.directory)
        if check and result.timed_out:
            raise ComposeError(
                f"`compose {args[0]}` did not finish within {timeout:.0f} s",
                output=tail(result.output),
            )
        if check and result.exit_code != 0:
            last = tail(result.output, 1) or f"exit code {result.exit_code}"
            raise ComposeError(f"`compose {args[0]}` failed: {last}", output=tail(result.output))
        return result

    def config(self, timeout: float = 60.0) -> dict[str, Any]:
        """The merged model of the project's files, as compose itself reads them."""
        result = self.run("config", timeout=timeout)
        try:
            model = yaml.safe_load(result.stdout)
        except yaml.YAMLError as exc:
            raise ComposeError(f"`compose config` printed no YAML: {exc}") from None
        if not isinstance(model, dict) or not isinstance(model.get("services"), dict):
            raise ComposeError("`compose config` printed no services")
        return model

    def build(self, services: Sequence[str], timeout: float) -> CommandResult:
        return self.run("build", *services, timeout=timeout)

    def up(self, timeout: float) -> CommandResult:
        return self.run("up", "--detach", "--no-build", timeout=timeout)

    def down(self, timeout: float = 120.0) -> CommandResult:
        return self.run(
            "down", "--volumes", "--remove-orphans", "--timeout", str(STOP_SECONDS),
            timeout=timeout,
        )  # fmt: skip

    def exec(self, service: str, command: Sequence[str], timeout: float) -> CommandResult:
        """`command` in the service's running container; the result whatever its exit code."""
        return self.run("exec", "-T", service, *command, timeout=timeout, check=False)


# --- the project on the engine ----------------------------------------------------------------


@dataclass(frozen=True)
class ServiceState:
    """One container of a service, as the engine sees it now."""

    service: str
    container: str  # id
    name: str
    status: str  # created | running | restarting | exited | dead...
    health: str | None  # starting | healthy | unhealthy; None: the container has no check
    exit_code: int | None = None
    restarts: int = 0
    health_output: str = ""  # the last health check's output
    ports: Mapping[str, str] = field(default_factory=dict)  # "8000/tcp" -> host port

    @property
    def running(self) -> bool:
        return self.status == "running"


def service_states(engine: Engine, project: str) -> dict[str, list[ServiceState]]:
    """The project's service containers (one-off `run` containers left out), by service."""
    states: dict[str, list[ServiceState]] = {}
    for summary in engine.api.containers(label=[f"{PROJECT_LABEL}={project}"]):
        labels = summary.get("Labels") or {}
        if labels.get(ONEOFF_LABEL) == "True":
            continue
        try:
            data = engine.api.inspect_container(summary["Id"])
        except ApiError:  # removed meanwhile (404), or being removed (409)
            continue
        state = _state(labels.get(SERVICE_LABEL, "?"), data)
        states.setdefault(state.service, []).append(state)
    return states


def _state(service: str, data: Mapping[str, Any]) -> ServiceState:
    state = data.get("State") or {}
    health = state.get("Health") or {}
    log = health.get("Log") or []
    ports: dict[str, str] = {}
    for key, bindings in ((data.get("NetworkSettings") or {}).get("Ports") or {}).items():
        if bindings:
            ports[key] = str(bindings[0].get("HostPort", ""))
    running = bool(state.get("Running"))
    return ServiceState(
        service=service,
        container=str(data.get("Id", "")),
        name=str(data.get("Name", "")).lstrip("/"),
        status=str(state.get("Status") or ("running" if running else "unknown")),
        health=health.get("Status") or None,
        exit_code=None if running else _int(state.get("ExitCode")),
        restarts=_int(data.get("RestartCount")) or 0,
        health_output=str(log[-1].get("Output", "")).strip() if log else "",
        ports=ports,
    )


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def container_logs(engine: Engine, container: str, lines: int = 40) -> str:
    """The last `lines` of a container's output (stdout and stderr); "" when it is gone."""
    try:
        raw = engine.api.log_text(container, tail=lines)
    except FAILURES:
        return ""
    return _ANSI.sub("", raw.decode("utf-8", "replace"))


@dataclass(frozen=True)
class Leftovers:
    """What is still on the engine of a project, or of a run: names, by kind."""

    containers: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.containers or self.networks or self.volumes)

    def __str__(self) -> str:
        parts = [
            f"{kind} {', '.join(names)}"
            for kind, names in (
                ("containers", self.containers),
                ("networks", self.networks),
                ("volumes", self.volumes),
            )
            if names
        ]
        return "; ".join(parts) or "nothing"


def _labels(project: str, run_id: str) -> list[str]:
    return [f"{PROJECT_LABEL}={project}", f"{LABEL_RUN}={run_id}"]


def leftovers(engine: Engine, project: str, run_id: str) -> Leftovers:
    """Containers, networks and volumes labelled with the project or with the run."""
    containers: dict[str, str] = {}
    networks: dict[str, str] = {}
    volumes: set[str] = set()
    for label in _labels(project, run_id):
        for item in engine.api.containers(label=label):
            containers[item["Id"]] = str((item.get("Names") or [item["Id"]])[0]).lstrip("/")
        for item in engine.api.networks(label=label):
            networks[item["Id"]] = str(item.get("Name", item["Id"]))
        for item in engine.api.volumes(label=label):
            volumes.add(str(item["Name"]))
    return Leftovers(
        tuple(sorted(containers.values())), tuple(sorted(networks.values())), tuple(sorted(volumes))
    )


def remove_leftovers(engine: Engine, project: str, run_id: str) -> Leftovers:
    """Remove what `compose down` left of the project or the run; what could not be removed."""
    for label in _labels(project, run_id):
        for item in engine.api.containers(label=label):
            with contextlib.suppress(ApiError):
                engine.api.remove_container(item["Id"], volumes=True)
    for label in _labels(project, run_id):
        remove_networks_and_volumes(engine, label)
    return leftovers(engine, project, run_id)


__all__ = [
    "CommandResult",
    "Compose",
    "ComposeError",
    "ComposeUnavailable",
    "Leftovers",
    "ServiceState",
    "container_logs",
    "find_compose",
    "leftovers",
    "remove_leftovers",
    "run_command",
    "service_states",
    "tail",
]
