"""What a build depends on, hashed: the Dockerfile, the context after .dockerignore, the build
args, the target, the ids of the images it reads (its bases and those `COPY --from=IMAGE`
copies from) and the CA bundle. Equal hash, same image."""

from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from stablebuild import __version__
from stablebuild.engine.api import NotFound
from stablebuild.engine.client import Engine
from stablebuild.engine.context import included
from stablebuild.stages import images_read, parse, split_flags, stage_args, substitute

_CONTENT_LIMIT = 1024 * 1024  # larger files are hashed by size and mtime, not content


# NOTE: stablebuild's own folder beside the manifest (history, vulnerability DB) changes on
# every run: sent with `COPY . .` it would bust the layer cache and ship the history.
OWN_FOLDER = (".stablebuild", ".stablebuild/**")


def dockerignore_patterns(context: Path) -> list[str]:
    """The context's .dockerignore patterns, then stablebuild's own folder (last: it wins)."""
    path = context / ".dockerignore"
    lines: list[str] = []
    if path.is_file():
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    own = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return [*own, *OWN_FOLDER]


def context_files(context: Path, dockerfile: Path) -> list[str]:
    """Every path Docker would send for this context, after .dockerignore, sorted."""
    try:
        rel_dockerfile = dockerfile.resolve().relative_to(context.resolve()).as_posix()
    except ValueError:
        rel_dockerfile = None
    return sorted(included(str(context), dockerignore_patterns(context), rel_dockerfile))


def copy_sources(text: str, args: Mapping[str, str]) -> list[str] | None:
    """Context paths (or globs) that COPY/ADD read; None when they cannot be told for sure."""
    df = parse(text)
    sources: list[str] = []
    for stage in df.stages:
        for ins in stage.instructions:
            if ins.keyword not in ("COPY", "ADD"):
                continue
            flags, words = split_flags(ins.value)
            if "from" in flags:
                continue
            values = stage_args(stage, df, args, before_line=ins.line)
            for word in words[:-1]:
                source = substitute(word, values)
                if source is None or "://" in source or source.startswith("git@"):
                    return None
                sources.append(source.lstrip("/").removeprefix("./").rstrip("/") or ".")
    return sources


def _used(files: list[str], sources: list[str]) -> list[str]:
    if "." in sources:
        return files
    used = []
    for rel in files:
        for source in sources:
            if rel == source or rel.startswith(source + "/") or fnmatch.fnmatch(rel, source):
                used.append(rel)
                break
            if fnmatch.fnmatch(rel.split("/")[0], source):  # a glob naming a folder
                used.append(rel)
                break
    return used


def context_digest(context: Path, dockerfile: Path, text: str, args: Mapping[str, str]) -> str:
    """Hash of the context files the Dockerfile reads (all of them when that is unclear)."""
    files = context_files(context, dockerfile)
    sources = copy_sources(text, args)
    digest = hashlib.sha256()
    for rel in files if sources is None else _used(files, sources):
        path = context / rel
        if path.is_symlink():
            digest.update(f"L {rel} {os.readlink(path)}\n".encode())
        elif path.is_file():
            stat = path.stat()
            digest.update(f"F {rel} {stat.st_mode & 0o777} {stat.st_size}\n".encode())
            if stat.st_size <= _CONTENT_LIMIT:
                digest.update(hashlib.sha256(path.read_bytes()).digest())
            else:
                digest.update(str(stat.st_mtime_ns).encode())
        elif path.is_dir():
            digest.update(f"D {rel}\n".encode())
    return digest.hexdigest()


def base_refs(
    dockerfile_text: str, args: Mapping[str, str], target: str | None = None
) -> list[str] | None:
    """Every external image a build of `target` reads (`stages.images_read`: FROM and
    `COPY --from=IMAGE`); None when one cannot be told."""
    refs = images_read(parse(dockerfile_text), args, target)
    return None if None in refs else [ref for ref in refs if ref is not None]


def base_image_ids(
    engine: Engine, dockerfile_text: str, args: Mapping[str, str], target: str | None = None
) -> dict[str, str] | None:
    """Id of every external image a build of `target` reads; None when one is unknown."""
    refs = base_refs(dockerfile_text, args, target)
    if refs is None:
        return None
    ids: dict[str, str] = {}
    for image in refs:
        try:
            ids[image] = str(engine.api.inspect_image(image)["Id"])
        except NotFound:
            return None
    return ids


def build_inputs_digest(
    engine: Engine,
    *,
    context: Path,
    dockerfile: Path,
    args: Mapping[str, str],
    target: str | None,
    ca_bundle: Path | None,
) -> str | None:
    """The digest of all build inputs, or None when it cannot be known (then always build)."""
    try:
        text = dockerfile.read_text(encoding="utf-8")
    except OSError:
        return None
    bases = base_image_ids(engine, text, args, target)
    if bases is None:
        return None
    digest = hashlib.sha256()
    for part in (
        __version__,
        text,
        context_digest(context, dockerfile, text, args),
        repr(sorted(args.items())),
        target or "",
        repr(sorted(bases.items())),
        hashlib.sha256(ca_bundle.read_bytes()).hexdigest() if ca_bundle else "",
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()
