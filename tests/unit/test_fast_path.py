"""The stdlib engine client a cache hit uses, against a fake engine on a unix socket, and the
pydantic-free option coercion, against Typer's own."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stablebuild.cli import app
from stablebuild.engine.unixapi import EngineSocket, Unanswered, socket_path

IMAGE = "sha256:" + "ab" * 32
INSPECT = {"Id": IMAGE, "RepoTags": ["svc:1"], "Size": 123456, "RootFS": {"Layers": ["a", "b"]}}


class _FakeEngine(BaseHTTPRequestHandler):
    """What dockerd answers to the calls the client makes; `/images/broken/json` is a 500."""

    def do_GET(self) -> None:
        if self.path == "/_ping":
            self._send(200, b"OK", "text/plain")
        elif self.path in (f"/images/{IMAGE}/json", "/images/svc:1/json"):
            self._send(200, json.dumps(INSPECT).encode(), "application/json")
        elif self.path == "/images/broken/json":
            self._send(500, b'{"message":"boom"}', "application/json")
        else:
            self._send(404, b'{"message":"No such image"}', "application/json")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def address_string(self) -> str:  # a unix peer has no host
        return "unix"

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def engine_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "docker.sock"
    server = socketserver.ThreadingUnixStreamServer(str(path), _FakeEngine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        server.shutdown()
        server.server_close()


def test_socket_path_honours_docker_host(tmp_path: Path) -> None:
    assert socket_path({"DOCKER_CONFIG": str(tmp_path)}) == "/var/run/docker.sock"
    assert socket_path({"DOCKER_HOST": "unix:///run/user/1000/docker.sock"}) == (
        "/run/user/1000/docker.sock"
    )


@pytest.mark.parametrize(
    "environ",
    [
        {"DOCKER_HOST": "tcp://10.0.0.5:2376"},
        {"DOCKER_HOST": "ssh://builder@ci"},
        {"DOCKER_HOST": "unix:///var/run/docker.sock", "DOCKER_TLS_VERIFY": "1"},
        {"DOCKER_CONTEXT": "remote"},
    ],
)
def test_an_engine_reached_otherwise_takes_the_full_path(environ: dict[str, str]) -> None:
    assert EngineSocket.from_env(environ) is None


def test_a_docker_context_in_use_takes_the_full_path(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"currentContext": "remote-builder"}')
    assert EngineSocket.from_env({"DOCKER_CONFIG": str(tmp_path)}) is None
    (tmp_path / "config.json").write_text('{"currentContext": "default"}')
    assert EngineSocket.from_env({"DOCKER_CONFIG": str(tmp_path)}) == EngineSocket(
        "/var/run/docker.sock"
    )


def test_answers_ping_inspect_and_exists(engine_socket: Path) -> None:
    client = EngineSocket.from_env({"DOCKER_HOST": f"unix://{engine_socket}"})
    assert client is not None
    assert client.ping()
    assert client.image_id("svc:1") == IMAGE
    assert client.image_exists(IMAGE)
    assert not client.image_exists("sha256:" + "00" * 64)
    assert client.image_id("gone:latest") is None
    assert client.inspect_image(IMAGE) == INSPECT


def test_an_engine_error_is_unanswered_not_a_miss(engine_socket: Path) -> None:
    client = EngineSocket(str(engine_socket))
    with pytest.raises(Unanswered, match="HTTP 500"):
        client.image_exists("broken")


def test_no_engine_on_the_socket(tmp_path: Path) -> None:
    client = EngineSocket(str(tmp_path / "none.sock"), timeout=1.0)
    assert not client.ping()
    with pytest.raises(Unanswered):
        client.image_exists(IMAGE)


# --- option coercion without pydantic gives what Typer's gives -------------------------------


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["validate", ".", "--jobs", "x"], "Input should be a valid integer"),
        (["validate", ".", "--format", "jsn"], "'jsn' is not one of"),
        (["validate", ".", "--build-timeout", "soon"], "Input should be a valid number"),
        (["audit", "/no/such/dir"], "/no/such/dir"),
    ],
)
def test_a_bad_value_gets_typers_own_message(argv: list[str], needle: str) -> None:
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2
    assert needle in " ".join(result.output.split()).replace("│", "").replace("  ", " ")


def test_well_formed_values_are_coerced_to_their_types(tmp_path: Path) -> None:
    from typer.models import OptionInfo

    from stablebuild.cli.coerce import QuickParam, quick

    info = OptionInfo()
    assert quick(int, info) and quick(Path, info) and quick(list[str], info)
    assert not quick(dict, info)
    assert QuickParam(annotation=int, parameter_info=info)._coerce_value("8", None, None) == 8
    assert QuickParam(annotation=float, parameter_info=info)._coerce_value("1.5", None, None) == 1.5
    many = QuickParam(annotation=list[str], parameter_info=info)
    assert many._coerce_value(("a", "b"), None, None) == ["a", "b"]
    assert QuickParam(annotation=Path, parameter_info=info)._coerce_value(
        str(tmp_path), None, None
    ) == Path(tmp_path)
