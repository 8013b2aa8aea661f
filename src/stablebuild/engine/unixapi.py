"""The Engine API's HTTP over the engine's unix socket, with the standard library only.

Loading docker-py and requests costs ~0.3 s, more than a whole re-validate of an unchanged
stack; every call stablebuild makes on a local engine is a small JSON request or a stream, which
a few lines of socket code speak: HTTP/1.0, one request per connection, read to its end (where
`http.client` would load the e-mail parser). `EngineSocket.send` is the transport of
`engine/api.py` on `DOCKER_HOST=unix://...` (or the default socket); `get_json`, `ping` and
`inspect_image` serve the remembered answer, which must not load even that module. On anything
this client cannot speak (TLS, tcp://, ssh://, a docker context) `socket_path` says None: the
caller then goes through docker-py.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any, NamedTuple

from stablebuild import interrupt

DEFAULT_SOCKET = "/var/run/docker.sock"
TIMEOUT = 10.0
MAX_BODY = 4 * 1024 * 1024  # an image's inspect is a few KB; more means something else answered
CHUNK = 65536
STEP = 1.0  # the longest a wait on the engine goes without asking for a lost Ctrl-C
# Settings only docker-py (or the docker CLI) honours: with any of them set, the full path.
_OTHER_SETTINGS = ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT")


class Unanswered(Exception):
    """This client cannot answer here; the full engine path can (or says why not)."""


class SocketLost(Unanswered):
    """The socket could not be reached, or the engine closed it mid-answer."""


class SocketTimeout(Unanswered):
    """The engine said nothing for the request's timeout."""


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


def ask_info(environ: Mapping[str, str] | None = None) -> tuple[str, Sent] | None:
    """`/info` sent to the engine the environment names (its socket, and the request), for an
    answer that will want it; None when that engine is not reached over a unix socket or does
    not take the request."""
    engine = EngineSocket.from_env(environ)
    if engine is None:
        return None
    try:
        return engine.path, engine.request("GET", "/info")
    except Unanswered:
        return None


