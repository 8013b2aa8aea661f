"""uv.lock, poetry.lock, Pipfile.lock and pdm.lock read as exact pins, like a requirements file.

Each locked package becomes a `Pin` at the line of its version, with the files the lock recorded
(uv, poetry and pdm record every wheel and sdist they may install: coverage is judged from those,
no index needed), whether only development groups need it, and the platforms it is for. That
marker comes from the lock itself (pdm's and newer poetry's per-package `marker(s)`, Pipfile.lock's
`markers`) or, for uv and older poetry, from the dependency graph: a package reached only through
`sys_platform == 'win32'` edges is not judged on Linux. Read with `tomllib`/`json` and `packaging`
only; a lock that does not parse is one SB208 finding, never an exception.
"""

from __future__ import annotations

import importlib
import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from stablebuild.audit.finding import Severity
from stablebuild.audit.project import Project
from stablebuild.audit.releases import DistFile
from stablebuild.audit.requirements import Pin, RequirementsFile
from stablebuild.audit.rule import Rule
from stablebuild.audit.sources import per_project, read_text

SB208 = Rule(
    "SB208",
    "LockfileUnreadable",
    Severity.WARNING,
    "Lockfile does not parse (or cannot be read here): its pins are not checked",
    "A lockfile (`uv.lock`, `poetry.lock`, `pdm.lock`, `Pipfile.lock`) that does not parse (a "
    "TOML or JSON error, with its line) or is not shaped like its tool's lock: its pins are not "
    "checked for drift, wheels or vulnerabilities. **info** on Python 3.10 without `tomli`, "
    "where a TOML lock cannot be read at all.",
    "regenerate it with the tool that wrote it (uv lock, poetry lock, pdm lock, pipenv lock)",
)

LOCKFILE_NAMES = ("uv.lock", "poetry.lock", "Pipfile.lock", "pdm.lock")
MAX_ALTERNATIVES = 8  # markers with more alternatives count as "everywhere" (judged, not skipped)
_PACKAGE_HEADER = re.compile(r"^\s*\[\[\s*package\s*\]\]\s*(#.*)?$")
_TABLE_HEADER = re.compile(r"^\s*\[")
_VERSION_LINE = re.compile(r"^\s*version\s*=")
_TOML_LINE = re.compile(r"at line (\d+)")
_DEFAULT_INDEXES = {"https://pypi.org/simple", "https://pypi.python.org/simple"}

Key = tuple[str, str]  # (canonical name, version)
Cond = frozenset[tuple[str, ...]]  # alternatives, each a conjunction of markers; () = always
_ALWAYS: Cond = frozenset({()})


@dataclass(frozen=True)
class LockFile:
    """A lockfile's pins, as the requirements rules see them, and what only a lock knows."""

    requirements: RequirementsFile
    recorded: Mapping[tuple[str, int], tuple[DistFile, ...]] = field(default_factory=dict)
    dev_only: frozenset[tuple[str, int]] = frozenset()  # (file, line) of development-only pins
    indexes: Mapping[tuple[str, int], str] = field(default_factory=dict)  # pins from another index


@dataclass(frozen=True)
class _Package:
    name: str  # canonical
    version: str
    line: int
    marker: str | None = None
    files: tuple[DistFile, ...] = ()
    dev: bool = False
    index: str | None = None


def is_lockfile(path: str) -> bool:
    return path.rsplit("/", 1)[-1] in LOCKFILE_NAMES


def read(project: Project, rel: Path) -> LockFile:
    """One lockfile of the project, parsed once per audit."""
    return per_project(project, f"lockfile:{rel.as_posix()}", lambda: _read(project, rel))


def _read(project: Project, rel: Path) -> LockFile:
    path = rel.as_posix()
    text = read_text(project, rel)
    if text is None:
        return LockFile(RequirementsFile(path, readable=False))
    name = rel.name
    toml = _toml()
    try:
        if name == "Pipfile.lock":
            packages = _pipfile(json.loads(text), text)
        elif toml is None:
            return _broken(
                path,
                None,
                "not read: no TOML parser on this Python (3.10 without tomli)",
                "pip install tomli, or run stablebuild on Python 3.11+",
                Severity.INFO,
            )
        else:
            data = toml.loads(text)
            lines = _package_lines(text, len(data.get("package", [])))
            reader = {"uv.lock": _uv, "poetry.lock": _poetry, "pdm.lock": _pdm}[name]
            packages = reader(data, lines)
    except json.JSONDecodeError as exc:
        return _broken(path, exc.lineno, f"does not parse as JSON ({exc.msg})")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if toml is not None and isinstance(exc, toml.TOMLDecodeError):
            where = _TOML_LINE.search(str(exc))
            return _broken(path, int(where.group(1)) if where else None, f"does not parse ({exc})")
        return _broken(path, None, f"is not shaped like a {name} ({type(exc).__name__}: {exc})")
    return _lockfile(path, packages)


