"""Fixtures on the real engine: the bootstrapped base and small images built in this session."""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Iterator
from pathlib import Path

import docker.errors
import pytest
from tests.support import BASE_IMAGE, SESSION_RUN

from stablebuild.engine import Engine, connect
from stablebuild.engine.client import LABEL_RUN

FIXTURES = Path(__file__).parent.parent / "fixtures" / "images"


@pytest.fixture(scope="session")
def engine() -> Engine:
    return connect(timeout=900)


def build_fixture(engine: Engine, dockerfile: Path, tag: str, args: dict[str, str]) -> str:
    """Build a fixture image with the session's label; fail the test with the log if it breaks."""
    log: list[str] = []
    image_id = None
    for chunk in engine.docker.build(
        path=str(dockerfile.parent),
        dockerfile=dockerfile.name,
        tag=tag,
        buildargs=args,
        labels={LABEL_RUN: SESSION_RUN},
        rm=True,
        forcerm=True,
        decode=True,
    ):
        log.append(str(chunk.get("stream", "")))
        if "error" in chunk:
            pytest.fail(f"fixture image {tag} failed to build: {chunk['error']}\n{''.join(log)}")
        if "aux" in chunk:
            image_id = chunk["aux"].get("ID")
    assert image_id, "".join(log)
    return str(image_id)


def remove_fixture(engine: Engine, tag: str) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        engine.docker.remove_image(tag, noprune=True)


@pytest.fixture(scope="session")
def base_image(engine: Engine) -> str:
    try:
        engine.docker.inspect_image(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"{BASE_IMAGE} is missing: run `make base` (make test does it for you)")
    return BASE_IMAGE


@pytest.fixture(scope="session")
def python_image(engine: Engine, base_image: str) -> Iterator[str]:
    """Debian's Python 3.11 in /opt/venv with six==1.16.0, user app (uid 1000)."""
    tag = f"stablebuild-test/python:{SESSION_RUN}"
    build_fixture(engine, FIXTURES / "python.Dockerfile", tag, {"BASE_IMAGE": base_image})
    yield tag
    remove_fixture(engine, tag)


@pytest.fixture(scope="session")
def ffmpeg_image(engine: Engine, python_image: str) -> Iterator[str]:
    """The Python fixture plus Debian's ffmpeg (libx264, aac; NVENC compiled in)."""
    tag = f"stablebuild-test/ffmpeg:{SESSION_RUN}"
    build_fixture(engine, FIXTURES / "ffmpeg.Dockerfile", tag, {"BASE_IMAGE": python_image})
    yield tag
    remove_fixture(engine, tag)


def write_stack(root: Path, files: dict[str, str]) -> Path:
    """Write a small stack (Dockerfiles, pins, stablebuild.yml) and return the manifest path."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root / "stablebuild.yml"
