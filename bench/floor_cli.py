"""A minimal program for benchmark 1's 40-check stack: what any `validate` must pay for.

Run as a program of its own (`python bench/floor_cli.py STACK_FOLDER`), from a venv holding
stablebuild, it does only what no CLI can skip, each in the cheapest way there is:

- start an interpreter and read the stack's manifest (PyYAML's C loader, no schema);
- send the context (the Dockerfile and `app/`) to the engine's build over its unix socket and
  read the answer to its end: the build is cached, the engine still unpacks the context;
- meanwhile, on a thread, import the check phase (`check_peer.stablebuild_checks`: the same
  code the in-process peer times), then run it on the image the build named.

No history, no result cache, no report, no argument parsing, no Ctrl-C handling, no engine
discovery: what it prints is `CHECKS FAILED` for the bench to verify. Benchmark 7 times it
beside `stablebuild validate` and the in-process check phase, for reference: its ratio to the
peer is what the start, the manifest and a cached build cost a program on this machine (not a
strict floor: `validate` loads its own modules more selectively, and beat it in one run).
"""

from __future__ import annotations

import io
import json
import os
import socket
import sys
import tarfile
import threading
import urllib.parse
from pathlib import Path


def context_tar(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in ("Dockerfile", "app"):
            archive.add(folder / name, arcname=name)
    return buffer.getvalue()


def engine_socket() -> str:
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if not host.startswith("unix://"):
        raise SystemExit(f"floor_cli: DOCKER_HOST={host}: only a unix socket is measured")
    return host[len("unix://") :]


def build(path: str, body: bytes, args: dict[str, str]) -> str:
    """The image id a cached build of `body` names (the build's whole answer read)."""
    query = urllib.parse.urlencode({"rm": "1", "forcerm": "1", "buildargs": json.dumps(args)})
    head = (
        f"POST /build?{query} HTTP/1.0\r\nHost: docker\r\n"
        f"Content-Type: application/x-tar\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        sock.sendall(head.encode("latin-1") + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    image_id = None
    for line in answer.partition(b"\r\n\r\n")[2].splitlines():
        if b'"aux"' in line:
            image_id = json.loads(line)["aux"]["ID"]
    if image_id is None:
        raise SystemExit(f"floor_cli: the build named no image: {answer[-300:]!r}")
    return str(image_id)


def main() -> int:
    import yaml

    folder = Path(sys.argv[1])
    with open(folder / "stablebuild.yml", encoding="utf-8") as file:
        manifest = yaml.load(file, Loader=yaml.CSafeLoader)
    args = {str(k): str(v) for k, v in manifest["images"]["bench"]["args"].items()}
    body = context_tar(folder)

    loaded: list[object] = []

    def load() -> None:  # the check phase's modules, while the engine builds
        sys.path.insert(0, str(Path(__file__).parent))
        import check_peer

        from stablebuild.engine import connect

        loaded.extend([check_peer.stablebuild_checks, connect()])

    loader = threading.Thread(target=load)
    loader.start()
    image_id = build(engine_socket(), body, args)
    loader.join()
    checks, engine = loaded
    results = checks(engine, image_id, "floor-cli")  # type: ignore[operator]
    failed = sum(1 for r in results if r.status.value not in ("passed", "skipped"))
    print(len(results), failed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
