"""A fake engine behind the seam: builds are instant, the probe answers what a test says.

It records every call, so tests can assert what a validation run asked of its engine. Images
are "built" as `sha256:<image name>-<build number>`; `lose_after` makes the engine stop
answering after that many builds, as a host that goes away mid-run does. `save`/`load` move
an image (a base, by its reference) from one fake to another.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from stablebuild.checks.inputs import ImageMeta, InterpreterFacts, RunOutcome
from stablebuild.engine.build import BuildRequest
from stablebuild.engine.containers import ContainerResult
from stablebuild.engine.interface import Capabilities, EngineInterface
from stablebuild.errors import EngineUnavailable
from stablebuild.events import Event, Observer, ignore
from stablebuild.manifest.model import Manifest
from stablebuild.probe.probe import MARKER
from stablebuild.report.model import BuildOutcome, BuildStatus, Report


class FakeEngine(EngineInterface):
    def __init__(
        self,
        name: str = "fake",
        *,
        runtimes: Sequence[str] = ("runc",),
        labels: Sequence[str] = (),
        cpus: int = 4,
        probe_facts: Mapping[str, dict[str, Any]] | None = None,
        failing: Sequence[str] = (),
        lose_after: int | None = None,
    ) -> None:
        self._capabilities = Capabilities(
            name=name,
            endpoint=f"unix:///run/{name}.sock",
            server_version="26.1.0",
            api_version="1.45",
            runtimes=tuple(runtimes),
            cpus=cpus,
            labels=tuple(labels),
        )
        self.probe_facts = dict(probe_facts or {})
        self.failing = set(failing)
        self.lose_after = lose_after
        self.images: set[str] = set()
        self.tags: dict[str, str] = {}
        self.calls: list[tuple[str, str]] = []
        self.removed_runs: list[str | None] = []
        self.stack_runs = 0
        self._lock = threading.Lock()

    def _call(self, what: str, subject: str) -> None:
        with self._lock:
            if self.lose_after is not None and self.builds >= self.lose_after:
                raise EngineUnavailable(
                    f"the engine at {self._capabilities.endpoint} stopped answering",
                    "check that dockerd is still running",
                )
            self.calls.append((what, subject))

    @property
    def builds(self) -> int:
        return sum(1 for what, _ in self.calls if what == "build")

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def inputs_digest(
        self,
        *,
        context: Path,
        dockerfile: Path,
        args: Mapping[str, str],
        target: str | None,
        ca_bundle: Path | None,
    ) -> str | None:
        text = dockerfile.read_text(encoding="utf-8")
        return json.dumps([text, sorted(args.items()), target])

    def build(
        self, request: BuildRequest, observer: Observer = ignore, ca_bundle: Path | None = None
    ) -> BuildOutcome:
        self._call("build", request.image)
        observer(Event(request.image, "build-done"))
        if request.image in self.failing:
            line = "E: Unable to locate package libavcodec-extra99"
            return BuildOutcome(BuildStatus.FAILED, seconds=1.0, error=line, log=[line])
        image_id = f"sha256:{request.image}-{self.builds}"
        with self._lock:
            self.images.add(image_id)
        return BuildOutcome(BuildStatus.BUILT, seconds=2.5, image_id=image_id)

    def image_exists(self, image_id: str) -> bool:
        return image_id in self.images

    def inspect(self, image_id: str, build_seconds: float | None = None) -> ImageMeta:
        self._call("inspect", image_id)
        return ImageMeta(image_id, 210 * 1024**2, "1000", ("CMD", "true"), layers=12)

    def run_probe(
        self, image_id: str, argv: Sequence[str], *, run_id: str, timeout: float, gpu: bool
    ) -> ContainerResult:
        self._call("probe", image_id)
        name = image_id.removeprefix("sha256:").rsplit("-", 1)[0]
        facts = self.probe_facts.get(name)
        if facts is None:
            return ContainerResult(1, "", "ModuleNotFoundError: No module named 'encodings'")
        return ContainerResult(0, MARKER + json.dumps(facts) + "\n", "")

    def interpreter(
        self, image_id: str, interpreter: str, *, run_id: str, search_path: str | None
    ) -> InterpreterFacts:
        self._call("interpreter", image_id)
        return InterpreterFacts(interpreter, None, end="missing")

    def trial_run(
        self,
        image_id: str,
        *,
        run_id: str,
        env: Mapping[str, str],
        port: int | None,
        health_path: str | None,
        start_seconds: float,
        command: Sequence[str] = (),
    ) -> RunOutcome:
        self._call("trial", image_id)
        return RunOutcome(
            started=True,
            healthy=True,
            seconds_to_healthy=1.5,
            health_status="healthy",
            endpoint_status=200,
            endpoint_error=None,
            exit_code=None,
        )

    def tag(self, image_id: str, repository: str, tag: str) -> None:
        self.tags[f"{repository}:{tag}"] = image_id

    def remove_tag(self, tag: str) -> bool:
        return self.tags.pop(tag, None) is not None

    def save(self, ref: str) -> Iterator[bytes]:
        self._call("save", ref)
        yield f"image {ref}".encode()

    def load(self, data: Iterable[bytes]) -> None:
        text = b"".join(data).decode()
        self._call("load", text.removeprefix("image "))
        with self._lock:
            self.images.add(text.removeprefix("image "))

    def remove_containers(self, run_id: str | None = None) -> int:
        self.removed_runs.append(run_id)
        return 0

    def events(self, run_id: str, since: float, until: float) -> list[dict[str, Any]]:
        return []

    def run_stack(
        self,
        manifest: Manifest,
        report: Report,
        *,
        enabled: bool,
        extra_args: Mapping[str, str],
        build_timeout: float,
        observer: Observer,
    ) -> None:
        self.stack_runs += 1
