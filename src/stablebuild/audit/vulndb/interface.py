"""What every vulnerability database reader gives: advisories per package, each with the
versions it affects, the first fixed release and a severity when the advisory tells one."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

SEVERITIES = ("critical", "high", "medium", "low", "none")


class VulnDbError(Exception):
    """The vulnerability database cannot be read or fetched; the message is one line."""


@dataclass(frozen=True)
class AffectedRange:
    """Affected versions: a specifier (safety-db's `>=3.2a1,<3.2.4`) or an OSV interval
    (introduced, then fixed or last_affected)."""

    text: str  # as the database says it, for the hint
    specifier: SpecifierSet | None = None
    introduced: Version | None = None  # None: from the first release
    fixed: Version | None = None  # the first release without the problem
    last_affected: Version | None = None

    def contains(self, version: Version) -> bool:
        if self.specifier is not None:
            return self.specifier.contains(version, prereleases=True)
        if self.introduced is not None and version < self.introduced:
            return False
        if self.fixed is not None and version >= self.fixed:
            return False
        return self.last_affected is None or version <= self.last_affected

    @property
    def fixed_in(self) -> Version | None:
        """The release that ends the range, when it is known."""
        if self.fixed is not None or self.specifier is None:
            return self.fixed
        bounds = []
        for spec in self.specifier:
            if spec.operator == "<":
                try:
                    bounds.append(Version(spec.version))
                except InvalidVersion:
                    continue
        return min(bounds) if bounds else None


@dataclass(frozen=True)
class Advisory:
    package: str  # canonical name
    id: str  # PYSEC-2021-98, GHSA-..., pyup.io-40637; "" when the database gives none
    aliases: tuple[str, ...]  # CVE-2021-33203, ...
    summary: str
    ranges: tuple[AffectedRange, ...]
    versions: frozenset[Version] = frozenset()  # versions the advisory lists by name
    severity: str | None = None  # one of SEVERITIES; None: the advisory does not say
    source: str = ""  # the file it came from

    @property
    def ids(self) -> tuple[str, ...]:
        """The advisory's names, its own id first, CVEs next (what people search for)."""
        aliases = sorted(self.aliases, key=lambda a: (not a.startswith("CVE-"), a))
        return tuple(dict.fromkeys(i for i in (self.id, *aliases) if i))

    def affected_range(self, version: Version) -> AffectedRange | None:
        """The range holding `version`; a one-version range when only listed by name."""
        for found in self.ranges:
            if found.contains(version):
                return found
        if version in self.versions:
            return AffectedRange(f"=={version}", fixed=self._fix_after(version))
        return None

    def fixed_in(self, version: Version) -> Version | None:
        """The first release after `version` that the advisory says is fixed."""
        hit = self.affected_range(version)
        if hit is not None and hit.fixed_in is not None and hit.fixed_in > version:
            return hit.fixed_in
        return self._fix_after(version)

    def _fix_after(self, version: Version) -> Version | None:
        fixes = [f for r in self.ranges if (f := r.fixed_in) is not None and f > version]
        return min(fixes) if fixes else None


class VulnDatabase(ABC):
    """Advisories by canonical package name; a reader parses only the packages asked for."""

    kind: str = ""  # "OSV", "safety-db": said in messages
    source: str = ""  # the path it was read from

    @abstractmethod
    def advisories(self, package: str) -> list[Advisory]:
        raise NotImplementedError  # pragma: no cover

    @abstractmethod
    def packages(self) -> list[str]:
        """Every package the database has advisories for (canonical names)."""
        raise NotImplementedError  # pragma: no cover

    def affecting(self, package: str, version: str) -> list[tuple[Advisory, AffectedRange]]:
        """The advisories affecting `package==version`, each with the range that holds it."""
        try:
            parsed = Version(version)
        except InvalidVersion:
            return []
        out = []
        for advisory in self.advisories(canonicalize_name(package)):
            found = advisory.affected_range(parsed)
            if found is not None:
                out.append((advisory, found))
        return out


__all__ = ["SEVERITIES", "Advisory", "AffectedRange", "VulnDatabase", "VulnDbError"]
