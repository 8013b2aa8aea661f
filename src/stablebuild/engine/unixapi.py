"""The few engine calls a cache hit needs, over the engine's unix socket, with the stdlib only.

A re-validate of an unchanged stack asks the engine whether each cached image still exists; for
that, loading docker-py and requests costs more than the whole answer. This client speaks the
Engine API's HTTP/1.1 on `DOCKER_HOST=unix://...` (or the default socket) for `/_ping` and
`/images/{id}/json`, and on anything it cannot speak (TLS, tcp://, ssh://, a docker context, a
socket it may not open) says so with `Unanswered`: the caller then takes the full path.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_SOCKET = "/var/run/docker.sock"
TIMEOUT = 10.0
MAX_BODY = 4 * 1024 * 1024  # an image's inspect is a few KB; more means something else answered
# Settings only docker-py (or the docker CLI) honours: with any of them set, the full path.
_OTHER_SETTINGS = ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT")


class Unanswered(Exception):
    """This client cannot answer here; the full engine path can (or says why not)."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def socket_path(environ: Mapping[str, str] | None = None) -> str | None:
    """The engine's unix socket per DOCKER_HOST (unset: the default), or None when the
    engine is reached another way."""
    env = os.environ if environ is None else environ
    if any(env.get(name) for name in _OTHER_SETTINGS):
        return None
    if not env.get("DOCKER_HOST") and _current_context(env) not in (None, "default"):
        return None  # `docker context use X`: its endpoint is docker-py's to resolve
    host = env.get("DOCKER_HOST") or f"unix://{DEFAULT_SOCKET}"
    if not host.startswith("unix://"):
        return None
    path = host[len("unix://") :]
    return path or None


def _current_context(env: Mapping[str, str]) -> str | None:
    """The docker CLI's current context from its config.json (DOCKER_CONFIG or ~/.docker)."""
    folder = env.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    try:
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as file:
            config = json.load(file)
    except (OSError, ValueError):
        return None
    context = config.get("currentContext") if isinstance(config, dict) else None
    return str(context) if context else None


@dataclass(frozen=True)
class EngineSocket:
    """One engine, reached over its unix socket; every call opens and closes one connection."""

    path: str
    timeout: float = TIMEOUT

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EngineSocket | None:
        """The engine DOCKER_HOST names, when this client can reach it; else None."""
        path = socket_path(environ)
        return None if path is None else cls(path)

    def _get(self, path: str) -> tuple[int, bytes]:
        conn = _UnixConnection(self.path, self.timeout)
        try:
            conn.request("GET", path, headers={"Host": "docker", "User-Agent": "stablebuild"})
            answer = conn.getresponse()
            body = answer.read(MAX_BODY + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise Unanswered(f"{self.path}: {exc}") from None
        finally:
            conn.close()
        if len(body) > MAX_BODY:
            raise Unanswered(f"{self.path}{path}: answer over {MAX_BODY} bytes")
        return answer.status, body

    def ping(self) -> bool:
        """Whether an engine answers on the socket."""
        try:
            status, body = self._get("/_ping")
        except Unanswered:
            return False
        return status == 200 and body.strip() == b"OK"

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        """`docker image inspect REF`: None when the engine has no such image."""
        status, body = self._get(f"/images/{urllib.parse.quote(ref, safe=':@')}/json")
        if status == 404:
            return None
        if status != 200:
            raise Unanswered(f"{self.path}: image {ref}: HTTP {status}")
        try:
            data = json.loads(body)
        except ValueError:
            raise Unanswered(f"{self.path}: image {ref}: not JSON") from None
        if not isinstance(data, dict):
            raise Unanswered(f"{self.path}: image {ref}: not an object")
        return data

    def image_id(self, ref: str) -> str | None:
        """The image's id (`sha256:...`), or None when the engine has no such image."""
        data = self.inspect_image(ref)
        return None if data is None else str(data.get("Id") or "") or None

    def image_exists(self, image_id: str) -> bool:
        """Whether the engine still holds this image (what a cached build needs)."""
        return self.inspect_image(image_id) is not None
