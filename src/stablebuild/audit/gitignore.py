"""Whether git ignores a path, from the `.gitignore` files inside the audited root.

Git's rules, without running git: patterns from the root's `.gitignore` down to the path's
folder (deeper files later), `.git/info/exclude` first; the last matching pattern decides, `!`
re-includes, a trailing `/` matches folders only, a pattern with a `/` before its end is
anchored to its file's folder, and nothing inside an ignored folder can be re-included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from stablebuild.audit.project import Project


@dataclass(frozen=True)
class _Pattern:
    base: str  # the folder of the .gitignore holding it, "" for the root
    regex: re.Pattern[str]
    negated: bool
    folders_only: bool


def _compile(line: str, base: str) -> _Pattern | None:
    text = line.rstrip("\n")
    if not text.strip() or text.startswith("#"):
        return None
    while text.endswith(" ") and not text.endswith("\\ "):
        text = text[:-1]
    negated = text.startswith("!")
    text = text[1:] if negated else text
    text = text[1:] if text.startswith(("\\#", "\\!")) else text
    folders_only = text.endswith("/")
    text = text.rstrip("/")
    if not text:
        return None
    anchored = "/" in text
    text = text.lstrip("/")
    out = [] if anchored else ["(?:.*/)?"]
    i = 0
    while i < len(text):
        if text.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif text.startswith("**", i):
            out.append(".*")
            i += 2
        elif text[i] == "*":
            out.append("[^/]*")
            i += 1
        elif text[i] == "?":
            out.append("[^/]")
            i += 1
        elif text[i] == "[" and "]" in text[i + 1 :]:
            end = text.index("]", i + 1)
            body = text[i + 1 : end].replace("\\", "\\\\")
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
        elif text[i] == "\\" and i + 1 < len(text):
            out.append(re.escape(text[i + 1]))
            i += 2
        else:
            out.append(re.escape(text[i]))
            i += 1
    try:
        regex = re.compile("".join(out) + "$")
    except re.error:
        return None
    return _Pattern(base, regex, negated, folders_only)


def _patterns(project: Project, folder: PurePosixPath) -> list[_Pattern]:
    sources = [(Path(".git/info/exclude"), "")]
    parts = [""] + [p.as_posix() for p in reversed(folder.parents) if p.as_posix() != "."]
    if folder.as_posix() != ".":
        parts.append(folder.as_posix())
    sources += [(Path(p) / ".gitignore", p) for p in parts]
    out: list[_Pattern] = []
    for rel, base in sources:
        text = project.quiet_text(rel)  # bounded, inside the root, never a FIFO
        if text is None:
            continue
        out += [p for line in text.splitlines() if (p := _compile(line, base)) is not None]
    return out


def _decide(patterns: list[_Pattern], path: str, is_folder: bool) -> bool:
    ignored = False
    for pattern in patterns:
        if pattern.folders_only and not is_folder:
            continue
        if pattern.base and not path.startswith(pattern.base + "/"):
            continue
        local = path[len(pattern.base) + 1 :] if pattern.base else path
        if pattern.regex.match(local):
            ignored = not pattern.negated
    return ignored


def ignored(project: Project, rel: Path) -> bool:
    """Whether git would ignore `rel` (relative to the audited root), file or not yet created."""
    path = PurePosixPath(rel.as_posix())
    if path.is_absolute() or ".." in path.parts:
        return False
    patterns = _patterns(project, path.parent)
    if not patterns:
        return False
    for parent in reversed(path.parents):
        if parent.as_posix() != "." and _decide(patterns, parent.as_posix(), True):
            return True
    return _decide(patterns, path.as_posix(), (project.root / rel).is_dir())


__all__ = ["ignored"]
