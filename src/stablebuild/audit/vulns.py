"""SB6xx: exact pins with known vulnerabilities, from a database in safety's open format.

The format is pyupio/safety-db's `insecure_full.json`: `{"<package>": [{"id": "pyup.io-...",
"cve": ..., "advisory": ..., "specs": ["<1.0", ">=1.1,<1.1.1"], "v": "<1.0,>=1.1,<1.1.1"}],
"$meta": {...}}`. `specs` are alternatives (any one matching is affected); older files carry only
`v`. Parsed here with `packaging.specifiers`: safety's own library needs no login for this file, but
reading it needs nothing from safety, so the audit works air-gapped without the extra installed.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from stablebuild import textfile
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.pins import inventory
from stablebuild.audit.project import Project

PUBLIC_DB_URL = "https://raw.githubusercontent.com/pyupio/safety-db/master/data/insecure_full.json"
FRESH_SECONDS = 24 * 3600
VULN_DB_BYTES = 512 * 1024 * 1024  # safety's full database is tens of MiB


class VulnDbError(Exception):
    """The vulnerability database cannot be read or fetched."""


@dataclass(frozen=True)
class Advisory:
    package: str  # canonical
    id: str
    cve: str | None
    summary: str
    ranges: tuple[tuple[str, SpecifierSet], ...]  # (as written, parsed); any one is enough

    def affected_range(self, version: Version) -> str | None:
        """The range, as the database writes it, that holds `version`; None if unaffected."""
        for raw, spec in self.ranges:
            if spec.contains(version, prereleases=True):
                return raw or "all versions"
        return None


class VulnDatabase:
    """Advisories by canonical package name; entries are parsed only for the packages asked."""

    def __init__(self, raw: dict[str, Any], source: str) -> None:
        self.source = source
        self._raw = {canonicalize_name(k): v for k, v in raw.items() if not k.startswith("$")}
        self._parsed: dict[str, list[Advisory]] = {}

    @classmethod
    def load(cls, path: Path) -> VulnDatabase:
        raw = textfile.read_bytes(path, limit=VULN_DB_BYTES)  # never a FIFO, never unbounded
        if isinstance(raw, textfile.Unreadable):
            raise VulnDbError(f"cannot read vulnerability database {path}: {raw.reason}")
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise VulnDbError(f"cannot read vulnerability database {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise VulnDbError(f"{path} is not in safety's insecure_full.json format")
        return cls(data, str(path))

    def advisories(self, package: str) -> list[Advisory]:
        name = canonicalize_name(package)
        if name not in self._parsed:
            entries = self._raw.get(name)
            items = entries if isinstance(entries, list) else []
            self._parsed[name] = [a for e in items if (a := _advisory(name, e)) is not None]
        return self._parsed[name]

    def affecting(self, package: str, version: str) -> list[Advisory]:
        try:
            parsed = Version(version)
        except InvalidVersion:
            return []
        return [a for a in self.advisories(package) if a.affected_range(parsed) is not None]


def run(project: Project, options: AuditOptions) -> list[Finding]:
    inv = inventory(project)
    pins = [p for f in inv.files.values() for p in f.entries if p.exact_version is not None]
    if not pins:
        return []
    where = pins[0].file
    try:
        db = open_database(project, options)
    except VulnDbError as exc:
        return [
            Finding(
                "SB602",
                Severity.WARNING,
                where,
                None,
                f"vulnerability check not done: {exc}",
                "pass --vuln-db PATH (safety-db's insecure_full.json) or fix the network",
            )
        ]
    if db is None:
        return [
            Finding(
                "SB603",
                Severity.INFO,
                where,
                None,
                "vulnerability check skipped: no database given",
                "pass --vuln-db PATH (safety-db's insecure_full.json), set audit.vuln_db, "
                "or use --online-vulns",
            )
        ]
    findings = []
    for pin in pins:
        assert pin.exact_version is not None
        for adv in db.affecting(pin.name, pin.exact_version):
            affected = adv.affected_range(Version(pin.exact_version))
            ident = ", ".join(x for x in (adv.cve, adv.id) if x)
            findings.append(
                Finding(
                    "SB601",
                    Severity.WARNING,
                    pin.file,
                    pin.line,
                    f"{pin.name}=={pin.exact_version} has a known vulnerability ({ident}): "
                    f"{adv.summary}",
                    f"upgrade {pin.name} out of the affected range {affected}",
                )
            )
    return findings


def open_database(project: Project, options: AuditOptions) -> VulnDatabase | None:
    """The local database if one is named, else the public one when asked; None: neither."""
    path = options.vuln_db
    if path is None and project.manifest is not None:
        path = project.manifest.audit.vuln_db
    if path is not None:
        return VulnDatabase.load(path)  # the CLI's is relative to the cwd, the manifest's absolute
    if not options.online_vulns:
        return None
    cached = options.cache_dir / "vulns" / "insecure_full.json"
    try:
        fresh = time.time() - cached.stat().st_mtime < FRESH_SECONDS
    except OSError:
        fresh = False
    if fresh or options.offline:
        if cached.is_file():
            return VulnDatabase.load(cached)
        raise VulnDbError("offline and no cached copy of the public database")
    try:
        request = urllib.request.Request(PUBLIC_DB_URL, headers={"User-Agent": "stablebuild"})
        with urllib.request.urlopen(request, timeout=options.index_timeout) as reply:
            body = reply.read()
        data = json.loads(body)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        if cached.is_file():
            return VulnDatabase.load(cached)
        raise VulnDbError(f"public database unreachable ({PUBLIC_DB_URL}): {exc}") from exc
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(body)
    except OSError:
        pass  # NOTE: an unwritable cache only costs a download next time
    if not isinstance(data, dict):
        raise VulnDbError("the public database is not in the expected format")
    return VulnDatabase(data, PUBLIC_DB_URL)


def _advisory(name: str, entry: Any) -> Advisory | None:
    if not isinstance(entry, dict):
        return None
    specs = entry.get("specs")
    raw = specs if isinstance(specs, list) and specs else _split_v(str(entry.get("v", "")))
    ranges = []
    for spec in raw:
        try:
            ranges.append((str(spec), SpecifierSet(str(spec))))
        except InvalidSpecifier:
            continue
    if not ranges:
        return None
    text = entry.get("advisory") or entry.get("description") or entry.get("changelog") or ""
    summary = " ".join(str(text).split())
    return Advisory(
        package=name,
        id=str(entry.get("id") or ""),
        cve=str(entry["cve"]) if entry.get("cve") else None,
        summary=summary[:157] + "..." if len(summary) > 160 else summary,
        ranges=tuple(ranges),
    )


def _split_v(v: str) -> list[str]:
    """`<1.0,>=1.1,<1.1.1` -> ["<1.0", ">=1.1,<1.1.1"]: a lower bound opens a new range."""
    ranges: list[list[str]] = []
    for part in (p.strip() for p in v.split(",") if p.strip()):
        opens = part.startswith((">", "==", "!=", "~=")) or not ranges
        if opens or any(q.startswith("<") for q in ranges[-1]):
            ranges.append([part])
        else:
            ranges[-1].append(part)
    return [",".join(r) for r in ranges]
