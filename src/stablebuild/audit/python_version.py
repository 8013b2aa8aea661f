"""SB1xx: every place that names a Python version must agree with the stack's reference version.

Reads `.python-version`, Dockerfile `ARG PYTHON_VERSION=` defaults and literal `FROM python:X`
tags (parsed with dockerfile-parse), compose `build.args`, CI workflows (GitHub Actions, GitLab),
and pyproject `requires-python`. Also home to the discovery helpers the other SB2xx/SB3xx rule
modules share: the Dockerfiles of a project, their instructions, and a per-project memo.
"""

from __future__ import annotations

import importlib
import io
import re
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar, cast

import yaml
from dockerfile_parse import DockerfileParser
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project

T = TypeVar("T")

DOCKERFILE_GLOBS = ("Dockerfile", "Dockerfile.*", "*.Dockerfile", "*.dockerfile", "Containerfile")
COMPOSE_GLOBS = ("docker-compose*.yml", "docker-compose*.yaml", "compose*.yml", "compose*.yaml")
WORKFLOW_GLOBS = (".github/workflows/*.yml", ".github/workflows/*.yaml", ".gitlab-ci.yml")
VERSION_KEYS = {"python-version", "python_version", "PYTHON_VERSION", "PY_VERSION"}
IMAGE_KEYS = {"image", "container", "name"}
IMAGE_SOURCES = {".python-version", "manifest", "Dockerfile ARG", "Dockerfile FROM", "compose"}

_VERSION = re.compile(r"^(?:cpython-|python-?)?(\d+)\.(\d+)(?:\.(\d+))?(?![\d.])")
_ARG = re.compile(r"\b(PYTHON_VERSION|PY_VERSION|PYTHON)\s*=\s*[\"']?([^\"'\s]+)")
_REQUIRES_LINE = re.compile(r"^\s*requires-python\s*=")
_MEMO: dict[tuple[int, str], tuple[weakref.ref[Project], object]] = {}


def per_project(project: Project, key: str, build: Callable[[], T]) -> T:
    """Compute `build()` once per project and key: rule modules share parsed facts."""
    slot = (id(project), key)
    hit = _MEMO.get(slot)
    if hit is not None and hit[0]() is project:
        return cast(T, hit[1])
    value = build()
    _MEMO[slot] = (weakref.ref(project, lambda _ref: _MEMO.pop(slot, None)), value)
    return value


def dockerfiles(project: Project) -> list[Path]:
    return [f for f in project.matching(*DOCKERFILE_GLOBS) if not f.name.endswith(".dockerignore")]


def dockerfile_instructions(project: Project, rel: Path) -> list[dict[str, Any]]:
    """dockerfile-parse's `.structure` (instruction, startline 0-based, value); [] if unreadable."""

    def build() -> list[dict[str, Any]]:
        text = project.text(rel)
        if text is None:
            return []
        try:
            parser = DockerfileParser(fileobj=io.BytesIO(text.encode("utf-8")))
            return list(parser.structure)
        except Exception:  # NOTE: syntax errors are the Dockerfile rule family's to report
            return []

    return per_project(project, f"dockerfile:{rel.as_posix()}", build)


@dataclass(frozen=True)
class VersionClaim:
    """One place naming a Python version; `version` is None where it floats (python:3, latest)."""

    source: (
        str  # ".python-version", "manifest", "Dockerfile ARG", "Dockerfile FROM", "compose", "CI"
    )
    file: str
    line: int | None
    raw: str
    version: Version | None
    group: str | None = None  # a CI matrix: it agrees when any member agrees

    @property
    def minor(self) -> tuple[int, int] | None:
        return None if self.version is None else (self.version.major, self.version.minor)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class RequiresPython:
    file: str
    line: int | None
    raw: str
    specifier: SpecifierSet


