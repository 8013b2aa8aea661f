"""docker-py, where the standard library does not reach: engines over tcp://, ssh://, TLS or a
docker context (`DockerPyTransport` carries `EngineAPI`'s requests on docker-py's session), and
the calls that need its registry credentials or its archive handling (push, save, load, import,
pull). With engine/*, the only code using docker-py.

Every docker-py or requests failure leaving this module is a `stablebuild.errors` one (or, from
the transport, one of `unixapi`'s, which `EngineAPI` turns into its own), naming the endpoint
really used.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import docker
import docker.errors
import requests.exceptions
from docker.context import ContextAPI
from docker.utils import parse_repository_tag

from stablebuild.engine.api import EngineAPI
from stablebuild.engine.apiengine import first_line
from stablebuild.engine.client import (
    DEFAULT_SOCKET,
    PERMISSION_HINT,
    START_HINT,
    STILL_RUNNING_HINT,
    Engine,
    check_permission,
    shown,
)
from stablebuild.engine.unixapi import Answer, SocketLost, SocketTimeout, Unanswered
from stablebuild.errors import EngineError, EngineUnavailable


class DockerPyTransport:
    """`EngineAPI`'s requests on docker-py's session (which knows TLS, ssh and contexts)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.endpoint = endpoint_of(client)

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | IO[bytes] | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Answer:
        url = f"{self.client.base_url}/v{self.client.api_version}{path}"
        try:
            response = self.client.request(
                method,
                url,
                params=dict(params or {}),
                data=body,
                headers=dict(headers or {}),
                stream=True,
                timeout=self.client.timeout if timeout is None else timeout,
            )
        except requests.exceptions.Timeout as exc:
            raise SocketTimeout(f"{self.endpoint}: {first_line(exc)}") from None
        except requests.exceptions.ConnectionError as exc:
            raise SocketLost(f"{self.endpoint}: {first_line(exc)}") from None
        except (requests.exceptions.RequestException, docker.errors.DockerException) as exc:
            raise Unanswered(f"{self.endpoint}: {first_line(exc)}") from None
        found = {name.lower(): value for name, value in response.headers.items()}
        return Answer(response.status_code, found, self._chunks(response))

    def _chunks(self, response: Any) -> Iterator[bytes]:
        try:
            # NOTE: chunk_size None: each piece as it arrives (a build's progress, live)
            yield from response.iter_content(chunk_size=None)
        except requests.exceptions.RequestException as exc:
            if isinstance(exc, requests.exceptions.Timeout) or "timed out" in str(exc).lower():
                raise SocketTimeout(f"{self.endpoint}: {first_line(exc)}") from None
            raise SocketLost(f"{self.endpoint}: {first_line(exc)}") from None
        finally:
            response.close()


def endpoint_of(client: Any) -> str:
    """Where the client really talks to: its base URL, the socket path for a unix one."""
    url = str(getattr(client, "base_url", "") or "")
    adapter = getattr(client, "_custom_adapter", None)
    sock = getattr(adapter, "socket_path", None)
    if sock:
        return f"unix://{sock}"
    return url or "the default engine"


@contextlib.contextmanager
def translated(endpoint: str) -> Iterator[None]:
    """docker-py / requests failures as the errors the CLI knows how to report."""
    try:
        yield
    except requests.exceptions.ConnectionError as exc:
        raise EngineUnavailable(
            f"the engine at {endpoint} stopped answering: {first_line(exc)}", STILL_RUNNING_HINT
        ) from None
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise EngineError(f"the engine at {endpoint} failed: {first_line(exc)}") from None


def client_for(base_url: str, version: str, timeout: float, **kwargs: Any) -> Any:
    """docker-py's low-level client (`docker.APIClient`), for one endpoint."""
    try:
        return docker.APIClient(base_url=base_url, version=version or "auto",
                                timeout=int(timeout), **kwargs)  # fmt: skip
    except docker.errors.DockerException as exc:
        raise EngineUnavailable(f"no Docker engine answers at {base_url}: {first_line(exc)}",
                                START_HINT) from None  # fmt: skip


