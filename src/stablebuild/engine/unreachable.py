"""An engine that did not answer when the run started: it keeps its place in the report (with
the reason), nothing is placed on it, and anything asked of it raises EngineUnavailable."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from stablebuild.engine.interface import Capabilities, EngineInterface
from stablebuild.errors import EngineUnavailable
from stablebuild.events import Observer, ignore

if TYPE_CHECKING:
    from stablebuild.checks.inputs import ImageMeta, InterpreterFacts, RunOutcome
    from stablebuild.engine.build import BuildRequest
    from stablebuild.engine.containers import ContainerResult
    from stablebuild.manifest.model import Manifest
    from stablebuild.report.model import BuildOutcome, Report


class UnreachableEngine(EngineInterface):
    """The place of an engine that did not answer; `error` is why, naming its endpoint."""

    def __init__(
        self, name: str, endpoint: str, error: EngineUnavailable, labels: Sequence[str] = ()
    ) -> None:
        self.error = error
        self._capabilities = Capabilities(
            name=name,
            endpoint=endpoint,
            server_version=None,
            api_version="",
            labels=tuple(labels),
            unreachable=error.message,
        )

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def _refuse(self) -> NoReturn:
        raise EngineUnavailable(self.error.message, self.error.hint)

    def inputs_digest(
        self,
        *,
        context: Path,
        dockerfile: Path,
        args: Mapping[str, str],
        target: str | None,
        ca_bundle: Path | None,
    ) -> str | None:
        self._refuse()

    def build(
        self, request: BuildRequest, observer: Observer = ignore, ca_bundle: Path | None = None
    ) -> BuildOutcome:
        self._refuse()

    def image_exists(self, image_id: str) -> bool:
        return False

    def inspect(self, image_id: str, build_seconds: float | None = None) -> ImageMeta:
        self._refuse()

    def run_probe(
        self, image_id: str, argv: Sequence[str], *, run_id: str, timeout: float, gpu: bool
    ) -> ContainerResult:
        self._refuse()

    def interpreter(
        self, image_id: str, interpreter: str, *, run_id: str, search_path: str | None
    ) -> InterpreterFacts:
        self._refuse()

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
        self._refuse()

    def tag(self, image_id: str, repository: str, tag: str) -> None:
        self._refuse()

    def remove_tag(self, tag: str) -> bool:
        return False

    def remove_containers(self, run_id: str | None = None) -> int:
        return 0  # NOTE: nothing of this run can be there: it never answered

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
        self._refuse()
