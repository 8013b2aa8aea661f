"""The engine seam's implementation: `EngineAPI` calls, whichever transport carries them.

Every engine failure leaving this module is a `stablebuild.errors` one, naming the endpoint
really used: `EngineUnavailable` when the engine stopped answering, `EngineError` otherwise.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stablebuild.engine import build as building
from stablebuild.engine import inputs
from stablebuild.engine.api import ApiError, EngineLost, NotFound, TimedOut
from stablebuild.engine.client import LABEL_RUN, STILL_RUNNING_HINT, Engine
from stablebuild.engine.interface import Capabilities, EngineInterface
from stablebuild.errors import EngineError, EngineUnavailable
from stablebuild.events import Observer, ignore
from stablebuild.report.model import BuildOutcome, BuildStatus

if TYPE_CHECKING:
    from stablebuild.checks.inputs import ImageMeta, InterpreterFacts, RunOutcome
    from stablebuild.engine.build import BuildRequest
    from stablebuild.engine.containers import ContainerResult
    from stablebuild.manifest.model import Manifest
    from stablebuild.report.model import Report


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


@contextlib.contextmanager
def translated(endpoint: str) -> Iterator[None]:
    """The engine API's failures as the errors the CLI knows how to report."""
    try:
        yield
    except (EngineLost, TimedOut) as exc:
        raise EngineUnavailable(
            f"the engine at {endpoint} stopped answering: {first_line(exc)}", STILL_RUNNING_HINT
        ) from None
    except ApiError as exc:
        raise EngineError(f"the engine at {endpoint} failed: {first_line(exc)}") from None


def find_image(engine: Engine, ref: str) -> str | None:
    """The id of `ref` on this engine, None when it has no such image."""
    with translated(engine.api.endpoint):
        try:
            return str(engine.api.inspect_image(ref)["Id"])
        except NotFound:
            return None


