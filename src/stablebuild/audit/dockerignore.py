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
from functools import cached_property, lru_cache
from typing import Protocol


class Matcher(Protocol):
    """What a compiled pattern offers: `re.Pattern`, or `_Automaton` for the costly ones."""

    def match(self, string: str, /) -> object | None: ...


@dataclass(frozen=True)
class Pattern:
    text: str  # cleaned, without the leading "!"
    exclusion: bool  # True for "!pattern" (re-include)
    costly: bool = False  # its regex could backtrack too much: matched by `_Automaton`

    @cached_property
    def regex(self) -> Matcher:
        """Matches the path or one of its parent folders."""
        return _compiled(self.text, True, covering=True)


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


@dataclass(frozen=True)
class _Token:
    kind: str  # "char" (one character or class), "star" (*), "dirs" (**/ or **x), "rest" (final **)
    regex: str
    may_be_slash: bool = False  # a class such as [^a] can match "/"


_STAR = _Token("star", "[^/]*")
_DIRS = _Token("dirs", "(?:.*/)?")
_REST = _Token("rest", ".*")
# More wildcards than this that may each stop at many places, and the regex engine's
# backtracking grows as the path length to that power: such patterns run on `_Automaton`.
_MAX_BACKTRACKING = 2


def _tokens(pattern: str, double_star: bool) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if double_star and i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                out.append(_REST if i >= n else _DIRS)
                continue
            if not out or out[-1] is not _STAR:  # `**` without double-star meaning is one `*`
                out.append(_STAR)
        elif ch == "?":
            out.append(_Token("char", "[^/]"))
        elif ch == "\\":
            if i + 1 < n:
                i += 1
                out.append(_Token("char", re.escape(pattern[i])))
            else:
                out.append(_Token("char", r"\\"))
        elif ch == "[":
            end = _class_end(pattern, i)
            if end < 0:
                raise ValueError(f"syntax error in pattern {pattern!r}")
            body = pattern[i + 1 : end]
            out.append(_Token("char", "[" + body + "]", may_be_slash=True))
            i = end
        else:
            out.append(_Token("char", re.escape(ch)))
        i += 1
    return out


def _translate(pattern: str, double_star: bool, group: str = "g") -> tuple[str, int]:
    """The pattern as a regex (without the end anchor), and how many wildcards may backtrack.

    NOTE: as in CPython's `fnmatch`, a `*` followed by fixed text and then another `*` is
    written `(?=(?P<g>[^/]*?text))(?P=g)`: an atomic group that takes the earliest place the text
    fits. That is exact here (the next `*` absorbs whatever a later place would have skipped,
    and that never holds a `/`) and it keeps `*a*a*a*a*b` from backtracking exponentially.
    """
    tokens = _tokens(pattern, double_star)
    out: list[str] = ["^"]
    backtracking = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token is _STAR:
            j = i + 1
            while j < len(tokens) and tokens[j].kind == "char":
                j += 1
            chunk = tokens[i + 1 : j]
            after = tokens[j] if j < len(tokens) else None
            if chunk and after in (_STAR, _REST) and not any(t.may_be_slash for t in chunk):
                name = f"{group}{i}"
                body = "".join(t.regex for t in chunk)
                out.append(f"(?=(?P<{name}>[^/]*?{body}))(?P={name})")
                i = j
                continue
        if token in (_STAR, _DIRS):
            backtracking += 1
        out.append(token.regex)
        i += 1
    return "".join(out), backtracking


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


class _Automaton:
    """A glob run on a set of positions, one path character at a time.

    Time is the path's length times the pattern's, whatever the pattern: used for the patterns
    whose regex could backtrack too much (`**/a/**/b/**/c/*x*`).
    """

    def __init__(self, tokens: list[_Token], covering: bool) -> None:
        self.tokens = tokens
        self.covering = covering
        self.end = len(tokens)
        self.chars = [re.compile(t.regex, re.DOTALL) if t.kind == "char" else None for t in tokens]

    def _closure(self, states: set[int]) -> set[int]:
        """Every wildcard may match nothing: its position also stands for the next one."""
        out: set[int] = set()
        pending = list(states)
        while pending:
            state = pending.pop()
            if state in out:
                continue
            out.add(state)
            if state < self.end and self.tokens[state].kind != "char":
                pending.append(state + 1)
        return out

    def match(self, string: str, /) -> bool | None:
        inside = self.end + 1  # state inside + k: within the folders a `**/` at k is matching
        states = self._closure({0})
        for char in string:
            if char == "/" and self.covering and self.end in states:
                return True  # the pattern matches this parent folder
            step: set[int] = set()
            for state in states:
                if state >= inside:
                    step.add(state)
                    if char == "/":
                        step.add(state - inside + 1)
                    continue
                if state == self.end:
                    continue
                kind = self.tokens[state].kind
                if kind == "char":
                    regex = self.chars[state]
                    if regex is not None and regex.fullmatch(char):
                        step.add(state + 1)
                elif kind == "star":
                    if char != "/":
                        step.add(state)
                elif kind == "rest":
                    step.add(state)
                else:  # "dirs"
                    step.add(inside + state)
                    if char == "/":
                        step.add(state + 1)
            if not step:
                return None
            states = self._closure(step)
        return True if self.end in states else None


