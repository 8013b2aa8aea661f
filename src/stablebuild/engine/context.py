"""A build context as the engine receives it: the files `.dockerignore` leaves, as a tar.

The matching and the archive are docker-py's (docker/utils/build.py and docker/utils/fnmatch.py,
docker-py 7.x, Apache-2.0; itself "heavily based on" moby's fileutils), carried here line for
line in behaviour because importing `docker.utils` runs docker-py's package `__init__`, which
loads requests and its HTTP stack (~0.3 s) on a path that needs neither: the context is sent
over `EngineAPI`. Same files, same order, same tar entries as docker-py sent before, so the
build-inputs digest and the layer cache are unchanged; `tests/unit/engine/test_context.py`
holds the two implementations side by side on the shapes real contexts have.

Kept from docker-py on purpose: patterns and names are matched case-insensitively (its
`fnmatch` lower-cases both), `**` crosses folders, a `!` exception re-includes, `.dockerignore`
itself and the Dockerfile are always sent.
"""

from __future__ import annotations

import io
import os
import random
import re
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from typing import IO

_cache: dict[str, re.Pattern[str]] = {}


def _translate(pat: str) -> str:
    """A shell pattern as a regular expression: `*` stops at `/`, `**` crosses it."""
    i, n = 0, len(pat)
    res = "^"
    while i < n:
        c = pat[i]
        i += 1
        if c == "*":
            if i < n and pat[i] == "*":
                i += 1
                if i < n and pat[i] == "/":  # NOTE: `**/` is `**`
                    i += 1
                res += ".*" if i >= n else "(.*/)?"
            else:
                res += "[^/]*"
        elif c == "?":
            res += "[^/]"
        elif c == "[":
            j = i
            if j < n and pat[j] == "!":
                j += 1
            if j < n and pat[j] == "]":
                j += 1
            while j < n and pat[j] != "]":
                j += 1
            if j >= n:
                res += "\\["
            else:
                stuff = pat[i:j].replace("\\", "\\\\")
                i = j + 1
                if stuff[0] == "!":
                    stuff = f"^{stuff[1:]}"
                elif stuff[0] == "^":
                    stuff = f"\\{stuff}"
                res += f"[{stuff}]"
        else:
            res += re.escape(c)
    return f"{res}$"


def _fnmatch(name: str, pat: str) -> bool:
    name, pat = name.lower(), pat.lower()
    compiled = _cache.get(pat)
    if compiled is None:
        if len(_cache) >= 100:
            _cache.clear()
        compiled = _cache[pat] = re.compile(_translate(pat))
    return compiled.match(name) is not None


def _split(path: str) -> list[str]:
    return [part for part in path.split("/") if part and part != "."]


class Pattern:
    """One `.dockerignore` line: `.` and `..` resolved as Go's filepath.Clean would."""

    def __init__(self, text: str) -> None:
        self.exclusion = text.startswith("!")
        if self.exclusion:
            text = text[1:]
        parts = _split(text.strip())
        i = 0
        while i < len(parts):
            if parts[i] == "..":
                del parts[i]
                if i > 0:
                    del parts[i - 1]
                    i -= 1
            else:
                i += 1
        self.dirs = parts
        self.cleaned = "/".join(parts)

    def match(self, path: str) -> bool:
        return _fnmatch(path, self.cleaned)


