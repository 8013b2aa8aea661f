"""Whether a string can name a file at all: no NUL byte, encodable, within Linux's limits.

Checked before a path reaches the operating system, whose answers would otherwise be
exceptions (`ValueError: embedded null byte`, `OSError: File name too long`) instead of
a line that says which value is wrong.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

NAME_MAX = 255  # bytes in one path component
PATH_MAX = 4096  # bytes in a whole path
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def name_problem(path: Path | str) -> str | None:
    """What makes `path` unusable as a file name, or None."""
    text = str(path)
    if not text:
        return "an empty path"
    if "\0" in text:
        return "the path contains a NUL byte"
    try:
        raw = os.fsencode(text)
    except UnicodeError:
        return "the path cannot be encoded for this file system"
    if len(raw) > PATH_MAX:
        return f"the path is {len(raw)} bytes long (at most {PATH_MAX})"
    longest = max(raw.split(b"/"), key=len)
    if len(longest) > NAME_MAX:
        return f"a name in the path is {len(longest)} bytes long (at most {NAME_MAX})"
    return None


def is_inside(path: Path, folder: Path) -> bool:
    """Whether `path` (already resolved) is `folder` (already resolved) or below it."""
    return path == folder or folder in path.parents


def shown(path: Path | str) -> str:
    """A path fit for a one-line message: shortened when long, quoted when it holds controls."""
    text = str(path)
    short = text if len(text) <= 120 else text[:60] + "..." + text[-40:]
    return repr(short) if _CONTROL.search(short) else short


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where stablebuild keeps its caches: `$XDG_CACHE_HOME/stablebuild`, else
    `~/.cache/stablebuild`. Here, not in the configuration layer: a remembered answer finds its
    memo without loading that layer."""
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stablebuild"


def memo_folder(cache_dir: Path | None = None) -> Path:
    """Where remembered answers are kept, every command's (NOTE: under `validate/`, where the
    first were). Here: the program's entry asks whether there is any before loading them."""
    return (cache_dir or default_cache_dir()) / "validate" / "answers"
