"""Connect to the Docker engine and turn its failures into errors a user can act on.

A local engine (DOCKER_HOST=unix://..., or the default socket) is reached with the standard
library (`unixapi`); anything else (tcp://, ssh://, TLS settings, a docker context) through
docker-py (`dockerpy.connect_docker_py`). Either way the run gets the same `Engine`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from stablebuild.engine.api import FAILURES, EngineAPI
from stablebuild.engine.unixapi import EngineSocket, docker_config, socket_path
from stablebuild.errors import EngineUnavailable
from stablebuild.values import Fields

LABEL_RUN = "org.stablebuild.run"
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
START_HINT = (
    "start an engine: `make engine` (as root: apt-get install -y docker.io && dockerd &), "
    "or point DOCKER_HOST at one"
)
PERMISSION_HINT = "run as root, or add your user to the 'docker' group and log in again"
STILL_RUNNING_HINT = "check that dockerd is still running (`docker info`), then run again"


class Engine(Fields):
    """A connected engine: its API, what `docker info` said, and (made when first needed)
    docker-py's client for what `EngineAPI` does not speak (push, save, load, import)."""

    __slots__ = ("_docker", "api", "docker_factory", "info")
    _unshown = ("_docker",)

    def __init__(
        self,
        api: Any,  # EngineAPI; a test may pass a fake of the few calls it needs
        info: dict[str, Any],
        docker_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.api = api
        self.info = info
        self.docker_factory = docker_factory
        self._docker: Any = None

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

    @property
    def docker(self) -> Any:
        """docker-py's low-level client for the same engine (loads docker-py)."""
        if self._docker is None:
            if self.docker_factory is None:
                raise EngineUnavailable("this engine has no docker-py client", START_HINT)
            self._docker = self.docker_factory()
        return self._docker


# Sections of the Docker client's config.json a build honours (registry credentials for the
# bases it pulls, proxies as build args): only a config holding one loads docker-py for them.
_CLIENT_SETTINGS = ("auths", "credsStore", "credHelpers", "proxies")


def client_settings(engine: Engine) -> tuple[dict[str, str], dict[str, str]]:
    """The headers (X-Registry-Config) and proxy build args the Docker client's config adds
    to a build, as docker-py computes them; nothing when the config sets none of them."""
    config = docker_config()
    if not any(config.get(k) for k in _CLIENT_SETTINGS):
        return {}, {}
    client = engine.docker
    headers: dict[str, str] = {}
    client._set_auth_headers(headers)  # NOTE: docker-py's own, credential helpers included
    return headers, dict(client._proxy_configs.get_environment())


def shown(host: str) -> str:
    """An endpoint as the user wrote it: docker-py stores unix ones as http+unix://."""
    return "unix://" + host[len("http+unix://") :] if host.startswith("http+unix://") else host


def check_permission(sock: str, which: str = "") -> None:
    """EngineUnavailable when the socket exists but this user may not use it."""
    if os.path.exists(sock) and not os.access(sock, os.R_OK | os.W_OK):
        raise EngineUnavailable(
            f"no permission on the engine socket {sock}{which}", PERMISSION_HINT
        )


def connect_socket(sock: str, timeout: float = 120, which: str = "") -> Engine:
    """The engine on the unix socket `sock`, through the standard library."""
    check_permission(sock, which)
    api = EngineAPI(EngineSocket(sock, timeout=timeout))
    try:
        info = api.info()
    except FAILURES:
        raise EngineUnavailable(
            f"no Docker engine answers at unix://{sock}{which}", START_HINT
        ) from None

    def docker_client() -> Any:
        from stablebuild.engine.dockerpy import client_for

        return client_for(f"unix://{sock}", api.api_version, timeout)

    return Engine(api=api, info=info, docker_factory=docker_client)


def connect(timeout: int = 120) -> Engine:
    """Connect using DOCKER_HOST / the current context / the default socket; EngineUnavailable
    with a hint when nothing answers."""
    sock = socket_path()
    if sock is not None:
        return connect_socket(sock, timeout)
    from stablebuild.engine.dockerpy import connect_docker_py

    return connect_docker_py(timeout)
