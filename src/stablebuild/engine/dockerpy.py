"""The docker-py implementation of the engine seam; with engine/*, the only code using docker-py.

Every docker-py or requests failure leaving this module is a `stablebuild.errors` one, naming
the endpoint really used.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import docker
import docker.errors
import requests.exceptions
from docker.utils import parse_repository_tag

from stablebuild.engine import archive, cleanup, containers, inputs, trust
from stablebuild.engine import build as building
from stablebuild.engine.client import LABEL_RUN, Engine
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

# NOTE: for code outside engine/ that must tell an engine failure from its own bugs without
# importing docker-py itself.
ENGINE_FAILURES: tuple[type[Exception], ...] = (
    docker.errors.DockerException,
    requests.exceptions.RequestException,
)
ENGINE_LOST: tuple[type[Exception], ...] = (requests.exceptions.ConnectionError,)


def endpoint_of(engine: Engine) -> str:
    """Where the client really talks to: its base URL, the socket path for a unix one."""
    url = str(getattr(engine.api, "base_url", "") or "")
    adapter = getattr(engine.api, "_custom_adapter", None)
    sock = getattr(adapter, "socket_path", None)
    if sock:
        return f"unix://{sock}"
    return url or "the default engine"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


@contextlib.contextmanager
def translated(endpoint: str) -> Iterator[None]:
    """docker-py / requests failures as the errors the CLI knows how to report."""
    try:
        yield
    except requests.exceptions.ConnectionError as exc:
        raise EngineUnavailable(
            f"the engine at {endpoint} stopped answering: {_first_line(exc)}",
            "check that dockerd is still running (`docker info`), then run again",
        ) from None
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise EngineError(f"the engine at {endpoint} failed: {_first_line(exc)}") from None


def find_image(engine: Engine, ref: str) -> str | None:
    """The id of `ref` on this engine, None when it has no such image."""
    with translated(endpoint_of(engine)):
        try:
            return str(engine.api.inspect_image(ref)["Id"])
        except docker.errors.ImageNotFound:
            return None


def import_rootfs(engine: Engine, tarball: Path, ref: str, changes: list[str]) -> None:
    """`docker import` a root file system tarball as `ref`."""
    repository, tag = parse_repository_tag(ref)
    with translated(endpoint_of(engine)):
        engine.api.import_image_from_file(
            str(tarball), repository=repository, tag=tag or "latest", changes=changes
        )


def pull(image: str, timeout: float) -> None:
    """Pull `image` on the engine DOCKER_HOST / the current context names (raises EngineError)."""
    try:
        client = docker.from_env(timeout=int(timeout) + 1)
    except docker.errors.DockerException as exc:
        raise EngineError(_first_line(exc)) from None
    with translated(endpoint_of(Engine(api=client.api, info={}))):
        client.api.pull(image)


class DockerPyEngine(EngineInterface):
    """An engine reached through docker-py."""

    def __init__(self, engine: Engine, name: str | None = None, labels: Sequence[str] = ()) -> None:
        self.engine = engine
        self.endpoint = endpoint_of(engine)
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
        except ENGINE_FAILURES as exc:
            raise EngineUnavailable(
                f"the engine at {self.endpoint} stopped answering while building {image}: "
                + _first_line(exc),
                "check that dockerd is still running (`docker info`), then run again",
            ) from None

    def _build(
        self, request: BuildRequest, observer: Observer, ca_bundle: Path | None
    ) -> BuildOutcome:
        with self._translated():
            if ca_bundle is None:
                return building.build(self.engine, request, observer)
            try:
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
                    request = replace(request, dockerfile=plan.dockerfile)
                outcome = building.build(self.engine, request, observer)
                outcome.log.insert(0, plan.note)
                return outcome
            finally:
                plan.close()

    def image_exists(self, image_id: str) -> bool:
        return find_image(self.engine, image_id) is not None

    def inspect(self, image_id: str, build_seconds: float | None = None) -> ImageMeta:
        with self._translated():
            return containers.image_meta(self.engine, image_id, build_seconds)

    def run_probe(
        self, image_id: str, argv: Sequence[str], *, run_id: str, timeout: float, gpu: bool
    ) -> ContainerResult:
        with self._translated():
            return containers.run_locked(
                self.engine, image_id, argv, run_id=run_id, timeout=timeout, gpu=gpu
            )

    def interpreter(
        self, image_id: str, interpreter: str, *, run_id: str, search_path: str | None
    ) -> InterpreterFacts:
        with self._translated():
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
            return cleanup.remove_tag(self.engine, tag)

    def push(self, reference: str) -> str:
        repository, tag = parse_repository_tag(reference)
        digest = None
        with self._translated():
            for chunk in self.engine.api.push(repository, tag=tag, stream=True, decode=True):
                if "error" in chunk:
                    raise EngineError(f"push {reference}: {_first_line(Exception(chunk['error']))}")
                digest = (chunk.get("aux") or {}).get("Digest") or digest
        if not digest:
            raise EngineError(f"push {reference}: the registry reported no digest")
        return str(digest)

    def registry_digest(self, reference: str) -> str | None:
        with self._translated():
            try:
                found = self.engine.api.inspect_distribution(reference)
            except docker.errors.NotFound:
                return None
        return str(found["Descriptor"]["digest"])

    def save(self, ref: str) -> Iterator[bytes]:
        # NOTE: a generator: the engine is asked while the consumer iterates, so the
        # translation must hold there too, naming this (the source) engine.
        with self._translated():
            yield from self.engine.api.get_image(ref)

    def load(self, data: Iterable[bytes]) -> None:
        with self._translated():
            for chunk in self.engine.api.load_image(data) or ():
                if isinstance(chunk, dict) and "error" in chunk:
                    raise EngineError(f"load into {self.endpoint}: {str(chunk['error'])[:200]}")

    def remove_containers(self, run_id: str | None = None) -> int:
        with self._translated():
            return cleanup.remove_containers(self.engine, run_id)

    def events(self, run_id: str, since: float, until: float) -> list[dict[str, Any]]:
        with self._translated():
            stream = self.engine.api.events(
                since=int(since),
                until=int(min(until, time.time())),
                filters={"label": f"{LABEL_RUN}={run_id}"},
                decode=True,
            )
            return [dict(event) for event in stream]

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