def docker_config(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Docker client's config.json (DOCKER_CONFIG, else ~/.docker); {} when there is
    none, or it is not a JSON object."""
    env = os.environ if environ is None else environ
    folder = env.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    try:
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as file:
            config = json.load(file)
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def _current_context(env: Mapping[str, str]) -> str | None:
    """The docker CLI's current context, as its config.json names it."""
    context = docker_config(env).get("currentContext")
    return str(context) if context else None


# NOTE: NamedTuples, not dataclasses: a remembered answer asks the engine (events.py)
class Answer(NamedTuple):
    """One HTTP answer: its status and headers read, its body still to be read (`chunks`)."""

    status: int
    headers: dict[str, str]
    chunks: Iterator[bytes]

    def read(self, limit: int = MAX_BODY) -> bytes:
        """The whole body; Unanswered past `limit` bytes."""
        out: list[bytes] = []
        size = 0
        for chunk in self.chunks:
            out.append(chunk)
            size += len(chunk)
            if size > limit:
                raise Unanswered(f"answer over {limit} bytes")
        return b"".join(out)


class _Reader:
    """Buffered reads from a socket; closes it at the end (or when abandoned)."""

    def __init__(self, sock: socket.socket, where: str) -> None:
        self.sock = sock
        self.where = where
        self.buffer = b""
        self.eof = False

    def fill(self) -> bool:
        if self.eof:
            return False
        try:
            data = self._recv()
        except TimeoutError:
            raise SocketTimeout(
                f"{self.where}: no answer within {self.sock.gettimeout()} s"
            ) from None
        except OSError as exc:
            raise SocketLost(f"{self.where}: {exc}") from None
        if not data:
            self.eof = True
            return False
        self.buffer += data
        return True

    def _recv(self) -> bytes:
        """The next bytes; TimeoutError after the socket's timeout of silence. Waited in steps
        of at most STEP s: a Ctrl-C Python dropped (`interrupt.raise_if_lost`) still ends a
        build's or a container's wait, which may last for minutes."""
        limit = self.sock.gettimeout()
        if limit is None or limit <= STEP:
            return self.sock.recv(CHUNK)
        deadline = time.monotonic() + limit
        try:
            while True:
                self.sock.settimeout(max(min(STEP, deadline - time.monotonic()), 0.001))
                try:
                    return self.sock.recv(CHUNK)
                except TimeoutError:
                    interrupt.raise_if_lost()
                    if time.monotonic() >= deadline:
                        raise
        finally:
            self.sock.settimeout(limit)

    def until(self, marker: bytes, limit: int) -> bytes:
        while marker not in self.buffer:
            if len(self.buffer) > limit or not self.fill():
                raise SocketLost(f"{self.where}: the answer ended early")
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def exactly(self, size: int) -> Iterator[bytes]:
        while size > 0:
            if not self.buffer and not self.fill():
                raise SocketLost(f"{self.where}: the answer ended early")
            part, self.buffer = self.buffer[:size], self.buffer[size:]
            size -= len(part)
            yield part

    def rest(self) -> Iterator[bytes]:
        while True:
            if self.buffer:
                part, self.buffer = self.buffer, b""
                yield part
            if not self.fill():
                return


def _body(reader: _Reader, headers: Mapping[str, str]) -> Iterator[bytes]:
    try:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size_line = reader.until(b"\r\n", 1024)
                try:
                    size = int(size_line.split(b";")[0], 16)
                except ValueError:
                    raise Unanswered(f"{reader.where}: a broken chunked answer") from None
                if size == 0:
                    return
                yield from reader.exactly(size)
                reader.until(b"\r\n", 2)
        elif "content-length" in headers and headers["content-length"].isdigit():
            yield from reader.exactly(int(headers["content-length"]))
        else:
            yield from reader.rest()
    finally:
        reader.sock.close()


class Sent:
    """A request the engine has been sent, its answer not read yet."""

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader

    def answer(self) -> Answer:
        """The answer's status and headers; its body streams from the socket (closed at its
        end)."""
        reader, where = self.reader, self.reader.where
        try:
            head = reader.until(b"\r\n\r\n", 64 * 1024)
        except Unanswered:
            reader.sock.close()
            raise
        status_line, *header_lines = head.split(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            reader.sock.close()
            raise Unanswered(f"{where}: not an HTTP answer")
        found: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(b":")
            found[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        return Answer(int(parts[1]), found, _body(reader, found))

    def close(self) -> None:
        """Not waiting for the answer after all."""
        self.reader.sock.close()

    def json(self) -> Any:
        """The JSON document answered (HTTP 200 only)."""
        return self._document(self.answer())

    def image(self) -> dict[str, Any] | None:
        """An image's inspect (`EngineSocket.ask_image`): None when the engine has none."""
        answer = self.answer()
        if answer.status == 404:
            answer.read()
            return None
        data = self._document(answer)
        if not isinstance(data, dict):
            raise Unanswered(f"{self.reader.where}: not an object")
        return data

    def _document(self, answer: Answer) -> Any:
        body = answer.read()
        if answer.status != 200:
            raise Unanswered(f"{self.reader.where}: HTTP {answer.status}")
        try:
            return json.loads(body)
        except ValueError:
            raise Unanswered(f"{self.reader.where}: not JSON") from None

    def image_id(self) -> str | None:
        """The inspected image's id (`sha256:...`), or None when the engine has none."""
        data = self.image()
        return None if data is None else str(data.get("Id") or "") or None


class EngineSocket(NamedTuple):
    """One engine, reached over its unix socket; every call opens and closes one connection."""

    path: str
    timeout: float = TIMEOUT

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EngineSocket | None:
        """The engine DOCKER_HOST names, when this client can reach it; else None."""
        path = socket_path(environ)
        return None if path is None else cls(path)

    @property
    def endpoint(self) -> str:
        return f"unix://{self.path}"

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
        """Send one request; the answer's body streams from the socket (closed at its end).

        `timeout` bounds each wait for the engine (a build silent for that long, a container
        that runs longer than a `wait` may take), not the whole answer."""
        sent = self.request(
            method, path, params=params, body=body, headers=headers, timeout=timeout
        )
        return sent.answer()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | IO[bytes] | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Sent:
        """Send one request and return at once: the engine works on it while the caller does
        something else (`Sent.answer` reads it). Each request has a connection of its own, so
        several can be out at the same time."""
        target = path + ("?" + urllib.parse.urlencode(params) if params else "")
        lines = [f"{method} {target} HTTP/1.0", "Host: docker", "User-Agent: stablebuild"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if isinstance(body, bytes):
            lines.append(f"Content-Length: {len(body)}")
        elif body is not None and hasattr(body, "seek"):
            size = body.seek(0, os.SEEK_END)
            body.seek(0)
            lines.append(f"Content-Length: {size}")
        elif method in ("POST", "PUT"):
            lines.append("Content-Length: 0")
        where = f"{self.path} {method} {path}"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout if timeout is None else timeout)
            sock.connect(self.path)
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            if isinstance(body, bytes):
                sock.sendall(body)
            elif body is not None and hasattr(body, "read"):
                while data := body.read(CHUNK):
                    sock.sendall(data)
            elif body is not None:
                for data in body:
                    sock.sendall(data)
        except TimeoutError:
            sock.close()
            raise SocketTimeout(f"{where}: no answer within {sock.gettimeout()} s") from None
        except OSError as exc:
            sock.close()
            raise SocketLost(f"{self.path}: {exc}") from None
        return Sent(_Reader(sock, where))

    def get_json(self, path: str) -> Any:
        """The JSON document the engine answers to GET `path` (HTTP 200 only)."""
        return self.request("GET", path).json()

    def ping(self) -> bool:
        """Whether an engine answers on the socket."""
        try:
            answer = self.send("GET", "/_ping")
            return answer.status == 200 and answer.read().strip() == b"OK"
        except Unanswered:
            return False

    def ask_image(self, ref: str) -> Sent:
        """`docker image inspect REF` sent (`Sent.image`, `Sent.image_id` read it)."""
        return self.request("GET", f"/images/{urllib.parse.quote(ref, safe=':@/')}/json")

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        """`docker image inspect REF`: None when the engine has no such image."""
        return self.ask_image(ref).image()

    def image_id(self, ref: str) -> str | None:
        """The image's id (`sha256:...`), or None when the engine has no such image."""
        return self.ask_image(ref).image_id()

    def image_exists(self, image_id: str) -> bool:
        """Whether the engine still holds this image (what a cached build needs)."""
        return self.inspect_image(image_id) is not None