@dataclass(frozen=True)
class PythonDiscovery:
    claims: tuple[VersionClaim, ...]
    requires: tuple[RequiresPython, ...]
    reference: VersionClaim | None
    findings: tuple[Finding, ...]

    def image_targets(self) -> list[tuple[int, int]]:
        """Distinct X.Y that images are built for (not CI matrices, not requires-python)."""
        found = {c.minor for c in self.claims if c.source in IMAGE_SOURCES and c.minor}
        return sorted(m for m in found if m is not None)


def parse_version(raw: str) -> Version | None:
    match = _VERSION.match(raw.strip())
    if match is None:
        return None
    return Version(".".join(g for g in match.groups() if g is not None))


def python_image_tag(ref: str) -> tuple[bool, str | None]:
    """(is the official python image, its tag or None for latest) for `[registry/]python:tag`."""
    ref = ref.split("@", 1)[0]
    name, tag = ref, None
    if ":" in ref.rsplit("/", 1)[-1]:
        name, tag = ref.rsplit(":", 1)
    return name.rsplit("/", 1)[-1] == "python", tag


def discover(project: Project) -> PythonDiscovery:
    return per_project(project, "python-versions", lambda: _discover(project))


def run(project: Project, options: AuditOptions) -> list[Finding]:
    found = discover(project)
    findings = list(found.findings)
    ref = found.reference
    if ref is None or ref.version is None:
        return findings
    strict = project.manifest is not None and project.manifest.python_match == "patch"
    groups: dict[str, list[VersionClaim]] = {}
    for claim in found.claims:
        if claim.group:
            groups.setdefault(claim.group, []).append(claim)
        elif claim is not ref and claim.version is not None:
            findings.extend(_compare(claim, ref, strict))
    for members in groups.values():
        if not any(m.minor == ref.minor for m in members if m.version is not None):
            first = members[0]
            values = ", ".join(m.raw for m in members)
            findings.append(_mismatch(first, ref, values))
    for req in found.requires:
        candidates = [ref.version, Version(f"{ref.version.major}.{ref.version.minor}.99")]
        if ref.version.micro == 0 and len(ref.version.release) < 3:
            candidates.append(Version(f"{ref.version.major}.{ref.version.minor}"))
        if not any(req.specifier.contains(v, prereleases=True) for v in candidates):
            findings.append(
                Finding(
                    "SB103",
                    Severity.ERROR,
                    req.file,
                    req.line,
                    f"requires-python {req.raw!r} excludes the reference Python {ref.raw} "
                    f"({ref.where}): pip will refuse to install this project there",
                    f"widen requires-python to include {ref.version.major}.{ref.version.minor}",
                )
            )
    return findings


def _compare(claim: VersionClaim, ref: VersionClaim, strict: bool) -> list[Finding]:
    assert claim.version is not None and ref.version is not None
    if claim.minor != ref.minor:
        return [_mismatch(claim, ref, claim.raw)]
    both_patch = len(claim.version.release) >= 3 and len(ref.version.release) >= 3
    if both_patch and claim.version.micro != ref.version.micro:
        what = "a patch-level difference"
    elif strict and len(claim.version.release) < 3 <= len(ref.version.release):
        what = "floating to the newest patch where the manifest asks for an exact match"
    else:
        return []
    return [
        Finding(
            "SB102",
            Severity.WARNING if strict else Severity.INFO,
            claim.file,
            claim.line,
            f"{claim.source} names Python {claim.raw}, the reference is {ref.raw} "
            f"({ref.where}): {what}",
            f"write {ref.version} here to build exactly what was tested",
        )
    ]


def _mismatch(claim: VersionClaim, ref: VersionClaim, values: str) -> Finding:
    assert ref.version is not None
    return Finding(
        "SB101",
        Severity.ERROR,
        claim.file,
        claim.line,
        f"{claim.source} names Python {values}, but the reference is {ref.raw} ({ref.where}): "
        "wheels, pins and tests were chosen for another minor version",
        f"use {ref.version.major}.{ref.version.minor} here, or change the reference and "
        "re-check every pin for wheels on the new version",
    )