class ApiEngine(EngineInterface):
    """An engine reached through `EngineAPI` (a unix socket, or docker-py for the rest)."""

    def __init__(self, engine: Engine, name: str | None = None, labels: Sequence[str] = ()) -> None:
        self.engine = engine
        self.endpoint = str(engine.api.endpoint)
        info = engine.info
        self._capabilities = Capabilities(
            name=name or self.endpoint,
            endpoint=self.endpoint,
            server_version=info.get("ServerVersion"),
            api_version=engine.api_version,
            runtimes=tuple(engine.runtimes),
            os_arch=f"{info.get('OSType', '?')}/{info.get('Architecture', '?')}",
            cpus=info.get("NCPU"),
            memory_bytes=info.get("MemTotal"),
            labels=tuple(labels),
        )

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def _translated(self) -> contextlib.AbstractContextManager[None]:
        return translated(self.endpoint)

    def inputs_digest(
        self,
        *,
        context: Path,
        dockerfile: Path,
        args: Mapping[str, str],
        target: str | None,
        ca_bundle: Path | None,
    ) -> str | None:
        with self._translated():
            return inputs.build_inputs_digest(
                self.engine,
                context=context,
                dockerfile=dockerfile,
                args=args,
                target=target,
                ca_bundle=ca_bundle,
            )

    def build(
        self, request: BuildRequest, observer: Observer = ignore, ca_bundle: Path | None = None
    ) -> BuildOutcome:
        # NOTE: a daemon stopped mid-build kills the RUN step's container (exit 137) and the
        # build "fails"; only a failed build is followed by a ping, which tells the two apart.
        try:
            outcome = self._build(request, observer, ca_bundle)
        except EngineUnavailable:
            raise
        except EngineError:
            self._still_answering(request.image)
            raise
        if outcome.status is not BuildStatus.BUILT:
            self._still_answering(request.image)
        return outcome

    def _still_answering(self, image: str) -> None:
        try:
            self.engine.api.ping()
        except (ApiError, EngineLost, TimedOut) as exc:
            raise EngineUnavailable(
                f"the engine at {self.endpoint} stopped answering while building {image}: "
                + first_line(exc),
                STILL_RUNNING_HINT,
            ) from None

    def _build(
        self, request: BuildRequest, observer: Observer, ca_bundle: Path | None
    ) -> BuildOutcome:
        with self._translated():
            if ca_bundle is None:
                return building.build(self.engine, request, observer)
            try:
                from stablebuild.engine import trust  # NOTE: only a build with a CA bundle

                plan = trust.plan_trust(
                    self.engine,
                    request.dockerfile,
                    request.target,
                    dict(request.args),
                    ca_bundle,
                    request.redactor,
                )
            except EngineError as exc:
                return BuildOutcome(BuildStatus.FAILED, error=exc.message, log=[exc.message])
            try:
                if plan.dockerfile is not None:
                    request = request._replace(dockerfile=plan.dockerfile)
                outcome = building.build(self.engine, request, observer)
                outcome.log.insert(0, plan.note)
                return outcome
            finally:
                plan.close()

    def image_exists(self, image_id: str) -> bool:
        return find_image(self.engine, image_id) is not None

    def inspect(self, image_id: str, build_seconds: float | None = None) -> ImageMeta:
        with self._translated():
            from stablebuild.engine import containers  # NOTE: loaded during the build (`warm`)

            return containers.image_meta(self.engine, image_id, build_seconds)

    def run_probe(
        self, image_id: str, argv: Sequence[str], *, run_id: str, timeout: float, gpu: bool
    ) -> ContainerResult:
        with self._translated():
            from stablebuild.engine import containers  # NOTE: loaded during the build (`warm`)

            return containers.run_locked(
                self.engine, image_id, argv, run_id=run_id, timeout=timeout, gpu=gpu
            )

    def interpreter(
        self, image_id: str, interpreter: str, *, run_id: str, search_path: str | None
    ) -> InterpreterFacts:
        with self._translated():
            from stablebuild.engine import archive  # NOTE: only when the probe cannot start

            return archive.interpreter_facts(
                self.engine, image_id, interpreter, run_id=run_id, search_path=search_path
            )

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
        with self._translated():
            from stablebuild.engine import containers  # NOTE: loaded during the build (`warm`)

            return containers.trial_run(
                self.engine,
                image_id,
                run_id=run_id,
                env=env,
                port=port,
                health_path=health_path,
                start_seconds=start_seconds,
                command=command,
            )

    def tag(self, image_id: str, repository: str, tag: str) -> None:
        with self._translated():
            self.engine.api.tag(image_id, repository, tag)

    def remove_tag(self, tag: str) -> bool:
        with self._translated():
            from stablebuild.engine import cleanup

            return cleanup.remove_tag(self.engine, tag)

    # NOTE: pushing (registry credentials), save and load go through docker-py.
    def push(self, reference: str) -> str:
        from stablebuild.engine import dockerpy

        return dockerpy.push(self.engine, reference)

    def registry_digest(self, reference: str) -> str | None:
        from stablebuild.engine import dockerpy

        return dockerpy.registry_digest(self.engine, reference)

    def save(self, ref: str) -> Iterator[bytes]:
        from stablebuild.engine import dockerpy

        return dockerpy.save(self.engine, ref)

    def load(self, data: Iterable[bytes]) -> None:
        from stablebuild.engine import dockerpy

        dockerpy.load(self.engine, data)

    def remove_containers(self, run_id: str | None = None) -> int:
        with self._translated():
            from stablebuild.engine import cleanup

            return cleanup.remove_containers(self.engine, run_id)

    def events(self, run_id: str, since: float, until: float) -> list[dict[str, Any]]:
        with self._translated():
            found: list[dict[str, Any]] = self.engine.api.events(
                int(since), int(min(until, time.time())), {LABEL_RUN: run_id}
            )
            return found

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
        if manifest.stack is None:  # NOTE: the phase's modules (compose, HTTP) not loaded
            return
        # NOTE: imported here: the stack phase sits above the engine layer and imports it.
        from stablebuild.stack import run_stack

        run_stack(
            self.engine,
            manifest,
            report,
            enabled=enabled,
            extra_args=extra_args,
            build_timeout=build_timeout,
            observer=observer,
        )