@lru_cache(maxsize=4096)
def _compiled(pattern: str, double_star: bool, covering: bool = False) -> Matcher:
    """The pattern as a matcher of whole paths, or (`covering`) of a path or a parent folder."""
    regex, backtracking = _translate(pattern, double_star)
    end = r"(?:/|\Z)" if covering else r"\Z"
    compiled = re.compile(regex + end, re.DOTALL)  # also rejects a bad class, even when unused
    if backtracking > _MAX_BACKTRACKING:
        return _Automaton(_tokens(pattern, double_star), covering)
    return compiled


def _checked(pattern: str) -> bool:
    """Raise for a pattern Docker rejects; say whether it needs `_Automaton`.

    Only a character class can make the regex invalid, so only classes are compiled here: the
    whole pattern is compiled once, with its neighbours, in `_combined`.
    """
    tokens = _tokens(pattern, True)
    for token in tokens:
        if token.may_be_slash:
            re.compile(token.regex)
    return _translate(pattern, True)[1] > _MAX_BACKTRACKING


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
                costly = _checked(body)
            except (ValueError, re.error):
                self.errors.append(f"syntax error in pattern {text!r}")
                continue
            self.patterns.append(Pattern(body, exclusion, costly))
        self._runs = _runs(self.patterns)

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
        decided: Pattern | None = None
        for run in self._runs:
            # Same short-cut as patternmatcher: an inclusion cannot change an excluded path,
            # an exception cannot change an included one. So in a run of patterns of one kind,
            # the first that matches decides and the others are skipped.
            if run.exclusion != (decided is not None):
                continue
            hit = run.first_match(path)
            if hit is not None:
                decided = None if hit.exclusion else hit
        return decided


_RUN_SIZE = 500  # patterns per combined regex: large enough to matter, small to compile


@dataclass(frozen=True)
class _Run:
    """Consecutive patterns of one kind, matched by one regex (in file order) where possible.

    NOTE: a `.dockerignore` of 10,000 lines and 2,000 COPY sources made 20 million Python-level
    regex calls; one alternation per run leaves that loop to the regex engine.
    """

    exclusion: bool
    parts: tuple[tuple[Matcher, tuple[Pattern, ...]], ...]

    def first_match(self, path: str) -> Pattern | None:
        for matcher, members in self.parts:
            found = matcher.match(path)
            if found is None:
                continue
            if len(members) == 1:
                return members[0]
            assert isinstance(found, re.Match) and found.lastgroup is not None
            return members[int(found.lastgroup[1:])]
        return None


def _runs(patterns: list[Pattern]) -> list[_Run]:
    runs: list[_Run] = []
    start = 0
    while start < len(patterns):
        exclusion = patterns[start].exclusion
        end = start
        while end < len(patterns) and patterns[end].exclusion == exclusion:
            end += 1
        parts: list[tuple[Matcher, tuple[Pattern, ...]]] = []
        batch: list[Pattern] = []
        for pattern in [*patterns[start:end], None]:
            if pattern is not None and not pattern.costly:
                batch.append(pattern)
                if len(batch) < _RUN_SIZE:
                    continue
            if batch:
                parts.append(_combined(batch))
                batch = []
            if pattern is not None and pattern.costly:
                parts.append((pattern.regex, (pattern,)))  # an automaton: on its own
        runs.append(_Run(exclusion, tuple(parts)))
        start = end
    return runs


def _combined(batch: list[Pattern]) -> tuple[Matcher, tuple[Pattern, ...]]:
    if len(batch) == 1:
        return batch[0].regex, (batch[0],)
    alternatives = "|".join(
        f"(?P<p{k}>{_translate(p.text, True, group=f'p{k}g')[0]}(?:/|\\Z))"
        for k, p in enumerate(batch)
    )
    return re.compile(alternatives, re.DOTALL), tuple(batch)


__all__ = ["DockerIgnore", "clean", "go_match", "has_magic", "parse_lines"]
