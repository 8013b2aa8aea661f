"""A daemon stopped mid-build makes the build "fail" (its RUN container killed, exit 137):
ApiEngine tells that from an image's own failure by asking the engine afterwards."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stablebuild.engine import build as building
from stablebuild.engine.api import EngineLost
from stablebuild.engine.apiengine import ApiEngine
from stablebuild.engine.build import BuildRequest
from stablebuild.engine.client import Engine
from stablebuild.errors import EngineUnavailable
from stablebuild.events import Event
from stablebuild.report.model import BuildStatus

KILLED = "The command '/bin/sh -c sleep 40 && echo done' returned a non-zero code: 137"


class StoppingApi:
    """What the engine showed when dockerd got SIGTERM during `RUN sleep 40` (measured)."""

    endpoint = "unix:///var/run/docker.sock"
    api_version = "1.41"

    def __init__(self, *, stopped: bool) -> None:
        self.stopped = stopped
        self.pings = 0

    def build(self, *_: Any, **__: Any) -> Iterator[dict[str, Any]]:
        yield {"stream": "Step 2/2 : RUN sleep 40 && echo done\n"}
        yield {"stream": " ---> Running in 2e372a2247a7\n"}
        yield {"error": KILLED, "errorDetail": {"code": 137, "message": KILLED}}

    def ping(self) -> bool:
        self.pings += 1
        if self.stopped:
            raise EngineLost("/var/run/docker.sock: [Errno 2] No such file or directory")
        return True


def request(tmp_path: Path) -> BuildRequest:
    (tmp_path / "Dockerfile").write_text("FROM stablebuild/airgap:bookworm\nRUN sleep 40\n")
    return BuildRequest("slow", tmp_path, tmp_path / "Dockerfile", None, "run-1")


def test_a_build_cut_short_by_a_stopping_daemon_is_engine_unavailable(tmp_path: Path) -> None:
    engine = ApiEngine(Engine(StoppingApi(stopped=True), {}), name="gpu-host")
    with pytest.raises(EngineUnavailable) as caught:
        engine.build(request(tmp_path))
    assert caught.value.message.startswith(
        "the engine at unix:///var/run/docker.sock stopped answering while building slow: "
        "/var/run/docker.sock: [Errno 2] No such file or directory"
    )


def test_a_build_that_fails_on_an_engine_still_answering_is_a_failed_build(
    tmp_path: Path,
) -> None:
    api = StoppingApi(stopped=False)
    outcome = ApiEngine(Engine(api, {})).build(request(tmp_path))
    assert outcome.status is BuildStatus.FAILED
    assert outcome.error == KILLED
    assert api.pings == 1


class RecordingApi:
    """An engine that builds at once; when its build was asked, in `calls`."""

    endpoint = "unix:///var/run/docker.sock"
    api_version = "1.41"

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def build(self, context: Any, *_: Any, **__: Any) -> Iterator[dict[str, Any]]:
        self.calls.append(f"engine: build of {len(context.read())} bytes")
        yield {"stream": "Step 1/2 : FROM stablebuild/airgap:bookworm\n"}
        yield {"stream": "Step 2/2 : RUN sleep 40\n"}
        yield {"aux": {"ID": "sha256:" + "ab" * 32}}


def test_the_context_is_announced_with_its_size_as_it_goes_to_the_engine(
    tmp_path: Path,
) -> None:
    calls: list[str] = []

    def observer(event: Event) -> None:
        calls.append(
            f"{event.kind}: {event.message}" if event.kind == "build-context" else event.kind
        )

    outcome = building.build(Engine(RecordingApi(calls), {}), request(tmp_path), observer)
    assert outcome.status is BuildStatus.BUILT
    assert calls[0] == "build-start"
    # NOTE: before the engine has it: from there the run waits (what Validation preloads behind)
    assert re.fullmatch(r"build-context: sending \d+(\.\d+)? kB of context", calls[1])
    assert calls[2].startswith("engine: build of ")
    assert calls[3:] == ["build-step", "build-step", "build-done"]


@pytest.mark.parametrize(
    ("size", "said"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (2048, "2.05 kB"),
        (1_234_567, "1.23 MB"),
        (2_500_000_000, "2.5 GB"),
    ],
)
def test_a_context_size_is_said_as_the_docker_client_says_it(size: int, said: str) -> None:
    assert building._amount(size) == said
