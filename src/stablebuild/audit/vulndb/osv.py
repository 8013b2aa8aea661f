"""The OSV format (ossf.github.io/osv-schema), offline: the PyPA advisory database
(`vulns/<package>/PYSEC-*.yaml`, a checkout or GitHub's zip of it) and OSV JSON exports
(osv.dev's `PyPI/all.zip`, or a folder of `*.json`), as a folder or a zip.

With the `vulns/<package>/` layout only the folders of the packages asked for are parsed; a flat
export is parsed whole, once, when first asked. Only `PyPI` entries count. Affected versions are
the `ECOSYSTEM` ranges' events (introduced, fixed, last_affected) and the `versions` list; the
severity is the advisory's own word (`database_specific.severity`: HIGH, MODERATE...) or its
CVSS v3 vector's rating. Every file is bounded (4 MiB) and YAML is read within `yamlbounds`.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from stablebuild import textfile, yamlbounds
from stablebuild.audit.vulndb.cvss import base_score, rating
from stablebuild.audit.vulndb.interface import (
    Advisory,
    AffectedRange,
    VulnDatabase,
    VulnDbError,
)
from stablebuild.audit.vulndb.safetydb import shorten

MAX_ADVISORY_BYTES = 4 * 1024 * 1024
MAX_FILES = 1_000_000
SUFFIXES = (".json", ".yaml", ".yml")
ECOSYSTEM = "pypi"
_PACKAGE_LAYOUT = re.compile(r"^(?:.*/)?vulns/(?P<package>[^/]+)/[^/]+$")
_WORDS = {
    "critical": "critical",
    "high": "high",
    "moderate": "medium",
    "medium": "medium",
    "low": "low",
    "none": "none",
}
_Loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)  # every scalar a string: `3.10` too


class Files(ABC):
    """Where the advisory files are: a folder or a zip. Names are POSIX paths inside it."""

    label: str

    @abstractmethod
    def names(self) -> list[str]:
        raise NotImplementedError  # pragma: no cover

    @abstractmethod
    def read(self, name: str) -> bytes:
        """The file's bytes; VulnDbError when it cannot be read or is too large."""
        raise NotImplementedError  # pragma: no cover


class Folder(Files):
    def __init__(self, root: Path, only: list[str] | None = None) -> None:
        self.root = root
        self.label = str(root)
        self._only = only

    def names(self) -> list[str]:
        if self._only is not None:
            return list(self._only)
        out: list[str] = []
        for dirpath, dirnames, filenames in os.walk(self.root):  # symlinked folders not followed
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            rel = Path(dirpath).relative_to(self.root)
            out += [(rel / f).as_posix() for f in sorted(filenames) if f.endswith(SUFFIXES)]
            if len(out) > MAX_FILES:
                raise VulnDbError(f"{self.label}: more than {MAX_FILES} files; not an OSV database")
        return out

    def read(self, name: str) -> bytes:
        data = textfile.read_bytes(self.root / name, root=self.root, limit=MAX_ADVISORY_BYTES)
        if isinstance(data, textfile.Unreadable):
            raise VulnDbError(f"{self.label}/{name}: {data.reason}")
        return data


class Zip(Files):
    def __init__(self, path: Path) -> None:
        self.label = str(path)
        try:
            self._zip = zipfile.ZipFile(path)
            infos = self._zip.infolist()
        except (OSError, zipfile.BadZipFile) as exc:
            raise VulnDbError(f"cannot read vulnerability database {path}: {exc}") from None
        if len(infos) > MAX_FILES:
            raise VulnDbError(f"{path}: more than {MAX_FILES} entries; not an OSV database")
        self._infos = {i.filename: i for i in infos if i.filename.endswith(SUFFIXES)}

    def names(self) -> list[str]:
        return sorted(self._infos)

    def read(self, name: str) -> bytes:
        info = self._infos[name]
        if info.file_size > MAX_ADVISORY_BYTES:
            raise VulnDbError(f"{self.label}: {name} is larger than 4 MiB; not read")
        try:
            with self._zip.open(info) as member:
                data = member.read(MAX_ADVISORY_BYTES + 1)
        except (OSError, zipfile.BadZipFile, RuntimeError) as exc:
            raise VulnDbError(f"{self.label}: {name}: {exc}") from None
        if len(data) > MAX_ADVISORY_BYTES:  # NOTE: the header's size can lie
            raise VulnDbError(f"{self.label}: {name} is larger than 4 MiB; not read")
        return data