def _toml() -> ModuleType | None:
    for name in ("tomllib", "tomli"):  # NOTE: tomllib is 3.11+; 3.10 needs the tomli backport
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    return None


def _broken(
    path: str,
    line: int | None,
    why: str,
    hint: str | None = None,
    severity: Severity | None = None,
) -> LockFile:
    finding = SB208.finding(path, line, f"{path} {why}: its pins are not checked", hint, severity)
    return LockFile(RequirementsFile(path, findings=(finding,)))


def _lockfile(path: str, packages: Iterable[_Package]) -> LockFile:
    pins: list[Pin] = []
    recorded: dict[tuple[str, int], tuple[DistFile, ...]] = {}
    dev: set[tuple[str, int]] = set()
    indexes: dict[tuple[str, int], str] = {}
    for p in packages:
        try:
            spec = SpecifierSet(f"=={p.version}")
        except InvalidSpecifier:
            spec = SpecifierSet(f"==={p.version}")
        pins.append(
            Pin(
                name=p.name,
                specifier=spec,
                exact_version=p.version,
                extras=frozenset(),
                marker=p.marker,
                file=path,
                line=p.line,
                raw=f"{p.name}=={p.version}",
            )
        )
        place = (path, p.line)
        if p.files:
            recorded[place] = p.files
        if p.dev:
            dev.add(place)
        if p.index and p.index.rstrip("/") not in _DEFAULT_INDEXES:
            indexes[place] = p.index
    return LockFile(RequirementsFile(path, tuple(pins)), recorded, frozenset(dev), indexes)


# -- uv.lock --------------------------------------------------------------------------------


def _uv(data: dict[str, Any], lines: list[int]) -> list[_Package]:
    entries: list[dict[str, Any]] = list(data.get("package", []))
    by_name: dict[str, list[Key]] = {}
    for e in entries:
        by_name.setdefault(canonicalize_name(e["name"]), []).append(_uv_key(e))
    roots: list[Key] = []
    main_edges: dict[Key, list[tuple[Key, str | None]]] = {}
    all_edges: dict[Key, list[tuple[Key, str | None]]] = {}
    for e in entries:
        key = _uv_key(e)
        source = e.get("source") or {}
        is_root = any(k in source for k in ("editable", "virtual"))
        if is_root:
            roots.append(key)
        main = list(e.get("dependencies", []))
        for extra in (e.get("optional-dependencies") or {}).values():
            main += extra
        dev = [d for group in (e.get("dev-dependencies") or {}).values() for d in group]
        # NOTE: only the projects' own dev groups make packages development-only
        main_edges[key] = _uv_targets(main if is_root else main + dev, by_name)
        all_edges[key] = _uv_targets(main + dev, by_name)
    markers, dev_only = _graph(roots, main_edges, all_edges)
    packages = []
    for e, line in zip(entries, lines, strict=False):
        key = _uv_key(e)
        source = e.get("source") or {}
        if "registry" not in source or not key[1]:
            continue  # the project itself, paths, git, URLs: nothing to look up
        files = [_uv_file(w) for w in e.get("wheels", [])]
        if e.get("sdist"):
            files.append(_uv_file(e["sdist"]))
        registry = str(source["registry"])
        packages.append(
            _Package(
                key[0],
                key[1],
                line,
                markers.get(key),
                tuple(f for f in files if f is not None),
                key in dev_only,
                registry if "://" in registry else None,
            )
        )
    return packages


def _uv_key(entry: dict[str, Any]) -> Key:
    return canonicalize_name(entry["name"]), str(entry.get("version", ""))


def _uv_targets(
    deps: list[dict[str, Any]], by_name: dict[str, list[Key]]
) -> list[tuple[Key, str | None]]:
    out = []
    for dep in deps:
        name = canonicalize_name(dep["name"])
        version = dep.get("version")
        for key in by_name.get(name, []):
            if version is None or key[1] == str(version):
                out.append((key, dep.get("marker")))
    return out


