"""The few engine calls a cache hit needs, over the engine's unix socket, with the stdlib only.

A re-validate of an unchanged stack asks the engine what it is and whether each image it used
still exists; for that, loading docker-py and requests costs more than the whole answer. This
client speaks the Engine API's HTTP/1.0 (one request per connection, read to its end: a few
lines of socket code where `http.client` would load the e-mail parser) on
`DOCKER_HOST=unix://...` (or the default socket) for `/_ping`, `/info`, `/version` and
`/images/{id}/json`, and on anything it cannot speak (TLS, tcp://, ssh://, a docker context, a
socket it may not open) says so with `Unanswered`: the caller then takes the full path.
"""

from __future__ import annotations

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


def _response(data: bytes, where: str) -> tuple[int, bytes]:
    """The status and body of one HTTP answer read to its end."""
    head, sep, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.split(b"\r\n")
    parts = status_line.split(b" ", 2)
    if not sep or len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise Unanswered(f"{where}: not an HTTP answer")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    if headers.get(b"transfer-encoding") == b"chunked":
        body = _unchunked(body, where)
    return int(parts[1]), body


def _unchunked(body: bytes, where: str) -> bytes:
    out: list[bytes] = []
    while True:
        size_line, sep, rest = body.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            raise Unanswered(f"{where}: a broken chunked answer") from None
        if not sep or size == 0:
            return b"".join(out)
        out.append(rest[:size])
        body = rest[size + 2 :]


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
        request = f"GET {path} HTTP/1.0\r\nHost: docker\r\nUser-Agent: stablebuild\r\n\r\n"
        chunks: list[bytes] = []
        size = 0
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(self.path)
                sock.sendall(request.encode("ascii"))
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > MAX_BODY + 65536:
                        raise Unanswered(f"{self.path}{path}: answer over {MAX_BODY} bytes")
        except OSError as exc:
            raise Unanswered(f"{self.path}: {exc}") from None
        return _response(b"".join(chunks), f"{self.path}{path}")

    def get_json(self, path: str) -> Any:
        """The JSON document the engine answers to GET `path` (HTTP 200 only)."""
        status, body = self._get(path)
        if status != 200:
            raise Unanswered(f"{self.path}{path}: HTTP {status}")
        try:
            return json.loads(body)
        except ValueError:
            raise Unanswered(f"{self.path}{path}: not JSON") from None

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
