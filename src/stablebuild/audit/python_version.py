"""SB1xx: every place that names a Python version must agree with the project that owns it.

The places are `python_claims`'. The owning project of a place is the nearest folder, walking up
from the place's own folder to the audited root, holding `.python-version`, `runtime.txt` or a
`pyproject.toml` with `requires-python`; the root always owns what no other project does. A
sample in a monorepo with its own `.python-version` is compared with that file, not with the
root's. A Dockerfile that runs Python on a base that does not say which gets one SB107 note.

Also re-exports the shared discovery helpers (`sources`) the SB2xx/SB3xx modules import here.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from stablebuild.audit import compose
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project
from stablebuild.audit.python_claims import (
    IMAGE_KEYS,
    VERSION_KEYS,
    WORKFLOW_GLOBS,
    RequiresPython,
    UnknownPython,
    VersionClaim,
    ci_claims,
    compose_claims,
    dockerfile_claims,
    folder_of,
    parse_version,
    python_image_tag,
    python_version_file,
    requires_python,
    runtime_txt,
)
from stablebuild.audit.rule import Rule
from stablebuild.audit.sources import (
    BOM,
    DOCKERFILE_GLOBS,
    dockerfile_instructions,
    dockerfiles,
    per_project,
    read_text,
)

SB101 = Rule(
    "SB101",
    "PythonMinorMismatch",
    Severity.ERROR,
    "Python version differs (minor) from its owning project's version",
    "A place (a Dockerfile's ARG default or FROM, a compose service, a CI job) names another "
    "minor version than its owning project's reference, or one its `requires-python` excludes; "
    "or a CI matrix none of whose entries is the reference. For example `.python-version` says "
    "3.12.7 and the Dockerfile `ARG PYTHON_VERSION=3.13.5`: wheels, pins and tests were chosen "
    "for another minor version. A **warning** when the place's version is only a distribution's "
    "`python3` (Debian 12 ships 3.11).",
    "use the reference's minor version here, or move the reference and re-check every pin for "
    "wheels on the new version",
)
SB102 = Rule(
    "SB102",
    "PythonPatchMismatch",
    Severity.INFO,
    "Python version differs at patch level from the reference version",
    "Same minor version, different patch (`FROM python:3.12.4-slim` against 3.12.7), or a "
    "floating `3.12` where the manifest wants an exact patch. A **warning** with the manifest's "
    "`python_match: patch`.",
    "write the reference's exact version to build exactly what was tested",
)
SB103 = Rule(
    "SB103",
    "RequiresPythonExcludesReference",
    Severity.ERROR,
    "requires-python excludes the reference Python",
    "`requires-python` in `pyproject.toml` excludes the reference Python (`requires-python = "
    '">=3.13"` with 3.12.7): pip refuses to install the project there. It is compared with the '
    "nearest version reference at or above its folder, except that a project whose own images "
    "run a Python it admits is judged by those.",
    "widen requires-python to include the reference's minor version",
)
SB107 = Rule(
    "SB107",
    "ImagePythonUnknown",
    Severity.INFO,
    "Image runs Python on a non-python: base that does not say which",
    "A Dockerfile runs Python (pip, python, uv, poetry, gunicorn... in `RUN`, `CMD` or "
    "`ENTRYPOINT`) on a base that is not the official `python:` image, and says nowhere which "
    "Python (`FROM registry.example.com/base:2` + `RUN pip install -r requirements.txt`): its "
    "version, wheel and pin checks were not done. Said once per Dockerfile, and not at all when "
    "the manifest's `python`, `audit.python_versions` or `--python` tells it.",
    "tell stablebuild: `python: 3.12` or `audit.python_versions: [3.12]` in stablebuild.yml, or "
    "install a versioned package (python3.12)",
)

COMPOSE_GLOBS = compose.COMPOSE_PATTERNS
IMAGE_SOURCES = {
    ".python-version",
    "runtime.txt",
    "manifest",
    "audit.python_versions",
    "Dockerfile ARG",
    "Dockerfile FROM",
    "Dockerfile",
    "compose",
}
_MARKERS = {".python-version", "runtime.txt", "manifest", "audit.python_versions"}


@dataclass(frozen=True)
class OwningProject:
    """A folder whose Python the places under it must agree with."""

    folder: str  # POSIX, relative to the audited root; "." for the root
    reference: VersionClaim | None
    requires: RequiresPython | None


@dataclass(frozen=True)
class PythonDiscovery:
    claims: tuple[VersionClaim, ...]
    requires: tuple[RequiresPython, ...]
    reference: VersionClaim | None  # the audited root's
    findings: tuple[Finding, ...]
    projects: tuple[OwningProject, ...] = ()
    unknown: tuple[UnknownPython, ...] = ()

    @cached_property
    def _by_folder(self) -> dict[str, OwningProject]:
        return {p.folder: p for p in self.projects}

    def image_targets(self) -> list[tuple[int, int]]:
        """Distinct X.Y that images are built for (not CI matrices, not requires-python)."""
        found = {c.minor for c in self.claims if c.source in IMAGE_SOURCES and c.minor}
        return sorted(m for m in found if m is not None)

    def owner_of(self, folder: str) -> OwningProject:
        """The nearest owning project at or above `folder` (the root's when none is nearer)."""
        by_folder = self._by_folder
        current = posixpath.normpath(folder or ".")
        while current not in by_folder and current not in (".", "", "/"):
            current = posixpath.dirname(current) or "."
        return by_folder.get(current) or OwningProject(".", self.reference, None)

    def reference_for(self, folder: str) -> VersionClaim | None:
        """The nearest owning project's version at or above `folder` that names one."""
        owner = self.owner_of(folder)
        while owner.reference is None or owner.reference.version is None:
            if owner.folder == ".":
                return None
            owner = self.owner_of(posixpath.dirname(owner.folder) or ".")
        return owner.reference


def discover(project: Project) -> PythonDiscovery:
    return per_project(project, "python-versions", lambda: _discover(project))


# Judging ----------------------------------------------------------------------------------
def run(project: Project, options: AuditOptions) -> list[Finding]:
    found = discover(project)
    findings = list(found.findings)
    manifest = project.manifest
    strict = manifest is not None and manifest.python_match == "patch"
    groups: dict[str, list[VersionClaim]] = {}
    for claim in found.claims:
        if claim.group:
            groups.setdefault(claim.group, []).append(claim)
        elif claim.version is not None and claim.source != "audit.python_versions":
            owner = found.owner_of(claim.folder)
            if claim is not owner.reference:
                findings.extend(_judge(claim, owner, strict))
    for members in groups.values():
        owner = found.owner_of(members[0].folder)
        if not any(_agrees(m, owner) for m in members if m.version is not None):
            findings.append(_mismatch(members[0], owner, ", ".join(m.raw for m in members)))
    with_images = {
        found.owner_of(c.folder).folder for c in found.claims if c.source not in _MARKERS
    }
    for req in found.requires:
        folder = posixpath.dirname(req.file) or "."
        ref = found.reference_for(folder)
        if ref is None or ref.version is None or req.admits(ref.version):
            continue
        if ref.folder != folder and folder in with_images:
            continue  # its own images run a Python it admits (SB101 says otherwise); not drift
        findings.append(
            SB103.finding(
                req.file,
                req.line,
                f"requires-python {req.raw!r} excludes the reference Python {ref.raw} "
                f"({ref.where}): pip will refuse to install this project there",
                f"widen requires-python to include {ref.version.major}.{ref.version.minor}",
            )
        )
    told = bool(options.python_targets) or (
        manifest is not None and bool(manifest.python or manifest.audit.python_versions)
    )
    if not told:
        findings.extend(_unknown(u) for u in found.unknown)
    return findings


def _agrees(claim: VersionClaim, owner: OwningProject) -> bool:
    assert claim.version is not None
    ref = owner.reference
    if ref is not None and ref.version is not None:
        return claim.minor == ref.minor
    return owner.requires is None or owner.requires.admits(claim.version)


def _judge(claim: VersionClaim, owner: OwningProject, strict: bool) -> list[Finding]:
    ref = owner.reference
    if not _agrees(claim, owner):
        return [_mismatch(claim, owner, claim.raw)]
    if ref is None or ref.version is None or claim.inferred:
        return []
    assert claim.version is not None
    both_patch = len(claim.version.release) >= 3 and len(ref.version.release) >= 3
    if both_patch and claim.version.micro != ref.version.micro:
        what = "a patch-level difference"
    elif strict and len(claim.version.release) < 3 <= len(ref.version.release):
        what = "floating to the newest patch where the manifest asks for an exact match"
    else:
        return []
    return [
        SB102.finding(
            claim.file,
            claim.line,
            f"{claim.source} names Python {claim.raw}, the reference is {ref.raw} "
            f"({ref.where}): {what}",
            f"write {ref.version} here to build exactly what was tested",
            Severity.WARNING if strict else Severity.INFO,
        )
    ]


def _mismatch(claim: VersionClaim, owner: OwningProject, values: str) -> Finding:
    names = f"{claim.source} ({claim.how})" if claim.how else claim.source
    whose = "" if owner.folder == "." else f" of the project in {owner.folder}/"
    ref = owner.reference
    if ref is not None and ref.version is not None:
        against = f"the reference{whose} is {ref.raw} ({ref.where})"
        hint = (
            f"use {ref.version.major}.{ref.version.minor} here, or change the reference and "
            "re-check every pin for wheels on the new version"
        )
    else:
        assert owner.requires is not None
        req = owner.requires
        where = f"{req.file}:{req.line}" if req.line else req.file
        against = f"requires-python{whose} is {req.raw!r} ({where})"
        hint = "use a Python that requires-python admits, or widen requires-python"
    return SB101.finding(
        claim.file,
        claim.line,
        f"{names} names Python {values}, but {against}: wheels, pins and tests were chosen for "
        "another minor version",
        hint,
        Severity.WARNING if claim.inferred else Severity.ERROR,
    )


def _unknown(item: UnknownPython) -> Finding:
    return SB107.finding(
        item.file,
        item.line,
        f"this image runs Python on {item.base}, which is not a python: image, and nothing in "
        "the Dockerfile says which Python: its version, wheel and pin checks were not done",
    )


# Discovery --------------------------------------------------------------------------------
def _discover(project: Project) -> PythonDiscovery:
    findings: list[Finding] = []
    named: dict[str, list[Path]] = {".python-version": [], "runtime.txt": [], "pyproject.toml": []}
    for rel in project.files:
        if rel.name in named:
            named[rel.name].append(rel)
    markers: list[VersionClaim] = []
    for rel in named[".python-version"]:
        markers.extend(python_version_file(project, rel, findings))
    for rel in named["runtime.txt"]:
        markers.extend(runtime_txt(project, rel))
    requires = [
        r for rel in named["pyproject.toml"] for r in requires_python(project, rel, findings)
    ]
    by_folder: dict[str, OwningProject] = {}
    folders = {"."} | {c.folder for c in markers} | {folder_of(Path(r.file)) for r in requires}
    folders |= {folder_of(rel) for rel in named[".python-version"]}
    for folder in folders:
        marker = next((c for c in markers if c.folder == folder and c.version), None)
        req = next((r for r in requires if folder_of(Path(r.file)) == folder), None)
        by_folder[folder] = OwningProject(folder, marker, req)

    claims: list[VersionClaim] = list(markers)
    unknown: list[UnknownPython] = []
    manifest = project.manifest
    forced: set[str] = set()
    if manifest is not None and manifest.python:
        for image in manifest.images.values():
            forced.add(_relative(project, image.dockerfile))
    for rel in dockerfiles(project):
        folder = "." if rel.as_posix() in forced else folder_of(rel)
        claims.extend(dockerfile_claims(project, rel, folder, findings, unknown))
    contexts = {
        (b.compose_file, b.service): b.context.as_posix()
        for b in compose.builds(project)
        if b.context is not None
    }
    for rel in compose.compose_files(project):
        claims.extend(compose_claims(project, rel, contexts))
    for rel in project.matching(*WORKFLOW_GLOBS):
        claims.extend(ci_claims(project, rel))

    reference = by_folder["."].reference
    extra: list[VersionClaim] = []
    if manifest is not None:
        mfile = _relative(project, manifest.path)
        for raw in manifest.audit.python_versions:
            version = parse_version(raw)
            extra.append(VersionClaim("audit.python_versions", mfile, None, raw, version))
        if manifest.python:
            where = mfile
            if manifest.python_source == ".python-version":
                where = _relative(project, manifest.root / ".python-version")
            version = parse_version(manifest.python)
            reference = VersionClaim("manifest", where, None, manifest.python, version)
            extra.append(reference)
    probe = PythonDiscovery((), (), None, (), tuple(by_folder.values()))
    if reference is None:
        # NOTE: without a version file the root's reference is the most common written version
        # among the places the root owns; distribution defaults do not vote.
        mine = [
            c
            for c in claims
            if c.minor and not c.group and not c.inferred and probe.owner_of(c.folder).folder == "."
        ]
        counts = Counter(c.minor for c in mine)
        if counts:
            common = counts.most_common(1)[0][0]
            reference = next(c for c in mine if c.minor == common)
    by_folder["."] = OwningProject(".", reference, by_folder["."].requires)
    unique = list(dict.fromkeys(claims + extra))
    return PythonDiscovery(
        tuple(unique),
        tuple(requires),
        reference,
        tuple(findings),
        tuple(by_folder.values()),
        tuple(unknown),
    )


def _relative(project: Project, path: Path) -> str:
    try:
        return path.resolve().relative_to(project.root).as_posix()
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return path.name


__all__ = [
    "BOM",
    "COMPOSE_GLOBS",
    "DOCKERFILE_GLOBS",
    "IMAGE_KEYS",
    "IMAGE_SOURCES",
    "VERSION_KEYS",
    "WORKFLOW_GLOBS",
    "OwningProject",
    "PythonDiscovery",
    "RequiresPython",
    "UnknownPython",
    "VersionClaim",
    "discover",
    "dockerfile_instructions",
    "dockerfiles",
    "parse_version",
    "per_project",
    "python_image_tag",
    "read_text",
    "run",
]
