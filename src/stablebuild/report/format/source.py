"""Where a problem sits in the repository, as CI consumers want it said.

GitHub code scanning, GitLab Code Quality and workflow annotations all resolve paths against the
repository's root (the git work tree), not the folder that was audited; they want the path
percent-encoded in URIs, and a fingerprint that survives lines moving up or down.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import NamedTuple
from urllib.parse import quote

from stablebuild import textfile

SRCROOT = "%SRCROOT%"
REPOSITORY = "https://github.com/stablebuild/stablebuild"  # SARIF informationUri, docs links
MAX_READ = 5 * 1024 * 1024  # larger files are not read for a line's text (as the audit's limit)


class Place(NamedTuple):
    """A file (POSIX, relative to the work tree root) and a 1-based line."""

    path: str
    line: int
    text: str = ""  # the line's content, normalized: what the fingerprint is made of


def work_tree_root(start: Path) -> Path:
    """The nearest folder at or above `start` holding `.git` (a folder, or a worktree's file);
    `start` itself when there is none (an exported tree, a tarball)."""
    start = start.absolute()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def repo_path(root: Path, path: Path) -> str:
    """`path` relative to the work tree `root`, POSIX style; `path` itself when outside it."""
    absolute = path if path.is_absolute() else Path.cwd() / path
    try:
        return PurePosixPath(absolute.relative_to(root)).as_posix()
    except ValueError:
        return PurePosixPath(absolute).as_posix()


def uri(path: str) -> str:
    """A relative URI reference for a repository path: spaces and non-ASCII percent-encoded."""
    return quote(path, safe="/")


def root_uri(root: Path) -> str:
    """The work tree root as an absolute `file:` URI ending in `/` (SARIF's base URI)."""
    return root.absolute().as_uri().rstrip("/") + "/"


def normalize(text: str) -> str:
    return " ".join(text.split())


def line_text(file: Path, line: int, root: Path | None = None) -> str:
    """The normalized content of `line` in `file`; "" when it cannot be read."""
    lines = read_lines(file, root)
    return normalize(lines[line - 1]) if 0 < line <= len(lines) else ""


def read_lines(file: Path, root: Path | None = None) -> list[str]:
    """The file's lines; [] when it cannot be read, or leads out of `root` (default: its own
    folder): a symbolic link in a pull request must not bring a host file into a report."""
    text = textfile.read_text(file, root=root or file.parent, limit=MAX_READ)
    return [] if isinstance(text, textfile.Unreadable) else text.splitlines()


_DIGITS = re.compile(r"\d+")


class Fingerprints:
    """Stable ids of problems: rule + path + the line's content, never the line number.

    Two problems with the same rule, path and content (a line repeated in a file) are told
    apart by their order, as GitHub's own `primaryLocationLineHash` does.
    """

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    def __call__(self, rule: str, place: Place | None, message: str) -> str:
        # Without the line's text the message stands in, its numbers removed: they are often
        # the line number or a count that changes with unrelated edits.
        content = place.text if place and place.text else _DIGITS.sub("#", normalize(message))
        path = place.path if place else ""
        digest = hashlib.sha256(f"{rule}\0{path}\0{content}".encode()).hexdigest()[:32]
        self.seen[digest] += 1
        return f"{digest}:{self.seen[digest]}"


__all__ = [
    "REPOSITORY",
    "SRCROOT",
    "Fingerprints",
    "Place",
    "line_text",
    "normalize",
    "repo_path",
    "root_uri",
    "uri",
    "work_tree_root",
]
