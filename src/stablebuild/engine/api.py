"""The Engine API calls stablebuild makes, JSON in and out, over one of two transports.

`EngineAPI` speaks the Engine API itself (paths, query parameters and bodies as the API's
reference names them); a transport carries its requests: `unixapi.EngineSocket` (standard
library, a local engine's unix socket: no docker-py loaded at all) or, for TLS, tcp://, ssh://
and docker contexts, docker-py's session (`dockerpy.DockerPyTransport`). Each behaviour (the
probe's limits, a build's stream, a cleanup) is written once, above both.

Failures are the four exceptions below, whatever the transport: the engine modules tell a
missing object from a refusal, and both from an engine gone, without knowing how it was reached.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import json
import struct
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any, Protocol

from stablebuild.engine.unixapi import Answer, SocketLost, SocketTimeout, Unanswered


class ApiError(Exception):
    """The engine answered, and refused (HTTP 4xx/5xx), or answered something unreadable."""

    def __init__(self, status: int, explanation: str) -> None:
        super().__init__(f"{status}: {explanation}" if status else explanation)
        self.status = status
        self.explanation = explanation

    def first_line(self, otherwise: str) -> str:
        """The engine's explanation, its first line (at most 400 characters); `otherwise`
        when it gave none."""
        text = str(self.explanation or self).strip()
        return text.splitlines()[0][:400] if text else otherwise


class NotFound(ApiError):
    """HTTP 404: no such image, container, network or volume."""


class EngineLost(Exception):
    """The engine could not be reached, or stopped answering mid-request."""


class TimedOut(Exception):
    """The engine said nothing for the request's timeout."""


FAILURES: tuple[type[Exception], ...] = (ApiError, EngineLost, TimedOut)


class Transport(Protocol):
    """How requests reach the engine (see the module's docstring)."""

    @property
    def endpoint(self) -> str: ...

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | IO[bytes] | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Answer: ...


def quoted(name: str) -> str:
    """An image reference or id as one path segment of the API (its `/` kept, as docker-py)."""
    return urllib.parse.quote(name, safe="/:@")


