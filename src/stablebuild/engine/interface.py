"""The one engine seam: what a validation run asks of an engine, and nothing docker-py shaped.

`ApiEngine` (engine/apiengine.py) is the real implementation; the unit tests use a fake.
Every method raises only `stablebuild.errors` exceptions: `EngineUnavailable` when the engine
stopped answering (the scheduler may retry elsewhere), `EngineError` for anything else the
engine got wrong. A failed build or probe is an outcome, never an exception.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from stablebuild.errors import EngineError
from stablebuild.events import Observer, ignore

if TYPE_CHECKING:
    from stablebuild.checks.inputs import ImageMeta, InterpreterFacts, RunOutcome
    from stablebuild.engine.build import BuildRequest
    from stablebuild.engine.containers import ContainerResult
    from stablebuild.manifest.model import Manifest
    from stablebuild.report.model import BuildOutcome, Report


class Capabilities(NamedTuple):
    """What an engine is and can do, as `docker info` said when it was reached."""

    name: str  # the context name, or the endpoint when none was named
    endpoint: str  # where it really answered: unix:///..., tcp://..., ssh://...
    server_version: str | None
    api_version: str
    runtimes: tuple[str, ...] = ()
    os_arch: str = ""
    cpus: int | None = None
    memory_bytes: int | None = None
    labels: tuple[str, ...] = ()
    unreachable: str | None = None  # why it did not answer when the run started

    @property
    def nvidia_runtime(self) -> bool:
        return "nvidia" in self.runtimes

    @property
    def reachable(self) -> bool:
        return self.unreachable is None

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "name": self.name,
            "endpoint": self.endpoint,
            "server_version": self.server_version,
            "api_version": self.api_version,
            "runtimes": list(self.runtimes),
            "nvidia_runtime": self.nvidia_runtime,
            "os_arch": self.os_arch,
            "cpus": self.cpus,
            "memory_bytes": self.memory_bytes,
            "labels": list(self.labels),
            "reachable": self.reachable,
        }
        if self.unreachable is not None:
            found["error"] = self.unreachable
        return found


class EngineInterface(ABC):
    """One engine a run can build, probe and trial-run images on."""

    @property
    @abstractmethod
    def capabilities(self) -> Capabilities: ...

    @abstractmethod
    def inputs_digest(
        self,
        *,
        context: Path,
        dockerfile: Path,
        args: Mapping[str, str],
        target: str | None,
        ca_bundle: Path | None,
    ) -> str | None:
        """The build-inputs digest (base image ids as this engine has them), None if unknown."""

    @abstractmethod
    def build(
        self, request: BuildRequest, observer: Observer = ignore, ca_bundle: Path | None = None
    ) -> BuildOutcome:
        """Build; with `ca_bundle`, the builder stages trust it (the final image does not)."""

    @abstractmethod
    def image_exists(self, image_id: str) -> bool: ...

    @abstractmethod
    def inspect(self, image_id: str, build_seconds: float | None = None) -> ImageMeta: ...

    @abstractmethod
    def run_probe(
        self, image_id: str, argv: Sequence[str], *, run_id: str, timeout: float, gpu: bool
    ) -> ContainerResult:
        """Run `argv` locked down (no network, read-only root, limits); always removed."""

    @abstractmethod
    def interpreter(
        self, image_id: str, interpreter: str, *, run_id: str, search_path: str | None
    ) -> InterpreterFacts:
        """The interpreter as the image's files show it, nothing started."""

    @abstractmethod
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
    ) -> RunOutcome: ...

    @abstractmethod
    def tag(self, image_id: str, repository: str, tag: str) -> None: ...

    @abstractmethod
    def remove_tag(self, tag: str) -> bool: ...

    # NOTE: not abstract: only `stablebuild promote --push` needs them, and an engine that
    # cannot push says so rather than every implementation having to.
    def push(self, reference: str) -> str:
        """Push `reference` (credentials from the Docker config); the digest the registry gave."""
        raise EngineError(f"the engine {self.capabilities.name} cannot push images")

    def registry_digest(self, reference: str) -> str | None:
        """The digest the registry holds for `reference`; None when it holds none."""
        raise EngineError(f"the engine {self.capabilities.name} cannot ask a registry")

    # NOTE: not abstract either: copying a base between engines is an optimisation; without
    # it the build pulls the base or fails naming it, as on one engine.
    def save(self, ref: str) -> Iterator[bytes]:
        """The image as `docker save` writes it, streamed (errors arise while iterating)."""
        raise EngineError(f"the engine {self.capabilities.name} cannot save images")

    def load(self, data: Iterable[bytes]) -> None:
        """`docker load` of what another engine's `save` streams."""
        raise EngineError(f"the engine {self.capabilities.name} cannot load images")

    @abstractmethod
    def remove_containers(self, run_id: str | None = None) -> int:
        """Remove the run's containers (every stablebuild container when None)."""

    @abstractmethod
    def events(self, run_id: str, since: float, until: float) -> list[dict[str, Any]]:
        """The engine's events for the run's containers between two epoch times."""

    @abstractmethod
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
        """The manifest's stack phase (compose up, smoke, down) on this engine."""
