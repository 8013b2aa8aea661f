"""Connect to the Docker engine and turn its failures into errors a user can act on."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
from docker.context import ContextAPI

from stablebuild.errors import EngineUnavailable

LABEL_RUN = "org.stablebuild.run"
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
START_HINT = (
    "start an engine: `make engine` (as root: apt-get install -y docker.io && dockerd &), "
    "or point DOCKER_HOST at one"
)


@dataclass
class Engine:
    """A connected engine: the low-level API client plus what `docker info` said."""

    api: Any  # docker.APIClient
    info: dict[str, Any]

    @property
    def api_version(self) -> str:
        return str(self.api.api_version)

    @property
    def runtimes(self) -> list[str]:
        return sorted((self.info.get("Runtimes") or {}).keys())

    @property
    def has_nvidia_runtime(self) -> bool:
        return "nvidia" in self.runtimes

    @property
    def rootless(self) -> bool:
        return any("rootless" in str(o) for o in self.info.get("SecurityOptions") or [])


def shown(host: str) -> str:
    """An endpoint as the user wrote it: docker-py stores unix ones as http+unix://."""
    return "unix://" + host[len("http+unix://") :] if host.startswith("http+unix://") else host


def _endpoint() -> str:
    """What docker-py will talk to: DOCKER_HOST, else the current Docker context's host."""
    host = os.environ.get("DOCKER_HOST")
    if host:
        return host
    try:
        context = ContextAPI.get_current_context()
    except docker.errors.DockerException:
        context = None
    return shown(str(context.Host)) if context is not None and context.Host else DEFAULT_SOCKET


def _socket_path() -> str | None:
    host = _endpoint()
    return host[len("unix://") :] if host.startswith("unix://") else None


def connect(timeout: int = 120) -> Engine:
    """Connect using DOCKER_HOST / the default socket; raise EngineUnavailable with a hint."""
    sock = _socket_path()
    if sock is not None and os.path.exists(sock) and not os.access(sock, os.R_OK | os.W_OK):
        raise EngineUnavailable(
            f"no permission on the engine socket {sock}",
            "run as root, or add your user to the 'docker' group and log in again",
        )
    try:
        client = docker.from_env(timeout=timeout)
        info = client.api.info()
    except docker.errors.DockerException as exc:
        text = str(exc)
        if "Permission denied" in text:
            raise EngineUnavailable(
                f"no permission on the engine socket {sock or ''}".strip(),
                "run as root, or add your user to the 'docker' group and log in again",
            ) from None
        where = _endpoint()
        raise EngineUnavailable(f"no Docker engine answers at {where}", START_HINT) from None
    return Engine(api=client.api, info=info)