def _discover(project: Project) -> PythonDiscovery:
    claims: list[VersionClaim] = []
    findings: list[Finding] = []
    for rel in project.matching(".python-version"):
        claims.extend(_python_version_file(project, rel, findings))
    for rel in dockerfiles(project):
        claims.extend(_dockerfile(project, rel, findings))
    for rel in project.matching(*COMPOSE_GLOBS):
        claims.extend(_yaml_claims(project, rel, "compose", findings))
    for rel in project.matching(*WORKFLOW_GLOBS):
        claims.extend(_yaml_claims(project, rel, "CI", findings))
    requires = [
        r for rel in project.matching("pyproject.toml") for r in _pyproject(project, rel, findings)
    ]
    manifest = project.manifest
    extra: list[VersionClaim] = []
    reference = None
    if manifest is not None:
        mfile = _relative(project, manifest.path)
        for raw in manifest.audit.python_versions:
            extra.append(VersionClaim("manifest", mfile, None, raw, parse_version(raw)))
        if manifest.python:
            where = mfile
            if manifest.python_source == ".python-version":
                where = _relative(project, manifest.root / ".python-version")
            version = parse_version(manifest.python)
            reference = VersionClaim("manifest", where, None, manifest.python, version)
    if reference is None:
        top = [c for c in claims if c.source == ".python-version" and "/" not in c.file]
        reference = top[0] if top and top[0].version else None
    if reference is None:
        counts = Counter(c.minor for c in claims if c.minor and not c.group)
        if counts:
            common = counts.most_common(1)[0][0]
            reference = next(c for c in claims if c.minor == common and not c.group)
    if reference is not None and reference.source == "manifest":
        claims.append(reference)
    return PythonDiscovery(tuple(claims + extra), tuple(requires), reference, tuple(findings))


def _relative(project: Project, path: Path) -> str:
    try:
        return path.resolve().relative_to(project.root).as_posix()
    except ValueError:
        return path.name


def _floating(file: str, line: int | None, what: str) -> Finding:
    return Finding(
        "SB104",
        Severity.WARNING,
        file,
        line,
        f"{what}: the Python version cannot be determined, so it can change under you",
        "name an exact version such as 3.12.7 (or at least 3.12)",
    )


def _python_version_file(
    project: Project, rel: Path, findings: list[Finding]
) -> Iterator[VersionClaim]:
    text = project.text(rel)
    if text is None:
        return
    for number, line in enumerate(text.splitlines(), start=1):
        raw = line.split("#", 1)[0].strip()
        if not raw:
            continue
        version = parse_version(raw)
        if version is None:
            findings.append(_floating(rel.as_posix(), number, f".python-version says {raw!r}"))
        else:
            yield VersionClaim(".python-version", rel.as_posix(), number, raw, version)
        return  # pyenv uses the first version named


def _dockerfile(project: Project, rel: Path, findings: list[Finding]) -> Iterator[VersionClaim]:
    file = rel.as_posix()
    for ins in dockerfile_instructions(project, rel):
        line = int(ins["startline"]) + 1
        value = str(ins["value"])
        if ins["instruction"] == "ARG":
            match = _ARG.search(value)
            if match and "$" not in match.group(2):
                raw = match.group(2)
                version = parse_version(raw)
                if version is None:
                    findings.append(_floating(file, line, f"ARG {match.group(1)}={raw}"))
                else:
                    yield VersionClaim("Dockerfile ARG", file, line, raw, version)
        elif ins["instruction"] == "FROM":
            words = [w for w in value.split() if not w.startswith("--")]
            if not words or "$" in words[0]:
                continue  # `FROM python:${PYTHON_VERSION}`: the ARG default is the claim
            official, tag = python_image_tag(words[0])
            if not official:
                continue
            version = parse_version(tag or "")
            if version is None:
                findings.append(_floating(file, line, f"FROM {words[0]}"))
            else:
                yield VersionClaim("Dockerfile FROM", file, line, tag or "", version)