def _uv_file(entry: dict[str, Any]) -> DistFile | None:
    where = entry.get("filename") or entry.get("url") or entry.get("path") or ""
    name = urllib.parse.unquote(urllib.parse.urlsplit(str(where)).path.rsplit("/", 1)[-1])
    return DistFile(name) if name else None


# -- poetry.lock ----------------------------------------------------------------------------


def _poetry(data: dict[str, Any], lines: list[int]) -> list[_Package]:
    entries: list[dict[str, Any]] = list(data.get("package", []))
    old_files = (data.get("metadata") or {}).get("files") or {}
    own_markers = any("markers" in e for e in entries)
    by_name: dict[str, list[Key]] = {}
    for e in entries:
        by_name.setdefault(canonicalize_name(e["name"]), []).append(_key(e))
    edges: dict[Key, list[tuple[Key, str | None]]] = {}
    incoming: set[Key] = set()
    for e in entries:
        targets = []
        for dep_name, spec in (e.get("dependencies") or {}).items():
            for constraint in spec if isinstance(spec, list) else [spec]:
                marker = constraint.get("markers") if isinstance(constraint, dict) else None
                for key in by_name.get(canonicalize_name(dep_name), []):
                    targets.append((key, marker))
                    incoming.add(key)
        edges[_key(e)] = targets
    roots = [k for k in edges if k not in incoming]
    markers, _ = _graph(roots, edges, edges) if not own_markers else ({}, set())
    packages = []
    for e, line in zip(entries, lines, strict=False):
        source = e.get("source") or {}
        if source.get("type") not in (None, "legacy"):
            continue  # git, directory, file, url
        key = _key(e)
        marker = _poetry_marker(e.get("markers")) if own_markers else markers.get(key)
        listed = e.get("files") if "files" in e else old_files.get(e["name"], [])
        files = tuple(DistFile(str(f["file"])) for f in listed or [] if f.get("file"))
        groups = e.get("groups")
        dev = e.get("category") == "dev" or (isinstance(groups, list) and "main" not in groups)
        index = source.get("url") if source.get("type") == "legacy" else None
        packages.append(_Package(key[0], key[1], line, marker, files, dev, index))
    return packages


def _poetry_marker(value: Any) -> str | None:
    if isinstance(value, dict):  # per group: installed where any group's marker holds
        values = [str(v) for v in value.values() if v]
        if len(values) != len(value):
            return None
        return _valid(" or ".join(f"({v})" for v in dict.fromkeys(values)))
    return _valid(str(value)) if value else None


# -- pdm.lock -------------------------------------------------------------------------------


def _pdm(data: dict[str, Any], lines: list[int]) -> list[_Package]:
    entries: list[dict[str, Any]] = list(data.get("package", []))
    own_markers = any("marker" in e for e in entries)
    by_name: dict[str, list[Key]] = {}
    for e in entries:
        by_name.setdefault(canonicalize_name(e["name"]), []).append(_key(e))
    edges: dict[Key, list[tuple[Key, str | None]]] = {}
    incoming: set[Key] = set()
    for e in entries:
        targets = []
        for text in e.get("dependencies") or []:
            try:
                req = Requirement(str(text))
            except InvalidRequirement:
                continue
            for key in by_name.get(canonicalize_name(req.name), []):
                targets.append((key, str(req.marker) if req.marker else None))
                incoming.add(key)
        edges[_key(e)] = targets
    roots = [k for k in edges if k not in incoming]
    markers, _ = _graph(roots, edges, edges) if not own_markers else ({}, set())
    packages = []
    for e, line in zip(entries, lines, strict=False):
        if any(k in e for k in ("path", "git", "url", "editable")) or not e.get("version"):
            continue
        key = _key(e)
        marker = _valid(str(e["marker"])) if e.get("marker") else None
        requires = e.get("requires_python") or None
        files = tuple(
            DistFile(_filename(f), str(requires) if requires else None)
            for f in e.get("files") or []
            if _filename(f)
        )
        groups = e.get("groups")
        dev = isinstance(groups, list) and "default" not in groups
        packages.append(
            _Package(key[0], key[1], line, marker if own_markers else markers.get(key), files, dev)
        )
    return packages


def _filename(entry: dict[str, Any]) -> str:
    where = str(entry.get("file") or entry.get("url") or "")
    return urllib.parse.unquote(urllib.parse.urlsplit(where).path.rsplit("/", 1)[-1])


# -- Pipfile.lock ---------------------------------------------------------------------------


