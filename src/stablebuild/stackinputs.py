"""What a stack phase's verdict depends on, as one digest: the same digest, the same verdict.

A passing stack phase is remembered under this digest (`cache.py`); a later run with the same
images, compose files, `.env` and `env_file:` contents, environment values the compose files
name, supporting images (as the engine has them) and compose program reuses that verdict
rather than starting the whole stack again (a minute on the reference stack).

Services compose builds for the run (`stack.build`) count by their build inputs, hashed the way
an image's are (the Dockerfile, the context after .dockerignore, the args, the base images' ids).

Anything that cannot be known for sure gives no digest, and the phase runs: a service compose
would build that `stack.build` does not name, an image reference or build value the environment
completes (`${TAG}`), a supporting image the engine lacks (compose would pull it), a compose
file that cannot be read, `extends:`.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from stablebuild import textfile
from stablebuild.answer import current_code
from stablebuild.buildargs import masked
from stablebuild.manifest.model import Manifest, StackSpec

# `$NAME`, `${NAME}`, `${NAME:-default}`...: compose fills these from the environment.
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
# Where `docker compose` (v2) may live besides the PATH's programs.
_COMPOSE_PLUGINS = (
    "~/.docker/cli-plugins/docker-compose",
    "/usr/local/lib/docker/cli-plugins/docker-compose",
    "/usr/libexec/docker/cli-plugins/docker-compose",
    "/usr/lib/docker/cli-plugins/docker-compose",
)


class StackInputs(NamedTuple):
    """The digest, and the parts of it a remembered answer checks again (`answer.py`)."""

    digest: str
    images: Mapping[str, str]  # supporting image reference -> id
    environment: tuple[str, ...]  # the environment variables the compose files name
    builds: tuple[tuple[Path, Mapping[str, str]], ...] = ()  # built services: Dockerfile, args


# A build's inputs digest: (context, Dockerfile, args, target) -> digest, None if unknown.
BuildDigest = Callable[[Path, Path, Mapping[str, str], "str | None"], "str | None"]


def stack_inputs(
    manifest: Manifest,
    images: Mapping[str, str],
    image_id: Callable[[str], str | None],
    build_digest: BuildDigest,
    *,
    extra_args: Mapping[str, str],
    endpoint: str,
) -> StackInputs | None:
    """The digest of everything the stack phase's verdict depends on, or None if unknown.

    `images`: the run's manifest images by name -> image id; `image_id` resolves a reference
    on the engine that would run the stack (None: absent there); `build_digest` hashes the
    inputs of a service compose builds.
    """
    from stablebuild.cache import digest  # NOTE: cache imports nothing of ours above it

    spec = manifest.stack
    if spec is None:
        return None
    texts: dict[str, str] = {}
    for path in (*spec.compose, manifest.root / ".env"):
        text = _read(path, manifest.root)
        if text is None and path.name != ".env":
            return None
        texts[_relative(path, manifest.root)] = text or ""
    documents = [_load(texts[_relative(p, manifest.root)]) for p in spec.compose]
    if any(d is None for d in documents):
        return None
    services = dict(_services(documents))
    supporting: dict[str, str] = {}
    built: dict[str, str] = {}
    builds: list[tuple[Path, Mapping[str, str]]] = []
    enabled = set(spec.profiles)
    for name, service in services.items():
        profiles = service.get("profiles") or []
        if isinstance(profiles, list) and profiles and not set(profiles) & enabled:
            continue  # NOTE: compose leaves a service of a profile not enabled alone
        if "extends" in service:
            return None
        if name in spec.services:
            continue  # runs the image just validated, by id
        if name in spec.build:
            section = _build_section(service.get("build"), manifest.root)
            if section is None:
                return None
            found_build = build_digest(*section)
            if found_build is None:
                return None
            built[name] = found_build
            builds.append((section[1], section[2]))
        elif "build" in service and "image" not in service:
            return None  # compose would build it (or refuse it): not known here
        env_files = service.get("env_file") or []
        for env_file in [env_files] if isinstance(env_files, str) else env_files:
            where = env_file.get("path") if isinstance(env_file, dict) else env_file
            if not isinstance(where, str):
                return None
            text = _read(manifest.root / where, manifest.root)
            if text is None:
                return None
            texts[where] = text
        ref = service.get("image")
        if ref is None or name in spec.build:
            continue  # NOTE: a built service's `image:` is the tag compose gives it
        if not isinstance(ref, str) or "$" in ref:
            return None
        found = image_id(ref)
        if found is None:
            return None
        supporting[ref] = found
    named = sorted({m.group(1) for text in texts.values() for m in _VARIABLE.finditer(text)})
    validated = {service: images.get(image) for service, image in spec.services.items()}
    if not all(validated.values()):
        return None
    found = digest(
        "stack-phase",
        current_code(),
        _portable(spec, manifest.root),
        texts,
        {name: os.environ.get(name) for name in named},
        validated,
        supporting,
        built,
        masked(dict(extra_args)),
        endpoint,
        _compose_programs(),
    )
    return StackInputs(found, supporting, tuple(named), tuple(builds))


def _read(path: Path, root: Path) -> str | None:
    text = textfile.read_text(path, root=root)
    return None if isinstance(text, textfile.Unreadable) else text


def _relative(path: Path, root: Path) -> str:
    return os.path.relpath(path, root)


def _load(text: str) -> Any:
    """The compose document, within the YAML bounds; None when it is not one."""
    import yaml

    from stablebuild.yamlbounds import load

    try:
        document = load(text)
    except yaml.YAMLError:
        return None
    if document is None:
        return {}
    return document if isinstance(document, dict) else None


def _services(documents: list[Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each service with its mappings merged across the files, as compose combines them."""
    merged: dict[str, dict[str, Any]] = {}
    for document in documents:
        services = document.get("services") or {}
        if not isinstance(services, dict):
            continue
        for name, service in services.items():
            if isinstance(service, dict):
                _merge(merged.setdefault(str(name), {}), service)
    yield from merged.items()


