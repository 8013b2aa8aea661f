"""safety-db's open format: pyupio/safety-db's `insecure_full.json`.

`{"<package>": [{"id": "pyup.io-...", "cve": ..., "advisory": ..., "specs": ["<1.0",
">=1.1,<1.1.1"], "v": "<1.0,>=1.1,<1.1.1"}], "$meta": {...}}`. `specs` are alternatives (any one
matching is affected); older files carry only `v`. Read with `packaging.specifiers`: nothing
from the `safety` package is needed for this file, so it works air-gapped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from stablebuild import textfile
from stablebuild.audit.vulndb.interface import (
    Advisory,
    AffectedRange,
    VulnDatabase,
    VulnDbError,
)

MAX_BYTES = 512 * 1024 * 1024  # safety's full database is tens of MiB
SUMMARY_CHARS = 160


class SafetyDatabase(VulnDatabase):
    kind = "safety-db"

    def __init__(self, raw: dict[str, Any], source: str) -> None:
        self.source = source
        self._raw = {canonicalize_name(k): v for k, v in raw.items() if not k.startswith("$")}
        self._parsed: dict[str, list[Advisory]] = {}

    @classmethod
    def load(cls, path: Path) -> SafetyDatabase:
        data = read_json(path)
        if not isinstance(data, dict) or not looks_like(data):
            raise VulnDbError(f"{path} is not in safety-db's insecure_full.json format")
        return cls(data, str(path))

    def packages(self) -> list[str]:
        return sorted(self._raw)

    def advisories(self, package: str) -> list[Advisory]:
        name = canonicalize_name(package)
        if name not in self._parsed:
            entries = self._raw.get(name)
            items = entries if isinstance(entries, list) else []
            self._parsed[name] = [a for e in items if (a := self._advisory(name, e)) is not None]
        return self._parsed[name]

    def _advisory(self, name: str, entry: Any) -> Advisory | None:
        if not isinstance(entry, dict):
            return None
        specs = entry.get("specs")
        raw = specs if isinstance(specs, list) and specs else split_v(str(entry.get("v", "")))
        ranges = []
        for spec in raw:
            try:
                ranges.append(AffectedRange(str(spec) or "all versions", SpecifierSet(str(spec))))
            except InvalidSpecifier:
                continue
        if not ranges:
            return None
        text = entry.get("advisory") or entry.get("description") or entry.get("changelog") or ""
        cve = entry.get("cve")
        return Advisory(
            package=name,
            id=str(entry.get("id") or ""),
            aliases=tuple(str(c).strip() for c in str(cve).split(",")) if cve else (),
            summary=shorten(str(text)),
            ranges=tuple(ranges),
            source=self.source,
        )


def looks_like(data: dict[str, Any]) -> bool:
    """A mapping of package names to lists (an OSV file has `affected` and `id` instead)."""
    if "affected" in data and "id" in data:
        return False
    return all(isinstance(v, list) for k, v in data.items() if not k.startswith("$"))


def read_json(path: Path) -> Any:
    raw = textfile.read_bytes(path, limit=MAX_BYTES)  # never a FIFO, never unbounded
    if isinstance(raw, textfile.Unreadable):
        raise VulnDbError(f"cannot read vulnerability database {path}: {raw.reason}")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise VulnDbError(f"cannot read vulnerability database {path}: {exc}") from None


def shorten(text: str) -> str:
    """One line of at most 160 characters: the first paragraph that has words (a changelog
    may open with a `-----` rule)."""
    paragraphs = [p for p in text.strip().split("\n\n") if any(c.isalnum() for c in p)]
    words = " ".join(paragraphs[0].split()) if paragraphs else ""
    return words[: SUMMARY_CHARS - 3] + "..." if len(words) > SUMMARY_CHARS else words


def split_v(v: str) -> list[str]:
    """`<1.0,>=1.1,<1.1.1` -> ["<1.0", ">=1.1,<1.1.1"]: a lower bound opens a new range."""
    ranges: list[list[str]] = []
    for part in (p.strip() for p in v.split(",") if p.strip()):
        opens = part.startswith((">", "==", "!=", "~=")) or not ranges
        if opens or any(q.startswith("<") for q in ranges[-1]):
            ranges.append([part])
        else:
            ranges[-1].append(part)
    return [",".join(r) for r in ranges]


__all__ = ["SafetyDatabase", "looks_like", "read_json", "shorten", "split_v"]
