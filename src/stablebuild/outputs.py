"""Report files named on the command line (`-o FORMAT:PATH`): one convention for every command.

Every target is parsed and checked before any work starts (a known format, an existing folder,
nothing there but a regular file), so a typo never costs a build. At write time each target is
written on its own: one that fails is named with its reason, the others are still written.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from pathlib import Path
from typing import Generic, TypeVar

from stablebuild import atomic
from stablebuild.errors import UsageError
from stablebuild.paths import name_problem, shown
from stablebuild.values import Frozen

F = TypeVar("F", bound=Enum)

OPTION = "--output"
# File name suffixes that name a format; a command uses those its formats have.
SUFFIXES = {
    ".json": "json",
    ".md": "markdown",
    ".markdown": "markdown",
    ".xml": "junit",
    ".sarif": "sarif",
    ".html": "html",
}
# What may stand before the colon of FORMAT:PATH; anything else (a `/`, a `.`) is a path.
_FORMAT_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


# NOTE: not dataclasses (a remembered answer writes its `-o` files: stablebuild.values), nor
# NamedTuples (a generic NamedTuple needs Python 3.11; 3.10 is supported).
class OutputTarget(Frozen, Generic[F]):
    """One `-o` value: the format to render and the file to write it to."""

    __slots__ = ("fmt", "path")
    fmt: F
    path: Path

    def __init__(self, fmt: F, path: Path) -> None:
        super().__init__(fmt=fmt, path=path)

    def describe(self) -> str:
        return f"{shown(self.path)} ({self.fmt.value})"


class WriteFailure(Frozen, Generic[F]):
    """A target that could not be written, and why (one line)."""

    __slots__ = ("reason", "target")
    target: OutputTarget[F]
    reason: str

    def __init__(self, target: OutputTarget[F], reason: str) -> None:
        super().__init__(target=target, reason=reason)

    def __str__(self) -> str:
        return f"{OPTION} {self.target.fmt.value}:{shown(self.target.path)}: {self.reason}"


def parse_targets(
    values: Iterable[str], formats: type[F], fallback: F | None = None
) -> list[OutputTarget[F]]:
    """Every `-o` value parsed and checked; raises UsageError (exit 2) for the first bad one.

    `FORMAT:PATH` names the format; a plain PATH takes it from its suffix (`.json`, `.md`,
    `.xml`, `.sarif`), else `fallback` (None: the value is refused).
    """
    targets = [parse_target(value, formats, fallback) for value in values]
    seen: dict[Path, OutputTarget[F]] = {}
    for target in targets:
        key = _identity(target.path)
        if key in seen:
            raise UsageError(
                f"{OPTION} {shown(target.path)}: named twice ({seen[key].describe()} and "
                f"{target.describe()})",
                "give each format its own file",
            )
        seen[key] = target
    for target in targets:
        problem = target_problem(target.path)
        if problem is not None:
            raise UsageError(f"{OPTION} {shown(target.path)}: {problem}", _HINT)
    return targets


_HINT = "name a regular file (it is replaced whole) in an existing folder"


def parse_target(value: str, formats: type[F], fallback: F | None = None) -> OutputTarget[F]:
    """One `-o` value: `FORMAT:PATH`, or a PATH whose suffix (else `fallback`) names the format."""
    names = [member.value for member in formats]
    known = ", ".join(names)
    name, sep, rest = value.partition(":")
    fmt: F | None = None
    if sep and _FORMAT_WORD.fullmatch(name):
        if name not in names:
            raise UsageError(
                f"{OPTION} {shown(value)}: unknown format {name!r}",
                f"write FORMAT:PATH with one of {known} (a file name with a colon: ./{value})",
            )
        fmt, value = formats(name), rest
    if not value:
        raise UsageError(f"{OPTION}: no file named", f"write FORMAT:PATH with one of {known}")
    if value.startswith("-"):
        raise UsageError(
            f"{OPTION} {shown(value)}: looks like an option, not a file",
            f"give {OPTION} a file (for a name that starts with '-', write ./{value})",
        )
    if fmt is None:
        suffix = SUFFIXES.get(Path(value).suffix.lower())
        if suffix in names:
            fmt = formats(suffix)
        elif fallback is not None:
            fmt = fallback
        else:
            suffixes = ", ".join(s for s, n in SUFFIXES.items() if n in names)
            raise UsageError(
                f"{OPTION} {shown(value)}: cannot tell the format",
                f"write FORMAT:PATH ({known}) or use a file name ending in {suffixes}",
            )
    return OutputTarget(fmt, Path(value))


def target_problem(path: Path) -> str | None:
    """Why `path` cannot take a report, or None: its folder must exist, and nothing may stand
    there but a regular file. A symbolic link is refused too, whatever it points at."""
    problem = name_problem(path)
    if problem is not None:
        return problem
    if path.name in ("", ".", ".."):
        return "names a folder, not a file"
    folder = path.parent
    try:
        folder_mode = os.stat(folder).st_mode
    except FileNotFoundError:
        return f"folder {folder} does not exist (stablebuild does not create it)"
    except OSError as exc:
        return f"folder {folder}: {exc.strerror or exc}"
    if not stat.S_ISDIR(folder_mode):
        return f"{folder} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"folder {folder} is not writable"
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return exc.strerror or str(exc)
    if stat.S_ISREG(mode):
        return None
    return f"is {atomic.kind_of(mode)}, not a regular file; it is never replaced"


def write_targets(
    targets: Sequence[OutputTarget[F]], render: Callable[[F], str]
) -> tuple[list[OutputTarget[F]], list[WriteFailure[F]]]:
    """Write each target on its own; returns those written and those that failed (with why).

    Each format is rendered once, however many targets share it.
    """
    texts: dict[F, str] = {}
    written: list[OutputTarget[F]] = []
    failures: list[WriteFailure[F]] = []
    for target in targets:
        if target.fmt not in texts:
            texts[target.fmt] = render(target.fmt)
        try:
            atomic.write_text(target.path, texts[target.fmt])
        except OSError as exc:
            failures.append(WriteFailure(target, exc.strerror or str(exc)))
        except ValueError as exc:  # a name the file system cannot take (NUL, encoding)
            failures.append(WriteFailure(target, str(exc)))
        else:
            written.append(target)
    return written, failures


def _identity(path: Path) -> Path:
    """The same file however it is spelt (`a.json`, `./a.json`, `dir/../a.json`)."""
    try:
        return path.parent.resolve() / path.name
    except (OSError, RuntimeError, ValueError):
        return path