def _pipfile(data: dict[str, Any], text: str) -> list[_Package]:
    sources = {s.get("name"): s.get("url") for s in (data.get("_meta") or {}).get("sources", [])}
    lines = _pipfile_lines(text)
    default = data.get("default") or {}
    develop = data.get("develop") or {}
    packages = []
    for section, entries in (("default", default), ("develop", develop)):
        for raw_name, entry in entries.items():
            if not isinstance(entry, dict) or (section == "develop" and raw_name in default):
                continue
            version = str(entry.get("version") or "")
            if not version.startswith("==") or any(k in entry for k in ("git", "path", "file")):
                continue
            line = lines.get((section, raw_name), 1)
            marker = _valid(str(entry["markers"])) if entry.get("markers") else None
            index = sources.get(entry.get("index"))
            packages.append(
                _Package(
                    canonicalize_name(raw_name),
                    version.lstrip("="),
                    line,
                    marker,
                    (),
                    section == "develop",
                    str(index) if index else None,
                )
            )
    return packages


def _pipfile_lines(text: str) -> dict[tuple[str, str], int]:
    """(section, package) -> the line of its `"version"` (pipenv writes one key per line)."""
    out: dict[tuple[str, str], int] = {}
    depth = 0
    section = package = None
    for number, line in enumerate(text.splitlines(), start=1):
        key = re.match(r'\s*"([^"]+)"\s*:', line)
        if key and depth == 1:
            section = key.group(1)
        elif key and depth == 2 and section in ("default", "develop"):
            package = key.group(1)
            out[(section, package)] = number
        elif key and depth == 3 and key.group(1) == "version" and section and package:
            out[(section, package)] = number
        depth += line.count("{") - line.count("}")
    return out


# -- shared ---------------------------------------------------------------------------------


def _key(entry: dict[str, Any]) -> Key:
    return canonicalize_name(entry["name"]), str(entry.get("version", ""))


def _package_lines(text: str, count: int) -> list[int]:
    """The line of each `[[package]]`'s `version =` (else its header), in the tables' order."""
    headers = [i for i, line in enumerate(text.splitlines()) if _PACKAGE_HEADER.match(line)]
    lines = text.splitlines()
    out = []
    for n, start in enumerate(headers):
        end = headers[n + 1] if n + 1 < len(headers) else len(lines)
        found = start + 1
        for i in range(start + 1, end):
            if _TABLE_HEADER.match(lines[i]):
                break
            if _VERSION_LINE.match(lines[i]):
                found = i + 1
                break
        out.append(found)
    return out + [1] * (count - len(out))


def _graph(
    roots: list[Key],
    main_edges: Mapping[Key, list[tuple[Key, str | None]]],
    all_edges: Mapping[Key, list[tuple[Key, str | None]]],
) -> tuple[dict[Key, str | None], set[Key]]:
    """Each package's marker (where the graph installs it) and the development-only packages.

    Without roots (nothing marks the project itself) everything counts as always installed.
    """
    if not roots:
        return {}, set()
    main = _reach(roots, main_edges)
    every = _reach(roots, all_edges)
    markers: dict[Key, str | None] = {}
    for key, cond in every.items():
        markers[key] = _marker_text(main.get(key, cond))
    return markers, {k for k in every if k not in main}


def _reach(roots: list[Key], edges: Mapping[Key, list[tuple[Key, str | None]]]) -> dict[Key, Cond]:
    cond: dict[Key, Cond] = {r: _ALWAYS for r in roots}
    work = list(roots)
    while work:
        parent = work.pop()
        for child, marker in edges.get(parent, []):
            extra = (marker,) if marker else ()
            grown = frozenset(tuple(sorted(set(c + extra))) for c in cond[parent])
            before = cond.get(child, frozenset())
            merged = before | grown
            if () in merged or len(merged) > MAX_ALTERNATIVES:
                merged = _ALWAYS
            if merged != before:
                cond[child] = merged
                work.append(child)
    return cond


def _marker_text(cond: Cond) -> str | None:
    if () in cond:
        return None
    alternatives = sorted(" and ".join(f"({m})" for m in c) if len(c) > 1 else c[0] for c in cond)
    if len(alternatives) == 1:
        return _valid(alternatives[0])
    return _valid(" or ".join(f"({a})" for a in alternatives))


def _valid(marker: str) -> str | None:
    try:
        Marker(marker)
    except InvalidMarker:
        return None  # judged everywhere rather than skipped
    return marker
