"""Which exact pins the wheel rules judge, and for which targets: (Python, wheel platform).

A pin is judged for the images that install it: their Pythons (the SB1xx discovery: the
Dockerfile's own ARG/FROM/RUN, its compose build args, else its project's version) and their
platforms, told from each image's base (`platforms.py`), unless `--platform`/`audit.platforms`
say otherwise. An assumed platform is said once per Dockerfile (SB308).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from stablebuild.audit import platforms as plat
from stablebuild.audit.dockerfiles import dockerfile_paths
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.pins import Inventory, indexes_for, inventory
from stablebuild.audit.project import Project
from stablebuild.audit.python_version import PythonDiscovery, discover, parse_version
from stablebuild.audit.releases import DistFile
from stablebuild.audit.requirements import Pin
from stablebuild.audit.rule import Rule

SB308 = Rule(
    "SB308",
    "TargetPlatformAssumed",
    Severity.INFO,
    "Target platform assumed: the base image does not tell its C library",
    "The target platform was assumed: a Dockerfile's base does not tell its C library (said "
    "once per Dockerfile), or no Dockerfile installs the pins; wheel coverage is judged for "
    "`manylinux_2_28` (glibc 2.28: Debian 10, Ubuntu 20.04 and RHEL 8 all have at least that).",
    "name the platform with audit.platforms in stablebuild.yml or --platform "
    "(e.g. manylinux_2_36_x86_64), or build from a base whose tag names its release "
    "(python:3.12-slim-bookworm, ubuntu:24.04, alpine:3.20)",
)

DEFAULT_PLATFORM = f"{plat.DEFAULT_LIBC.policy}_x86_64"  # what an unknown base is assumed to be
_DOCKERFILE_SOURCES = {"Dockerfile ARG", "Dockerfile FROM", "Dockerfile"}
_EXTRA_SOURCES = {"manifest", "audit.python_versions"}


@dataclass(frozen=True)
class Target:
    python: tuple[int, int]
    platform: str  # a wheel platform tag: manylinux_2_36_x86_64
    assumed: bool = False  # an architecture the image does not declare: failing there warns

    @property
    def label(self) -> str:
        return f"CPython {self.python[0]}.{self.python[1]} on {self.platform}"


@dataclass(frozen=True)
class Check:
    """One pin to judge: for which targets, on which indexes (or from the lock's own files)."""

    pin: Pin
    targets: tuple[Target, ...]
    indexes: tuple[str, ...]  # the first is pip's --index-url, the rest its extra indexes
    named_index: bool  # an index was named (in the file, the install or the lock)
    recorded: tuple[DistFile, ...] = ()


def targets_of(project: Project, options: AuditOptions) -> list[Target]:
    """Every target some checked pin is judged for (what `run` uses, flattened)."""
    checks, _ = plan(project, options, inventory(project))
    return sorted({t for c in checks for t in c.targets}, key=lambda t: (t.python, t.platform))


def pins_to_check(project: Project) -> list[Pin]:
    """Exact pins of the files images install (or the manifest names), each place once."""
    return [p for p, _ in _pins(inventory(project))]


def _pins(inv: Inventory) -> list[tuple[Pin, str]]:
    files = [inv.files[f] for f in inv.wheel_files()]
    required = {p.name for f in files for p in f.entries if not p.constraint}
    seen: set[tuple[str, int]] = set()
    pins = []
    for f in files:
        for pin in f.entries:
            place = (pin.file, pin.line)
            if pin.exact_version is None or pin.url is not None or pin.name not in required:
                continue
            if place in inv.dev_only or place in seen:
                continue
            seen.add(place)
            pins.append((pin, f.path))
    return pins


def plan(
    project: Project, options: AuditOptions, inv: Inventory
) -> tuple[list[Check], list[Finding]]:
    pins = _pins(inv)
    if not pins:
        return [], []
    discovery = discover(project)
    override = options.platforms or (
        project.manifest.audit.platforms if project.manifest is not None else ()
    )
    wheel_platforms = [p for p in override if "/" not in p]
    archs = tuple(a for p in override if "/" in p if (a := plat.arch_of(p)) is not None)
    installers: dict[str, list[tuple[str, int]]] = {}
    for install in inv.installs:
        for member in inv.closures.get(install.target, (install.target,)):
            installers.setdefault(member, []).append((install.dockerfile, install.line))
    fallback = sorted({(i.dockerfile, i.line) for i in inv.installs})
    if not fallback:
        claimed = {c.file for c in discovery.claims if c.source in _DOCKERFILE_SOURCES}
        every = [rel.as_posix() for rel in dockerfile_paths(project)]
        fallback = [(d, 0) for d in (sorted(claimed & set(every)) or every)]
    extras = _extra_pythons(discovery, options)
    assumed: dict[str, Finding] = {}
    by_file: dict[str, tuple[Target, ...]] = {}
    pythons_of: dict[str, set[tuple[int, int]]] = {}
    urls_of: dict[tuple[str | None, tuple[str, ...]], tuple[str, ...]] = {}

    def targets_for(file: str) -> tuple[Target, ...]:
        if file in by_file:
            return by_file[file]
        targets: dict[tuple[tuple[int, int], str], Target] = {}
        for dockerfile, line in installers.get(file) or fallback or [("", 0)]:
            image = (
                plat.image_platform(project, Path(dockerfile), line or None)
                if dockerfile
                else plat.unknown_image()
            )
            if dockerfile not in pythons_of:
                pythons_of[dockerfile] = _image_pythons(discovery, dockerfile) | extras
            pythons = pythons_of[dockerfile]
            for target in _image_targets(image, pythons, wheel_platforms, archs):
                key = (target.python, target.platform)
                if key not in targets or targets[key].assumed > target.assumed:
                    targets[key] = target
            if pythons and not image.libc_known and not wheel_platforms:
                where = dockerfile or file
                assumed.setdefault(where, _assumption(image, where, bool(dockerfile)))
        by_file[file] = tuple(sorted(targets.values(), key=lambda t: (t.python, t.platform)))
        return by_file[file]

    checks = []
    for pin, _ in pins:
        targets = targets_for(pin.file)
        if not targets:
            continue
        found = indexes_for(inv, pin)
        key = (found.index_url, found.extra)
        if key not in urls_of:
            # pip adds the configured extra indexes to those a file or install names
            urls = (found.index_url or options.index_url, *found.extra, *options.extra_index_urls)
            urls_of[key] = tuple(dict.fromkeys(u.rstrip("/") for u in urls))
        checks.append(
            Check(
                pin,
                targets,
                urls_of[key],
                bool(found.index_url or found.extra or options.extra_index_urls),
                inv.recorded.get((pin.file, pin.line), ()),
            )
        )
    return checks, list(assumed.values()) if checks else []


def _extra_pythons(discovery: PythonDiscovery, options: AuditOptions) -> set[tuple[int, int]]:
    out = {c.minor for c in discovery.claims if c.source in _EXTRA_SOURCES and c.minor}
    for raw in options.python_targets:
        version = parse_version(raw)
        if version is not None:
            out.add((version.major, version.minor))
    return {m for m in out if m is not None}


def _image_pythons(discovery: PythonDiscovery, dockerfile: str) -> set[tuple[int, int]]:
    """The Pythons an image is built for: its own Dockerfile's, plus compose build args of its
    folder; else its project's version; else every image Python of the repository. None for an
    image the SB1xx discovery could not tell (its SB107 note says so and how to tell it)."""
    if not dockerfile:
        return set(discovery.image_targets())
    folder = posixpath.dirname(dockerfile) or "."
    own = {
        c.minor
        for c in discovery.claims
        if c.minor
        and (
            (c.source in _DOCKERFILE_SOURCES and c.file == dockerfile)
            or (c.source == "compose" and _within(folder, c.folder))
        )
    }
    found = {m for m in own if m is not None}
    if found:
        return found
    if any(u.file == dockerfile for u in discovery.unknown):
        return set()
    reference = discovery.reference_for(folder)
    if reference is not None and reference.minor is not None:
        return {reference.minor}
    return set(discovery.image_targets())


def _within(folder: str, ancestor: str) -> bool:
    ancestor = posixpath.normpath(ancestor or ".")
    return ancestor == "." or folder == ancestor or folder.startswith(ancestor + "/")


def _image_targets(
    image: plat.ImagePlatform,
    pythons: Iterable[tuple[int, int]],
    wheel_platforms: Sequence[str],
    archs: tuple[str, ...],
) -> list[Target]:
    if wheel_platforms:
        return [Target(py, p) for py in pythons for p in wheel_platforms]
    declared = archs or (image.archs if image.arch_declared else ())
    if declared:
        names = [plat.Platform(image.libc.family, image.libc.version, a).tag for a in declared]
        return [Target(py, name) for py in pythons for name in names]
    out = []
    for n, arch in enumerate(image.archs):
        name = plat.Platform(image.libc.family, image.libc.version, arch).tag
        out += [Target(py, name, assumed=n > 0) for py in pythons]
    return out


def _assumption(image: plat.ImagePlatform, where: str, is_dockerfile: bool) -> Finding:
    policy = f"{plat.DEFAULT_LIBC.policy} ({plat.DEFAULT_LIBC.name})"
    if is_dockerfile:
        what = f"the base image {image.base}" if image.base else "the base image"
        message = (
            f"{what} does not tell its C library: wheel coverage for this image assumes {policy}"
        )
    else:
        message = f"no Dockerfile installs these pins: wheel coverage assumes {policy}"
    return SB308.finding(where, image.line if is_dockerfile else None, message)