class PatternMatcher:
    """Which context paths `.dockerignore` excludes (the last matching line wins)."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = [p for p in (Pattern(text) for text in patterns) if p.dirs]
        self.patterns.append(Pattern("!.dockerignore"))

    def matches(self, path: str) -> bool:
        matched = False
        parent = os.path.dirname(path)
        parent_dirs = _split(parent)
        for pattern in self.patterns:
            match = pattern.match(path)
            if not match and parent != "" and len(pattern.dirs) <= len(parent_dirs):
                match = pattern.match(os.path.sep.join(parent_dirs[: len(pattern.dirs)]))
            if match:
                matched = not pattern.exclusion
        return matched

    def walk(self, root: str) -> Iterator[str]:
        """Every path under `root` not excluded (a folder is entered only when something in
        it may be re-included)."""

        def walk_folder(current: str) -> Iterator[str]:
            for name in os.listdir(current):
                path = os.path.join(os.path.relpath(current, root), name)
                if path.startswith(f".{os.path.sep}"):
                    path = path[2:]
                excluded = self.matches(path)
                if not excluded:
                    yield path
                full = os.path.join(root, path)
                if not os.path.isdir(full) or os.path.islink(full):
                    continue
                if excluded and not any(
                    p.exclusion and p.cleaned.startswith(path) for p in self.patterns
                ):
                    continue
                yield from walk_folder(full)

        return walk_folder(root)


def included(root: str, patterns: Sequence[str], dockerfile: str | None = None) -> set[str]:
    """The paths (files and folders, relative) the context sends: all but what `patterns`
    exclude; the Dockerfile (`dockerfile`, relative to the root) always."""
    return set(PatternMatcher([*patterns, f"!{dockerfile or 'Dockerfile'}"]).walk(root))


def outside_dockerfile(dockerfile: str, root: str) -> tuple[str, str] | None:
    """A Dockerfile outside the context: the generated name it is sent under, and its text
    (None when it is inside: then it is sent as one of the context's files)."""
    absolute = dockerfile if os.path.isabs(dockerfile) else os.path.join(root, dockerfile)
    if not os.path.relpath(absolute, root).startswith(".."):
        return None
    with open(absolute, encoding="utf-8") as file:
        return f".dockerfile.{random.getrandbits(160):x}", file.read()


def archive(
    root: str, patterns: Sequence[str], dockerfile: str | None = None
) -> tuple[IO[bytes], str | None]:
    """The context as a tar in a temporary file (read from its start), and the Dockerfile's
    name in it: `dockerfile` itself when inside the context, a generated name when outside
    (then `.dockerignore` is replaced by one that also leaves that name out, as docker-py)."""
    root = os.path.abspath(root)
    outside = outside_dockerfile(dockerfile, root) if dockerfile else None
    extra: list[tuple[str, str]] = []
    if outside is not None:
        ignore = "\n".join([*(patterns or [".dockerignore"]), outside[0]])
        extra = [(".dockerignore", ignore), outside]
    files = sorted(included(root, patterns, outside[0] if outside else dockerfile))
    target: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (the caller closes it)
    extra_names = {name for name, _ in extra}
    with tarfile.open(mode="w", fileobj=target) as tar:
        for path in files:
            if path in extra_names:
                continue
            full = os.path.join(root, path)
            info = tar.gettarinfo(full, arcname=path)
            if info is None:  # a socket: not sent
                continue
            if info.mtime < 0 or info.mtime > 8**11 - 1:  # https://bugs.python.org/issue32713
                info.mtime = int(info.mtime)
            if info.isfile():
                try:
                    with open(full, "rb") as file:
                        tar.addfile(info, file)
                except OSError as exc:
                    raise OSError(f"Can not read file in context: {full}") from exc
            else:
                tar.addfile(info, None)
        for name, text in extra:
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    # NOTE: ends at the end-of-archive marker, as Docker's own client writes it: tarfile pads
    # the archive to a whole 10 KiB record after the marker, dockerd stops reading at the
    # marker, and closing with that padding unread reset the connection before its answer was
    # read (6 builds in 32 of stablebuild's own 1.8 MB context, answered from the cache; 0 in
    # 32 without the padding). `offset` is where the marker ends; the padding is not counted.
    target.truncate(tar.offset)
    target.seek(0)
    return target, outside[0] if outside else dockerfile


__all__ = ["PatternMatcher", "archive", "included", "outside_dockerfile"]