def _yaml_claims(
    project: Project, rel: Path, source: str, findings: list[Finding]
) -> Iterator[VersionClaim]:
    text = project.text(rel)
    if text is None:
        return
    try:
        docs = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return  # NOTE: the compose/CI rule family reports YAML that does not parse
    file = rel.as_posix()
    for doc in docs:
        for key, node in _pairs(doc):
            if key in VERSION_KEYS:
                yield from _version_node(node, file, source)
            elif key in IMAGE_KEYS and isinstance(node, yaml.ScalarNode):
                official, tag = python_image_tag(str(node.value))
                version = parse_version(tag or "")
                if official and version is not None:
                    yield VersionClaim(source, file, node.start_mark.line + 1, tag or "", version)
            elif key == "args" and isinstance(node, yaml.SequenceNode):
                for item in node.value:
                    name, _, raw = str(getattr(item, "value", "")).partition("=")
                    if name in VERSION_KEYS and parse_version(raw):
                        line = item.start_mark.line + 1
                        yield VersionClaim(source, file, line, raw, parse_version(raw))


def _version_node(node: yaml.Node, file: str, source: str) -> Iterator[VersionClaim]:
    if isinstance(node, yaml.ScalarNode):
        version = parse_version(str(node.value))
        if version is not None:
            yield VersionClaim(source, file, node.start_mark.line + 1, str(node.value), version)
    elif isinstance(node, yaml.SequenceNode):
        group = f"{file}:{node.start_mark.line + 1}"
        for item in node.value:
            if isinstance(item, yaml.ScalarNode) and (version := parse_version(str(item.value))):
                line = item.start_mark.line + 1
                yield VersionClaim(source, file, line, str(item.value), version, group)


def _pairs(node: yaml.Node) -> Iterator[tuple[str, yaml.Node]]:
    """Every (key, value node) of every mapping in the document, depth first."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                if isinstance(key_node, yaml.ScalarNode):
                    yield str(key_node.value), value_node
                stack.append(value_node)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def _toml() -> ModuleType | None:
    for name in ("tomllib", "tomli"):
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    return None


def _pyproject(project: Project, rel: Path, findings: list[Finding]) -> Iterator[RequiresPython]:
    text = project.text(rel)
    if text is None:
        return
    file = rel.as_posix()
    toml = _toml()
    if toml is None:
        findings.append(
            Finding(
                "SB106",
                Severity.INFO,
                file,
                None,
                "requires-python not checked: no TOML parser on this Python (3.10 without tomli)",
                "pip install tomli, or run stablebuild on Python 3.11+",
            )
        )
        return
    try:
        data = toml.loads(text)
    except Exception as exc:  # tomllib.TOMLDecodeError; the module is loaded dynamically
        match = re.search(r"line (\d+)", str(exc))
        findings.append(
            Finding(
                "SB105",
                Severity.WARNING,
                file,
                int(match.group(1)) if match else None,
                f"pyproject.toml does not parse: {exc}",
                "fix the TOML syntax; pip cannot build this project either",
            )
        )
        return
    raw = data.get("project", {}).get("requires-python") if isinstance(data, dict) else None
    if not isinstance(raw, str):
        return
    line = next(
        (n for n, t in enumerate(text.splitlines(), start=1) if _REQUIRES_LINE.match(t)), None
    )
    try:
        yield RequiresPython(file, line, raw, SpecifierSet(raw))
    except InvalidSpecifier:
        findings.append(
            Finding(
                "SB105",
                Severity.WARNING,
                file,
                line,
                f"requires-python {raw!r} is not a valid version specifier",
                "write it as PEP 440 specifiers, e.g. '>=3.12,<3.14'",
            )
        )
