"""Which engines a run uses: `--engine` values, the manifest's `engines:`, or the current
Docker context; and connecting to each, with failures naming the endpoint really used."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import docker
import docker.errors
from docker.context import ContextAPI

from stablebuild.engine.apiengine import ApiEngine
from stablebuild.engine.client import START_HINT, connect_socket, shown
from stablebuild.engine.dockerpy import current_endpoint, engine_for
from stablebuild.engine.interface import EngineInterface
from stablebuild.engine.unreachable import UnreachableEngine
from stablebuild.errors import EngineUnavailable, StablebuildError, UsageError
from stablebuild.manifest.model import EngineSpec

SCHEMES = ("unix://", "tcp://", "ssh://", "npipe://")
DEFAULT = "default"  # what DOCKER_HOST or the current context names


def chosen(manifest_engines: Sequence[EngineSpec], cli: Sequence[str]) -> list[EngineSpec]:
    """`--engine` values (a manifest engine's name, a context name or a URL) win over the
    manifest's list; with neither, the current context alone."""
    declared = {spec.name: spec for spec in manifest_engines}
    if cli:
        specs = []
        for value in dict.fromkeys(cli):
            if value.startswith(SCHEMES):
                specs.append(EngineSpec(value, value))
            else:
                specs.append(declared.get(value, EngineSpec(value)))
        return specs
    if manifest_engines:
        return list(manifest_engines)
    return [EngineSpec(DEFAULT)]


def _client_kwargs(spec: EngineSpec) -> tuple[str, dict[str, object]]:
    """The endpoint and docker-py client arguments for one engine."""
    if spec.endpoint is not None:
        endpoint = spec.endpoint
        kwargs = docker.utils.kwargs_from_env(environment={**os.environ, "DOCKER_HOST": endpoint})
        return endpoint, {**kwargs, "use_ssh_client": endpoint.startswith("ssh://")}
    if spec.name == DEFAULT:
        name, endpoint = current_endpoint()
        if name == endpoint:  # DOCKER_HOST, with DOCKER_TLS_VERIFY / DOCKER_CERT_PATH
            return endpoint, dict(docker.utils.kwargs_from_env())
        if name == DEFAULT:
            return endpoint, {"base_url": endpoint}
        spec = EngineSpec(name, None, spec.labels)
    context = ContextAPI.get_context(spec.name)
    if context is None:
        raise UsageError(
            f"no engine named {spec.name!r}: not in the manifest's engines and no Docker context",
            "list contexts with `docker context ls`, or pass --engine unix:///PATH|tcp://|ssh://",
        )
    return shown(str(context.Host)), {"base_url": context.Host, "tls": context.TLSConfig or False}


def connect_engine(spec: EngineSpec, timeout: int = 120) -> ApiEngine:
    """Connect to one engine; EngineUnavailable names the endpoint that did not answer."""
    endpoint, kwargs = _client_kwargs(spec)
    which = "" if spec.name in (endpoint, DEFAULT) else f" (engine {spec.name})"
    name = current_endpoint()[0] if spec.name == DEFAULT else spec.name
    plain = set(kwargs) <= {"base_url", "use_ssh_client"} and not kwargs.get("tls")
    if endpoint.startswith("unix://") and plain:
        engine = connect_socket(endpoint[len("unix://") :], timeout, which)
        return ApiEngine(engine, name=name, labels=spec.labels)
    try:
        client = docker.APIClient(version="auto", timeout=timeout, **kwargs)  # type: ignore[arg-type]
        info = client.info()
    except docker.errors.DockerException:
        raise EngineUnavailable(
            f"no Docker engine answers at {endpoint}{which}", START_HINT
        ) from None
    except Exception as exc:  # NOTE: requests / paramiko failures of an ssh:// or tcp:// host
        raise EngineUnavailable(
            f"no Docker engine answers at {endpoint}{which}: {type(exc).__name__}",
            START_HINT,
        ) from None
    return ApiEngine(engine_for(client, info), name=name, labels=spec.labels)


def connect_all(
    manifest_engines: Sequence[EngineSpec], cli: Sequence[str], timeout: int = 120
) -> list[ApiEngine]:
    """Every engine of the run, connected; one that does not answer stops the run (exit 3)
    before anything is built: its pinned or GPU images would otherwise land elsewhere."""
    engines = [connect_engine(spec, timeout) for spec in chosen(manifest_engines, cli)]
    names = [e.capabilities.name for e in engines]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(
            f"engine {', '.join(twice)} given twice", "name each engine once in --engine/engines:"
        )
    return engines


def connect_available(
    manifest_engines: Sequence[EngineSpec],
    cli: Sequence[str],
    warn: Callable[[str], None],
    timeout: int = 120,
    meanwhile: str = "its images go to the others",
) -> list[EngineInterface]:
    """Every engine of the run: those that answer first, then one `UnreachableEngine` for each
    that did not (skipped, with a warning naming the endpoint really used; the report lists it).

    Nothing is placed on an unreachable engine: its images go to the others that may take
    them. None answering is EngineUnavailable (exit 3); an unknown name is a UsageError."""
    answered: list[EngineInterface] = []
    skipped: list[UnreachableEngine] = []
    for spec in chosen(manifest_engines, cli):
        try:
            answered.append(connect_engine(spec, timeout))
        except EngineUnavailable as exc:
            endpoint = _client_kwargs(spec)[0]
            name = current_endpoint()[0] if spec.name == DEFAULT else spec.name
            skipped.append(UnreachableEngine(name, endpoint, exc, spec.labels))
    if not answered:
        if len(skipped) == 1:
            raise skipped[0].error
        where = "; ".join(e.error.message for e in skipped)
        raise EngineUnavailable(f"no engine of this run answers: {where}", START_HINT)
    for engine in skipped:
        name, why = engine.capabilities.name, engine.error.message
        warn(f"warning: engine {name} skipped: {why}; {meanwhile}")
    engines: list[EngineInterface] = [*answered, *skipped]
    names = [e.capabilities.name for e in engines]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(
            f"engine {', '.join(twice)} given twice", "name each engine once in --engine/engines:"
        )
    return engines


def manifest_engines(directory: Path) -> tuple[EngineSpec, ...]:
    """The `engines:` of the stack in `directory`, if it has a manifest that loads."""
    from stablebuild.manifest.load import find_manifest, load_manifest

    path = find_manifest(directory)
    if path is None:
        return ()
    try:
        return load_manifest(path, inside=directory).engines
    except StablebuildError:
        return ()  # NOTE: doctor and clean look at engines; `validate` reports a bad manifest
