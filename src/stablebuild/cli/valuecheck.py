"""Checks on command-line values, run while options are parsed: before any work starts.

Each takes the option as the user wrote it (`--jobs`, `DIRECTORY`) and its value, returns the
value unchanged or raises UsageError (exit 2, one line) naming the option and what to write
instead. Typer runs them as callbacks (`cli/values.py`), the program's fast entry for
`validate` (`cli/fastargs.py`) directly: one check, without Typer loaded for the second.
"""

from __future__ import annotations

import math
import os
import re
import stat
from pathlib import Path
from typing import Any

from stablebuild.atomic import kind_of
from stablebuild.errors import UsageError
from stablebuild.paths import name_problem
from stablebuild.paths import shown as show

MAX_SECONDS = 7 * 24 * 3600.0  # a week: far above any build, far below what sockets accept
# A plainly well-formed whole number and decimal, as typed on a command line (what Typer's
# own conversion would accept; anything else is left to it).
INTEGER = re.compile(r"[+-]?[0-9]+")
DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_URL = re.compile(r"(https?|file)://[^\s\x00-\x1f\x7f]+")


def _each(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _not_option_like(option: str, text: str) -> None:
    if text.startswith("-"):
        raise UsageError(
            f"{option} {show(text)}: looks like an option, not a value",
            f"give {option} a value (did you leave it out before {show(text)}?)",
        )
    if not text:
        raise UsageError(f"{option}: empty value", f"give {option} a value")
    if _CONTROL.search(text):
        raise UsageError(f"{option} {show(text)}: contains a control character", "remove it")


def name(option: str, value: Any) -> Any:
    """A name (profile, image, tag, suite, run id): not empty, no control characters, and not
    something that looks like an option (`--suite --foreign` must not reach debootstrap)."""
    for text in _each(value):
        _not_option_like(option, str(text))
    return value


def python_version(option: str, value: Any) -> Any:
    """A Python version with at least major.minor (as the manifest's `python:` takes)."""
    from stablebuild.manifest import rules

    return _ruled(option, value, rules.python_version, "e.g. 3.12")


def platform(option: str, value: Any) -> Any:
    """A wheel platform tag or a Docker platform (as the manifest's `audit.platforms` takes)."""
    from stablebuild.manifest import rules

    return _ruled(option, value, rules.platform, "e.g. manylinux_2_28_aarch64 or linux/arm64")


def _ruled(option: str, value: Any, rule: Any, example: str) -> Any:
    for text in _each(value):
        _not_option_like(option, str(text))
        problem = rule(str(text))
        if problem is not None:
            raise UsageError(
                f"{option}: {problem}", f"{option} takes one value at a time, {example}"
            )
    return value


def url(option: str, value: Any) -> Any:
    """An http(s):// or file:// URL without spaces or control characters."""
    for text in _each(value):
        _not_option_like(option, str(text))
        if not _URL.fullmatch(str(text)):
            raise UsageError(
                f"{option} {show(str(text))}: not a URL",
                "write http://, https:// or file:// followed by the rest, without spaces",
            )
    return value


def seconds(option: str, value: float | None) -> float | None:
    """A duration: a finite number of seconds above 0 and at most a week."""
    if value is None:
        return None
    if not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
        raise UsageError(
            f"{option} {value:g}: must be a number of seconds above 0 and at most "
            f"{MAX_SECONDS:.0f}",
            f"e.g. {option} 600",
        )
    return value


def at_least_one(option: str, value: int | None) -> int | None:
    if value is not None and value < 1:
        raise UsageError(f"{option} {value}: must be 1 or more", f"e.g. {option} 2")
    return value


def existing_file(option: str, value: Path | None) -> Path | None:
    """A regular file that exists (a FIFO or a device would block or never end)."""
    if value is not None:
        _check_path(option, value, want_folder=False)
    return value


def existing_folder(option: str, value: Path | None) -> Path | None:
    if value is not None:
        _check_path(option, value, want_folder=True)
    return value


def _check_path(option: str, path: Path, *, want_folder: bool) -> None:
    text = str(path)
    shown = show(text)
    if text.startswith("-"):
        _not_option_like(option, text)
    problem = name_problem(path)
    if problem is not None:
        raise UsageError(f"{option} {shown}: {problem}", "pass an existing path")
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise UsageError(f"{option} {shown}: no such file or folder", "check the path") from None
    except OSError as exc:
        raise UsageError(f"{option} {shown}: {exc.strerror or exc}", "check the path") from None
    if want_folder and not stat.S_ISDIR(mode):
        raise UsageError(f"{option} {shown}: {kind_of(mode)}, not a folder", "pass a folder")
    if not want_folder and not stat.S_ISREG(mode):
        raise UsageError(
            f"{option} {shown}: {kind_of(mode)}, not a regular file", "pass a regular file"
        )
