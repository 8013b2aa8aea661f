"""Docker's `.dockerignore` semantics, as implemented by moby/patternmatcher: pure, no disk access.

Faithful to the reference implementation (`ignorefile.ReadAll` + `PatternMatcher`):

- lines starting with `#` are comments; blank lines are skipped; surrounding spaces trimmed;
- each pattern is cleaned like Go's `filepath.Clean` (so `./a/`, `a//b`, `a/../b` normalise), then
  a leading `/` is dropped: patterns are relative to the context root;
- `*` matches any run of non-`/` characters, `?` one non-`/` character, `[...]` a class (`^`
  negates), `\\` escapes; `**` matches any number of directories, zero included;
- a pattern matches a path when it matches the whole path or one of its parent directories;
- `!pattern` re-includes; the last pattern that matches decides.

`go_match` is Go's `filepath.Match` (no `**`), which Docker also uses for `COPY` source globs.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Pattern:
    text: str  # cleaned, without the leading "!"
    exclusion: bool  # True for "!pattern" (re-include)
    regex: re.Pattern[str]


def clean(path: str) -> str:
    """Go's `filepath.Clean` for slash-separated paths."""
    if not path:
        return "."
    cleaned = posixpath.normpath(path)
    # NOTE: posixpath keeps a leading "//"; Go collapses it.
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def parse_lines(text: str) -> list[str]:
    """The patterns of a .dockerignore file, normalised as `ignorefile.ReadAll` does."""
    patterns: list[str] = []
    for number, raw in enumerate(text.splitlines()):
        line = raw.removeprefix("\ufeff") if number == 0 else raw
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        patterns.append("!" + pattern if invert else pattern)
    return patterns


def _translate(pattern: str, double_star: bool) -> str:
    out: list[str] = ["^"]
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if double_star and i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                out.append(".*" if i >= n else "(.*/)?")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\":
            if i + 1 < n:
                i += 1
                out.append(re.escape(pattern[i]))
            else:
                out.append(r"\\")
        elif ch == "[":
            end = _class_end(pattern, i)
            if end < 0:
                raise ValueError(f"syntax error in pattern {pattern!r}")
            body = pattern[i + 1 : end]
            if body.startswith("^"):
                body = "^" + body[1:]
            out.append("[" + body + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    return "".join(out)


def _class_end(pattern: str, start: int) -> int:
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    first = i
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] == "]" and i > first:
            return i
        i += 1
    return -1


@lru_cache(maxsize=4096)
def _compiled(pattern: str, double_star: bool) -> re.Pattern[str]:
    return re.compile(_translate(pattern, double_star), re.DOTALL)


def go_match(pattern: str, name: str) -> bool:
    """Go's `filepath.Match(pattern, name)`: `*` and `?` never cross `/`; a bad pattern is False."""
    try:
        return _compiled(pattern, False).match(name) is not None
    except (ValueError, re.error):
        return False


def has_magic(pattern: str) -> bool:
    return any(c in pattern for c in "*?[\\")


class DockerIgnore:
    """A compiled `.dockerignore`: `excluded(path)` says whether a path stays out of the context."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns: list[Pattern] = []
        self.errors: list[str] = []
        for raw in patterns:
            text = raw.strip()
            if not text:
                continue
            exclusion = text.startswith("!")
            body = clean(text[1:] if exclusion else text)
            if exclusion and not text[1:].strip():
                self.errors.append('illegal exclusion pattern: "!"')
                continue
            try:
                regex = _compiled(body, True)
            except (ValueError, re.error):
                self.errors.append(f"syntax error in pattern {text!r}")
                continue
            self.patterns.append(Pattern(body, exclusion, regex))

    @classmethod
    def from_text(cls, text: str) -> DockerIgnore:
        return cls(parse_lines(text))

    @property
    def has_exceptions(self) -> bool:
        return any(p.exclusion for p in self.patterns)

    def excluded(self, path: str) -> bool:
        """True when `path` (relative to the context, `/`-separated) is left out of the context."""
        return self.deciding(path) is not None

    def deciding(self, path: str) -> Pattern | None:
        """The pattern that leaves `path` out of the context, or None when the path is sent."""
        path = clean(path.lstrip("/")) if path not in ("", ".") else "."
        if not self.patterns or path == ".":
            return None
        parents = posixpath.dirname(path).split("/") if "/" in path else []
        prefixes = ["/".join(parents[: i + 1]) for i in range(len(parents))]
        decided: Pattern | None = None
        for pattern in self.patterns:
            # Same short-cut as patternmatcher: an inclusion cannot change an excluded path,
            # an exception cannot change an included one.
            if pattern.exclusion != (decided is not None):
                continue
            hit = pattern.regex.match(path) is not None or any(
                pattern.regex.match(prefix) is not None for prefix in prefixes
            )
            if hit:
                decided = None if pattern.exclusion else pattern
        return decided


__all__ = ["DockerIgnore", "clean", "go_match", "has_magic", "parse_lines"]