def _merge(into: dict[str, Any], more: dict[str, Any]) -> None:
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _build_section(build: Any, root: Path) -> tuple[Path, Path, dict[str, str], str | None] | None:
    """A service's `build:` as (context, Dockerfile, args, target); None when it depends on
    the environment, leaves the stack's folder, or is not one."""
    section = {"context": build} if isinstance(build, str) else build
    if not isinstance(section, dict):
        return None
    raw_args = section.get("args") or {}
    if isinstance(raw_args, list):
        raw_args = dict(str(a).partition("=")[::2] for a in raw_args)
    if not isinstance(raw_args, dict) or any(v is None for v in raw_args.values()):
        return None  # `args: [NAME]` takes the environment's value
    args = {str(k): str(v) for k, v in raw_args.items()}
    context_text, dockerfile_text = section.get("context", "."), section.get("dockerfile")
    target = section.get("target")
    texts = [context_text, dockerfile_text or "", target or "", *args.values()]
    if not all(isinstance(t, str) and "$" not in t for t in texts):
        return None
    context = (root / context_text).resolve()
    dockerfile = (context / (dockerfile_text or "Dockerfile")).resolve()
    top = root.resolve()
    if not (textfile.inside(context, top) and textfile.inside(dockerfile, top)):
        return None
    return context, dockerfile, args, target


def _portable(spec: StackSpec, root: Path) -> str:
    """The spec with its paths relative: where the checkout lies does not change a verdict."""
    return repr(spec._replace(compose=tuple(Path(_relative(p, root)) for p in spec.compose)))


def _compose_programs() -> list[tuple[str, int, int]]:
    """Which compose programs exist, and their size and change time: an upgrade is a change."""
    found = []
    paths = [shutil.which("docker"), shutil.which("docker-compose")]
    paths += [os.path.expanduser(p) for p in _COMPOSE_PLUGINS]
    for path in paths:
        if not path:
            continue
        try:
            st = os.stat(path)
        except OSError:
            continue
        found.append((path, st.st_size, st.st_mtime_ns))
    return found


__all__ = ["BuildDigest", "StackInputs", "stack_inputs"]
