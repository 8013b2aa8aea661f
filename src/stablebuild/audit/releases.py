"""A project's files grouped by release, each file name parsed once (`packaging.utils`).

What the index client caches and the wheel rules read: keys are `canonicalize_version` strings,
so `1.0` and `1.0.0` share one and `==2.3.0` finds `2.3.0+cpu` as PEP 440 says; DistFiles and
wheel tags are made when first asked for, and kept.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

from packaging.tags import Tag, parse_tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_version,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version


@dataclass(frozen=True)
class DistFile:
    filename: str
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None


# NOTE: a release's files are kept as one string, a line per file (`filename\twheel tags
# \trequires-python\t!yanked-reason`, empty fields at the end left out), in the cache and in
# memory: a big page is a few dozen strings, not thousands of lists, which keeps JSON decoding
# and the garbage collector's passes cheap. The wheel tags are written when the name is parsed,
# at fetch time, as `packaging` prints them; reading them back is `packaging.tags.parse_tag` of
# a handful of distinct strings, so a warm audit parses no file name at all.
Release = str
_SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar")


class Releases:
    """A project's files grouped by release. Keys are `canonicalize_version` strings, so `1.0`
    and `1.0.0` share one; DistFiles and wheel tags are made on first use, each once."""

    def __init__(
        self,
        grouped: Mapping[str, Release],
        tags: dict[str, frozenset[Tag] | None] | None = None,
    ) -> None:
        self._grouped = grouped
        self._tags: dict[str, frozenset[Tag] | None] = tags if tags is not None else {}
        self._files: dict[str, tuple[DistFile, ...]] = {}
        self._tag_text: dict[str, str] = {}  # filename -> the tags the cache recorded
        self._versions: dict[str, Version] = {}
        self._local: dict[str, list[str]] | None = None  # "2.3" -> ["2.3+cpu"]
        self._lock = threading.Lock()

    @classmethod
    def of(cls, files: Iterable[DistFile]) -> Releases:
        """Group a page's files, parsing each name once (its tags are kept for later)."""
        lines: dict[str, list[str]] = {}
        tags: dict[str, frozenset[Tag] | None] = {}
        for f in files:
            parsed = _parse_filename(f.filename)
            if parsed is None:
                continue  # pip skips what it cannot name either
            version, wheel_tags = parsed
            if wheel_tags is not None:
                tags[f.filename] = wheel_tags
            lines.setdefault(canonicalize_version(version), []).append(line_of(f, wheel_tags))
        return cls({key: "\n".join(found) for key, found in lines.items()}, tags)

    def __len__(self) -> int:
        return len(self._grouped)

    def __iter__(self) -> Iterator[str]:
        return iter(self._grouped)

    def version(self, key: str) -> Version:
        found = self._versions.get(key)
        if found is None:
            found = self._versions[key] = Version(key)
        return found

    def matching(self, pinned: str) -> list[str]:
        """The releases an `==pinned` pin accepts: the same version, and its local variants
        (`==2.3.0` takes `2.3.0+cpu`; `==2.3.0+cpu` only itself), as PEP 440 says."""
        key, local = _release_key(pinned)
        if not key:
            return []
        exact = [key] if key in self._grouped else []
        if local:
            return exact
        variants = self._local
        if variants is None:
            variants = {}
            for k in self._grouped:  # canonical keys: a local label follows the only "+"
                if "+" in k:
                    variants.setdefault(k.split("+", 1)[0], []).append(k)
            self._local = variants
        return exact + variants.get(key, []) if variants else exact

    def files(self, key: str) -> tuple[DistFile, ...]:
        found = self._files.get(key)
        if found is None:
            made = []
            text = self._grouped.get(key, "")
            for line in text.split("\n") if isinstance(text, str) else ():
                if line:
                    dist, tag_text = file_of(line)
                    made.append(dist)
                    if tag_text:
                        self._tag_text[dist.filename] = tag_text
            found = self._files[key] = tuple(made)
        return found

    def all_files(self) -> tuple[DistFile, ...]:
        return tuple(f for key in self._grouped for f in self.files(key))

    def tags(self, filename: str) -> frozenset[Tag] | None:
        """A wheel's tags (None for an sdist or an unreadable name), parsed once per page."""
        if filename in self._tags:
            return self._tags[filename]
        found: frozenset[Tag] | None = None
        recorded = self._tag_text.get(filename)
        if recorded is not None:
            found = _tags_of(recorded)
        elif filename.endswith(".whl"):
            try:
                found = parse_wheel_filename(filename)[3]
            except (InvalidWheelFilename, InvalidVersion):
                found = None
        with self._lock:
            self._tags[filename] = found
        return found

    def grouped(self) -> Mapping[str, Release]:
        return self._grouped


@lru_cache(maxsize=65536)
def _release_key(pinned: str) -> tuple[str, bool]:
    """(the release key an `==pinned` pin looks up, whether it has a local label); ("", False)
    for a version pip cannot read."""
    try:
        wanted = Version(pinned)
    except InvalidVersion:
        return "", False
    return canonicalize_version(wanted), wanted.local is not None


def _parse_filename(filename: str) -> tuple[Version, frozenset[Tag] | None] | None:
    """(version, wheel tags or None for an sdist), or None when pip could not read the name."""
    try:
        if filename.endswith(".whl"):
            _, version, _, tags = parse_wheel_filename(filename)
            return version, tags
        for suffix in _SDIST_SUFFIXES:
            if filename.endswith(suffix):
                stem = filename[: -len(suffix)]
                return parse_sdist_filename(stem + ".tar.gz")[1], None
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None


def line_of(f: DistFile, tags: frozenset[Tag] | None) -> str:
    text = " ".join(sorted(str(t) for t in tags)) if tags else ""
    fields = [f.filename, text, _flat(f.requires_python or "")]
    if f.yanked:
        fields.append("!" + _flat(f.yanked_reason or ""))
    return "\t".join(fields).rstrip("\t")


@lru_cache(maxsize=4096)
def _tags_of(text: str) -> frozenset[Tag]:
    """Tags as `line_of` wrote them; most pages share a few dozen such strings."""
    return frozenset(t for item in text.split(" ") for t in parse_tag(item))


def _flat(text: str) -> str:
    return " ".join(text.split())


def file_of(line: str) -> tuple[DistFile, str]:
    """The file a cache line describes, and its recorded wheel tags ("" for an sdist)."""
    filename, _, rest = line.partition("\t")
    tag_text, _, rest = rest.partition("\t")
    requires, _, yanked = rest.partition("\t")
    return DistFile(filename, requires or None, bool(yanked), yanked[1:] or None), tag_text