class OsvDatabase(VulnDatabase):
    kind = "OSV"

    def __init__(self, files: Files) -> None:
        self.source = files.label
        self._files = files
        self._by_package: dict[str, list[str]] = {}
        self._flat: list[str] = []
        for name in files.names():
            found = _PACKAGE_LAYOUT.match(name)
            if found is not None:
                key = canonicalize_name(found.group("package"))
                self._by_package.setdefault(key, []).append(name)
            else:
                self._flat.append(name)
        if not self._by_package and not self._flat:
            raise VulnDbError(f"{files.label}: no OSV advisories (*.json, *.yaml) in it")
        self._parsed: dict[str, list[Advisory]] = {}
        self._flat_index: dict[str, list[Advisory]] | None = None

    def packages(self) -> list[str]:
        return sorted({*self._by_package, *self._flat_advisories()})

    def advisories(self, package: str) -> list[Advisory]:
        name = canonicalize_name(package)
        if name not in self._parsed:
            found: list[Advisory] = []
            for member in self._by_package.get(name, []):
                found += [a for a in self._read(member) if a.package == name]
            found += self._flat_advisories().get(name, [])
            self._parsed[name] = found
        return self._parsed[name]

    def count(self) -> int:
        """How many advisory files the database holds."""
        return len(self._flat) + sum(len(v) for v in self._by_package.values())

    def _flat_advisories(self) -> dict[str, list[Advisory]]:
        if self._flat_index is None:
            index: dict[str, list[Advisory]] = {}
            for member in self._flat:
                for advisory in self._read(member):
                    index.setdefault(advisory.package, []).append(advisory)
            self._flat_index = index
        return self._flat_index

    def _read(self, member: str) -> list[Advisory]:
        data = self._files.read(member)
        where = f"{self._files.label}/{member}"
        try:
            if member.endswith(".json"):
                document = json.loads(data)
            else:
                document = _yaml(data.decode("utf-8", "replace"))
        except (ValueError, RecursionError, yaml.YAMLError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise VulnDbError(f"cannot read advisory {where}: {first}") from None
        return advisories(document, where)


def advisories(document: Any, source: str = "") -> list[Advisory]:
    """The PyPI advisories of one OSV document, one per affected package; [] when withdrawn."""
    if not isinstance(document, dict) or not isinstance(document.get("id"), str):
        return []
    if document.get("withdrawn"):
        return []
    out = []
    for entry in _dicts(document.get("affected")):
        package = entry.get("package")
        if not isinstance(package, dict) or str(package.get("ecosystem", "")).lower() != ECOSYSTEM:
            continue
        name = package.get("name")
        if not isinstance(name, str) or not name:
            continue
        ranges = tuple(r for item in _dicts(entry.get("ranges")) for r in _ranges(item))
        versions = frozenset(v for raw in _strings(entry.get("versions")) if (v := _version(raw)))
        if not ranges and not versions:
            continue
        out.append(
            Advisory(
                package=canonicalize_name(name),
                id=document["id"],
                aliases=tuple(_strings(document.get("aliases"))),
                summary=shorten(str(document.get("summary") or document.get("details") or "")),
                ranges=ranges,
                versions=versions,
                severity=_severity(document, entry),
                source=source,
            )
        )
    return out


def _ranges(item: dict[str, Any]) -> Iterator[AffectedRange]:
    """One OSV range's affected intervals. GIT ranges name commits: the `versions` list
    covers those advisories."""
    if str(item.get("type", "")).upper() not in ("ECOSYSTEM", "SEMVER"):
        return
    events: list[tuple[str, Version | None]] = []
    for event in _dicts(item.get("events")):
        for kind in ("introduced", "fixed", "last_affected"):
            raw = event.get(kind)
            if not isinstance(raw, str):
                continue
            version = None if kind == "introduced" and raw == "0" else _version(raw)
            if version is None and not (kind == "introduced" and raw == "0"):
                return  # NOTE: a bound we cannot read: guessing could call a fix vulnerable
            events.append((kind, version))
    events.sort(key=lambda e: (e[1] is not None, e[1] or Version("0")))
    start: Version | None = None
    open_ = False
    for kind, version in events:
        if kind == "introduced":
            if not open_:
                start, open_ = version, True
        elif open_:
            fixed = version if kind == "fixed" else None
            last = version if kind == "last_affected" else None
            yield AffectedRange(_text(start, fixed, last), None, start, fixed, last)
            open_ = False
    if open_:
        yield AffectedRange(_text(start), introduced=start)


def _text(
    start: Version | None, fixed: Version | None = None, last_affected: Version | None = None
) -> str:
    parts = [f">={start}"] if start is not None else []
    if fixed is not None:
        parts.append(f"<{fixed}")
    if last_affected is not None:
        parts.append(f"<={last_affected}")
    return ",".join(parts) or "all versions"


def _severity(document: dict[str, Any], entry: dict[str, Any]) -> str | None:
    for holder in (entry.get("ecosystem_specific"), entry.get("database_specific"),
                   document.get("database_specific")):  # fmt: skip
        if isinstance(holder, dict) and isinstance(holder.get("severity"), str):
            word = _WORDS.get(holder["severity"].strip().lower())
            if word is not None:
                return word
    for item in _dicts([*_list(entry.get("severity")), *_list(document.get("severity"))]):
        if str(item.get("type", "")).upper().startswith("CVSS_V3"):
            score = base_score(str(item.get("score", "")))
            if score is not None:
                return rating(score)
    return None


def _yaml(text: str) -> Any:
    return yamlbounds.load(text, _Loader)


def _version(raw: str) -> Version | None:
    try:
        return Version(raw)
    except InvalidVersion:
        return None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in _list(value) if isinstance(v, dict)]


def _strings(value: Any) -> list[str]:
    return [v for v in _list(value) if isinstance(v, str)]


__all__ = ["Files", "Folder", "OsvDatabase", "Zip", "advisories"]