def filters(values: Mapping[str, Any]) -> str:
    """The `filters` query parameter: every value a list, JSON."""
    return json.dumps(
        {k: [str(x).lower() if isinstance(x, bool) else str(x) for x in
             (v if isinstance(v, list | tuple) else [v])] for k, v in values.items()}
    )  # fmt: skip


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _explanation(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()
    if isinstance(data, dict) and "message" in data:
        return str(data["message"]).strip()
    return body.decode("utf-8", "replace").strip()


def json_stream(chunks: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """The objects of a JSON stream (a build's progress, events), as they arrive."""
    decoder = json.JSONDecoder()
    text = codecs.getincrementaldecoder("utf-8")("replace")  # a character may span two reads
    pending = ""
    for chunk in chunks:
        pending += text.decode(chunk)
        while True:
            pending = pending.lstrip()
            if not pending:
                break
            try:
                value, end = decoder.raw_decode(pending)
            except ValueError:
                break  # the rest of this object is still to come
            pending = pending[end:]
            if isinstance(value, dict):
                yield value
    pending += text.decode(b"", final=True)
    if pending.strip():
        raise ApiError(0, f"the engine's stream ended inside an object: {pending[:80]!r}")


def frames(data: bytes) -> Iterator[tuple[int, bytes]]:
    """A non-TTY container's log stream as (stream, bytes) frames, in the order written (each
    frame's 8-byte header: the stream, 1 stdout or 2 stderr, three zero bytes, its length)."""
    offset = 0
    while offset + 8 <= len(data):
        kind, size = struct.unpack(">BxxxL", data[offset : offset + 8])
        yield kind, data[offset + 8 : offset + 8 + size]
        offset += 8 + size


def demultiplexed(data: bytes) -> tuple[bytes, bytes]:
    """A non-TTY container's log stream split into its stdout and stderr."""
    out: list[bytes] = []
    err: list[bytes] = []
    for kind, frame in frames(data):
        (err if kind == 2 else out).append(frame)
    return b"".join(out), b"".join(err)


@contextlib.contextmanager
def _transport_failures() -> Iterator[None]:
    """A transport's failures (sending, or reading an answer) as the API's own."""
    try:
        yield
    except SocketTimeout as exc:
        raise TimedOut(str(exc)) from None
    except SocketLost as exc:
        raise EngineLost(str(exc)) from None
    except Unanswered as exc:
        raise ApiError(0, str(exc)) from None


class EngineAPI:
    """The calls stablebuild makes, each one request (see the module's docstring)."""

    def __init__(self, transport: Transport, api_version: str = "") -> None:
        self.transport = transport
        self.api_version = api_version

    @property
    def endpoint(self) -> str:
        return self.transport.endpoint

    # --- plumbing -------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | IO[bytes] | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Answer:
        with _transport_failures():
            answer = self.transport.send(
                method, path, params=params, body=body, headers=headers, timeout=timeout
            )
        if answer.status >= 400:
            text = _explanation(self._drain(answer))
            raise (NotFound if answer.status == 404 else ApiError)(answer.status, text)
        if not self.api_version and answer.headers.get("api-version"):
            self.api_version = answer.headers["api-version"]
        return answer

    def _drain(self, answer: Answer, limit: int = 64 * 1024 * 1024) -> bytes:
        with _transport_failures():
            return answer.read(limit)

    def _stream(self, answer: Answer) -> Iterator[bytes]:
        with _transport_failures():
            yield from answer.chunks

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        body = self._drain(self._send(method, path, **kwargs))
        if not body.strip():
            return None
        try:
            return json.loads(body)
        except ValueError:
            raise ApiError(0, f"{method} {path}: the engine answered no JSON") from None

    def _post_json(self, path: str, document: Mapping[str, Any], **kwargs: Any) -> Any:
        headers = {"Content-Type": "application/json"}
        return self._json("POST", path, body=json.dumps(document).encode(), headers=headers,
                          **kwargs)  # fmt: skip

    # --- the engine -----------------------------------------------------------------------

    def ping(self) -> bool:
        return self._drain(self._send("GET", "/_ping")).strip() == b"OK"

    def info(self) -> dict[str, Any]:
        return dict(self._json("GET", "/info") or {})

    def version(self) -> dict[str, Any]:
        return dict(self._json("GET", "/version") or {})

    def events(self, since: int, until: int, labels: Mapping[str, str]) -> list[dict[str, Any]]:
        by_label = filters({"label": [f"{k}={v}" for k, v in labels.items()]})
        params = {"since": str(since), "until": str(until), "filters": by_label}
        return list(json_stream(self._stream(self._send("GET", "/events", params=params))))

    # --- images ---------------------------------------------------------------------------

    def inspect_image(self, ref: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/images/{quoted(ref)}/json"))

    def images(self, **by: Any) -> list[dict[str, Any]]:
        return list(self._json("GET", "/images/json", params={"filters": filters(by)}) or [])

    def tag(self, image: str, repository: str, tag: str) -> None:
        self._json("POST", f"/images/{quoted(image)}/tag", params={"repo": repository, "tag": tag})

    def remove_image(self, ref: str, *, force: bool = False, noprune: bool = False) -> None:
        params = {"force": _flag(force), "noprune": _flag(noprune)}
        self._json("DELETE", f"/images/{quoted(ref)}", params=params)

    def prune_images(self, **by: Any) -> dict[str, Any]:
        return dict(self._json("POST", "/images/prune", params={"filters": filters(by)}) or {})

    def build(
        self,
        context: IO[bytes],
        params: Mapping[str, str],
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Iterator[dict[str, Any]]:
        """POST /build with a tar context; the build's progress objects as they come."""
        answer = self._send(
            "POST",
            "/build",
            params=params,
            body=context,
            headers={"Content-Type": "application/x-tar", **(headers or {})},
            timeout=timeout,
        )
        return json_stream(self._stream(answer))

    # --- containers -----------------------------------------------------------------------

    def create_container(self, config: Mapping[str, Any], name: str | None = None) -> str:
        params = {"name": name} if name else None
        return str(self._post_json("/containers/create", config, params=params)["Id"])

    def start(self, container: str) -> None:
        self._json("POST", f"/containers/{container}/start")

    def wait(self, container: str, timeout: float | None = None) -> int:
        """The container's exit code once it stops; TimedOut after `timeout` seconds."""
        found = self._json("POST", f"/containers/{container}/wait", timeout=timeout)
        return int(found["StatusCode"])

    def kill(self, container: str) -> None:
        self._json("POST", f"/containers/{container}/kill")

    def inspect_container(self, container: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/containers/{container}/json"))

    def containers(self, **by: Any) -> list[dict[str, Any]]:
        params = {"all": "1", "filters": filters(by)}
        return list(self._json("GET", "/containers/json", params=params) or [])

    def remove_container(self, container: str, *, volumes: bool = False) -> None:
        params = {"force": "1", "v": _flag(volumes)}
        self._json("DELETE", f"/containers/{container}", params=params)

    def _logs(self, container: str, tail: int | None) -> bytes:
        params = {"stdout": "1", "stderr": "1", "tail": str(tail) if tail else "all"}
        return self._drain(self._send("GET", f"/containers/{container}/logs", params=params))

    def logs(self, container: str, *, tail: int | None = None) -> tuple[bytes, bytes]:
        """What a container started without a TTY wrote: (stdout, stderr)."""
        return demultiplexed(self._logs(container, tail))

    def log_text(self, container: str, *, tail: int | None = None) -> bytes:
        """Everything the container wrote, stdout and stderr in the order written (any
        container: one with a TTY sends its output as it is)."""
        data = self._logs(container, tail)
        tty = bool((self.inspect_container(container).get("Config") or {}).get("Tty"))
        return data if tty else b"".join(frame for _, frame in frames(data))

    def get_archive(self, container: str, path: str) -> tuple[Iterator[bytes], dict[str, Any]]:
        """The tar of `path` in the container, streamed, and the path's stat (a header)."""
        answer = self._send("GET", f"/containers/{container}/archive", params={"path": path})
        encoded = answer.headers.get("x-docker-container-path-stat", "")
        try:
            stat = json.loads(base64.b64decode(encoded)) if encoded else {}
        except ValueError:
            stat = {}
        return self._stream(answer), stat if isinstance(stat, dict) else {}

    # --- networks and volumes -------------------------------------------------------------

    def networks(self, **by: Any) -> list[dict[str, Any]]:
        return list(self._json("GET", "/networks", params={"filters": filters(by)}) or [])

    def remove_network(self, network: str) -> None:
        self._json("DELETE", f"/networks/{network}")

    def volumes(self, **by: Any) -> list[dict[str, Any]]:
        found = self._json("GET", "/volumes", params={"filters": filters(by)}) or {}
        return list(found.get("Volumes") or [])

    def remove_volume(self, volume: str) -> None:
        self._json("DELETE", f"/volumes/{volume}", params={"force": "1"})


__all__ = [
    "FAILURES",
    "ApiError",
    "EngineAPI",
    "EngineLost",
    "NotFound",
    "TimedOut",
    "Transport",
    "demultiplexed",
    "filters",
    "frames",
    "json_stream",
]