def engine_for(client: Any, info: Mapping[str, Any]) -> Engine:
    """An `Engine` whose every call goes through docker-py's `client`."""
    api = EngineAPI(DockerPyTransport(client), str(client.api_version))
    return Engine(api=api, info=dict(info), docker_factory=lambda: client)


def current_endpoint() -> tuple[str, str]:
    """The name and endpoint a plain `docker` command would use: DOCKER_HOST, else the
    current context (DOCKER_CONTEXT or ~/.docker/config.json), else the default socket."""
    host = os.environ.get("DOCKER_HOST")
    if host:
        return host, host
    try:
        context = ContextAPI.get_current_context()
    except docker.errors.DockerException:
        context = None
    if context is None or not context.Host:
        return "default", DEFAULT_SOCKET
    return str(context.name), shown(str(context.Host))


def connect_docker_py(timeout: int = 120) -> Engine:
    """Connect as the docker CLI would (DOCKER_HOST and its TLS settings, the current
    context); EngineUnavailable with a hint when nothing answers there."""
    where = current_endpoint()[1]
    if where.startswith("unix://"):
        check_permission(where[len("unix://") :])
    try:
        client = docker.from_env(timeout=timeout)
        info = client.api.info()
    except docker.errors.DockerException as exc:
        if "Permission denied" in str(exc):
            raise EngineUnavailable(
                f"no permission on the engine socket {where}",
                PERMISSION_HINT,
            ) from None
        raise EngineUnavailable(f"no Docker engine answers at {where}", START_HINT) from None
    return engine_for(client.api, info)


def import_rootfs(engine: Engine, tarball: Path, ref: str, changes: list[str]) -> None:
    """`docker import` a root file system tarball as `ref`."""
    repository, tag = parse_repository_tag(ref)
    with translated(engine.api.endpoint):
        engine.docker.import_image_from_file(
            str(tarball), repository=repository, tag=tag or "latest", changes=changes
        )


def pull(image: str, timeout: float) -> None:
    """Pull `image` on the engine DOCKER_HOST / the current context names (raises EngineError)."""
    try:
        client = docker.from_env(timeout=int(timeout) + 1)
    except docker.errors.DockerException as exc:
        raise EngineError(first_line(exc)) from None
    with translated(endpoint_of(client.api)):
        client.api.pull(image)


def push(engine: Engine, reference: str) -> str:
    """Push `reference` (credentials from the Docker config); the digest the registry gave."""
    repository, tag = parse_repository_tag(reference)
    digest = None
    with translated(engine.api.endpoint):
        for chunk in engine.docker.push(repository, tag=tag, stream=True, decode=True):
            if "error" in chunk:
                raise EngineError(f"push {reference}: {first_line(Exception(chunk['error']))}")
            digest = (chunk.get("aux") or {}).get("Digest") or digest
    if not digest:
        raise EngineError(f"push {reference}: the registry reported no digest")
    return str(digest)


def registry_digest(engine: Engine, reference: str) -> str | None:
    """The digest the registry holds for `reference`; None when it holds none."""
    with translated(engine.api.endpoint):
        try:
            found = engine.docker.inspect_distribution(reference)
        except docker.errors.NotFound:
            return None
    return str(found["Descriptor"]["digest"])


def save(engine: Engine, ref: str) -> Iterator[bytes]:
    """The image as `docker save` writes it, streamed. NOTE: a generator: the engine is asked
    while the consumer iterates, so the translation must hold there too."""
    with translated(engine.api.endpoint):
        yield from engine.docker.get_image(ref)


def load(engine: Engine, data: Iterable[bytes]) -> None:
    """`docker load` of what another engine's `save` streams."""
    with translated(engine.api.endpoint):
        for chunk in engine.docker.load_image(data) or ():
            if isinstance(chunk, dict) and "error" in chunk:
                raise EngineError(f"load into {engine.api.endpoint}: {str(chunk['error'])[:200]}")
