"""`EngineAPI` over the standard-library unix-socket transport, against a scripted engine.

The engine here is a real unix socket served by a thread, answering the way dockerd does
(HTTP/1.0 clients get close-delimited bodies; some answers are chunked or sized): what the
client must read, split and map to its four errors without docker-py.
"""

from __future__ import annotations

import io
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.unit.cli.test_interrupt import LostCtrlC

from stablebuild.engine.api import (
    ApiError,
    EngineAPI,
    EngineLost,
    NotFound,
    TimedOut,
    demultiplexed,
    json_stream,
)
from stablebuild.engine.unixapi import EngineSocket

Handler = Callable[[str, bytes], list[bytes]]  # (request head, body) -> pieces to send
Serve = Callable[[Handler], tuple[EngineAPI, list[str]]]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    servers: list[socket.socket] = []

    def start(handler: Handler) -> tuple[EngineAPI, list[str]]:
        path = str(tmp_path / f"engine-{len(servers)}.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(8)
        servers.append(server)
        seen: list[str] = []

        def loop() -> None:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                with conn:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        data += conn.recv(65536)
                    head, _, body = data.partition(b"\r\n\r\n")
                    text = head.decode()
                    length = next((int(line.split(":")[1]) for line in text.split("\r\n")
                                   if line.lower().startswith("content-length")), 0)  # fmt: skip
                    while len(body) < length:
                        body += conn.recv(65536)
                    seen.append(text.split("\r\n")[0])
                    for piece in handler(text, body):
                        if piece == b"PAUSE":
                            time.sleep(0.3)
                            continue
                        conn.sendall(piece)

        threading.Thread(target=loop, daemon=True).start()
        return EngineAPI(EngineSocket(path, timeout=5)), seen

    yield start
    for server in servers:
        server.close()


def answer(status: str, body: bytes, headers: str = "") -> list[bytes]:
    return [f"HTTP/1.0 {status}\r\nApi-Version: 1.41\r\n{headers}\r\n".encode(), body]


def test_a_json_answer_and_the_api_version_from_its_headers(serve: Serve) -> None:
    api, seen = serve(lambda head, body: answer("200 OK", b'{"ServerVersion": "20.10.24"}'))
    assert api.info() == {"ServerVersion": "20.10.24"}
    assert api.api_version == "1.41" and seen == ["GET /info HTTP/1.0"]


def test_refusals_are_api_errors_with_the_engine_s_message(serve: Serve) -> None:
    def handler(head: str, body: bytes) -> list[bytes]:
        if "/images/" in head:
            return answer("404 Not Found", b'{"message":"No such image: nope:latest"}')
        return answer("409 Conflict", b'{"message":"container is running"}')

    api, seen = serve(handler)
    with pytest.raises(NotFound) as missing:
        api.inspect_image("registry.example.com:5000/team/nope:latest")
    assert missing.value.explanation == "No such image: nope:latest"
    assert seen[0] == "GET /images/registry.example.com:5000/team/nope:latest/json HTTP/1.0"
    with pytest.raises(ApiError) as refused:
        api.remove_container("c1")
    assert refused.value.status == 409 and refused.value.explanation == "container is running"
    assert seen[1] == "DELETE /containers/c1?force=1&v=0 HTTP/1.0"


def test_a_create_sends_its_config_as_json(serve: Serve) -> None:
    bodies: list[dict[str, object]] = []

    def handler(head: str, body: bytes) -> list[bytes]:
        bodies.append(json.loads(body))
        assert "Content-Type: application/json" in head
        return answer("201 Created", b'{"Id":"abc123","Warnings":[]}')

    api, _ = serve(handler)
    config = {"Image": "img", "HostConfig": {"NetworkMode": "none", "PidsLimit": 1024}}
    assert api.create_container(config) == "abc123"
    assert bodies == [config]


def test_a_build_stream_is_split_into_its_objects_as_it_comes(serve: Serve) -> None:
    progress = [
        b'{"stream":"Step 1/2 : FROM base\\n"}\r\n{"stream":" ---> 9a',
        b"PAUSE",
        b'0c\\n"}\r\n{"aux":{"ID":"sha256:' + b"e" * 64 + b'"}}\r\n',
        '{"stream":"caf\u00e9"}'.encode()[:-3],  # a character split between two reads
        b"PAUSE",
        '{"stream":"caf\u00e9"}'.encode()[-3:] + b"\r\n",
    ]
    api, seen = serve(lambda head, body: [*answer("200 OK", b"")[:1], *progress])
    chunks = list(api.build(io.BytesIO(b"tar"), {"t": "x:1", "rm": "1"}))
    assert chunks == [
        {"stream": "Step 1/2 : FROM base\n"},
        {"stream": " ---> 9a0c\n"},
        {"aux": {"ID": "sha256:" + "e" * 64}},
        {"stream": "caf\u00e9"},
    ]
    assert seen == ["POST /build?t=x%3A1&rm=1 HTTP/1.0"]


def test_chunked_and_sized_bodies(serve: Serve) -> None:
    def handler(head: str, body: bytes) -> list[bytes]:
        if "/_ping" in head:
            return answer("200 OK", b"OKtrailing-ignored", "Content-Length: 2\r\n")
        return [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                b"5\r\n[1, 2\r\n", b"PAUSE", b"3\r\n, 3\r\n", b"1\r\n]\r\n0\r\n\r\n"]  # fmt: skip

    api, _ = serve(handler)
    assert api.ping() is True
    assert api.containers(label="org.stablebuild.run") == [1, 2, 3]


def test_logs_are_split_by_stream(serve: Serve) -> None:
    def frame(kind: int, data: bytes) -> bytes:
        return struct.pack(">BxxxL", kind, len(data)) + data

    logs = frame(1, b"STABLEBUILD-FACTS:{}\n") + frame(2, b"warning\n") + frame(1, b"more\n")
    api, seen = serve(lambda head, body: answer("200 OK", logs))
    assert api.logs("c1") == (b"STABLEBUILD-FACTS:{}\nmore\n", b"warning\n")
    assert seen == ["GET /containers/c1/logs?stdout=1&stderr=1&tail=all HTTP/1.0"]
    assert demultiplexed(b"") == (b"", b"")


def test_a_wait_past_its_timeout_is_timed_out(serve: Serve) -> None:
    api, _ = serve(lambda head, body: [b"HTTP/1.0 200 OK\r\n\r\n", b"PAUSE", b"PAUSE"])
    with pytest.raises(TimedOut):
        api.wait("c1", timeout=0.2)


def test_no_engine_on_the_socket_is_engine_lost(tmp_path: Path) -> None:
    api = EngineAPI(EngineSocket(str(tmp_path / "absent.sock")))
    with pytest.raises(EngineLost):
        api.info()


def test_an_answer_cut_short_is_engine_lost(serve: Serve) -> None:
    api, _ = serve(lambda head, body: [b'HTTP/1.0 200 OK\r\nContent-Length: 50\r\n\r\n{"Id"'])
    with pytest.raises(EngineLost):
        api.inspect_image("img")


def test_a_stream_ending_inside_an_object_is_an_error() -> None:
    with pytest.raises(ApiError, match="ended inside an object"):
        list(json_stream([b'{"stream": "Step 1/2']))


def test_requests_sent_together_are_each_answered_in_any_order(serve: Serve) -> None:
    """What a remembered answer does: every question sent before any answer is read."""

    def handler(head: str, body: bytes) -> list[bytes]:
        if head.startswith("GET /info "):
            return answer("200 OK", b'{"ID": "engine-1"}')
        ref = head.split(" ")[1].removeprefix("/images/").removesuffix("/json")
        if ref == "gone:1":
            return answer("404 Not Found", b'{"message":"No such image: gone:1"}')
        return answer("200 OK", json.dumps({"Id": f"sha256:{ref}"}).encode())

    api, seen = serve(handler)
    engine = api.transport
    assert isinstance(engine, EngineSocket)
    info = engine.request("GET", "/info")
    present, gone = engine.ask_image("app:1"), engine.ask_image("gone:1")
    assert gone.image_id() is None
    assert present.image_id() == "sha256:app:1"
    assert info.json() == {"ID": "engine-1"}
    assert sorted(seen) == sorted(
        [
            "GET /info HTTP/1.0",
            "GET /images/app:1/json HTTP/1.0",
            "GET /images/gone:1/json HTTP/1.0",
        ]
    )


@pytest.fixture
def silent_engine(tmp_path: Path) -> Iterator[str]:
    """An engine that takes the request and never answers (a build whose step runs long)."""
    path = str(tmp_path / "silent.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(server.accept()[0]), daemon=True).start()
    yield path
    for conn in held:
        conn.close()
    server.close()


def test_a_ctrl_c_python_dropped_ends_a_long_wait_on_the_engine(
    silent_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python drops a KeyboardInterrupt raised inside a weakref callback (`interrupt.requested`);
    the unraisable hook notes it, and a wait on the engine asks between steps of STEP s."""
    from stablebuild import interrupt
    from stablebuild.engine import unixapi

    monkeypatch.setattr(unixapi, "STEP", 0.1)
    monkeypatch.setattr(interrupt, "_lost", False)
    sent = EngineSocket(silent_engine, timeout=30).request("POST", "/build")
    threading.Timer(0.3, interrupt._unraisable, [LostCtrlC()]).start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        sent.answer()
    assert 0.25 < time.monotonic() - started < 5
    interrupt.raise_if_lost()  # raised once: nothing is left to raise


def test_a_silent_engine_still_times_out_after_its_whole_timeout(
    silent_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stablebuild.engine import unixapi

    monkeypatch.setattr(unixapi, "STEP", 0.1)
    api = EngineAPI(EngineSocket(silent_engine, timeout=0.45))
    started = time.monotonic()
    with pytest.raises(TimedOut, match=r"no answer within 0\.45 s"):
        api.info()
    assert 0.4 < time.monotonic() - started < 3
