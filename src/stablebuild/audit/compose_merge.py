"""Which compose files are merged with which: an override is only an override when combined.

Evidence read (never executed): the names compose merges by itself (`compose.override.yml` with
`compose.yml`, `X.override.yml` with `X.yml`), `-f a -f b` (`docker compose`, `docker-compose`,
`podman-compose`) and `docker stack deploy -c a -c b` in Makefiles, shell scripts, CI files and
READMEs, and `COMPOSE_FILE=a:b` in those and in `.env` files. A `compose.prod.yml` nobody merges
is a stack of its own.
"""

from __future__ import annotations

import posixpath
import re
from functools import lru_cache
from pathlib import Path

from stablebuild import shellwords
from stablebuild.audit.project import Project

BASE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
# Files whose text may merge compose files: names, then suffixes.
_SCRIPT_NAMES = {
    "Makefile",
    "makefile",
    "GNUmakefile",
    "justfile",
    "Justfile",
    "Taskfile.yml",
    "Taskfile.yaml",
    "Procfile",
    ".gitlab-ci.yml",
    ".envrc",
    "tox.ini",
}
_SCRIPT_SUFFIXES = (".mk", ".sh", ".bash", ".zsh", ".ps1", ".md", ".rst")
_FILE_FLAGS = {"-f", "--file"}
_STACK_FLAGS = {"-c", "--compose-file"}
_COMPOSE_FILE = re.compile(r"COMPOSE_FILE\s*[:=]\s*[\"']?([^\"'\s]+)")
_CONTINUED = re.compile(r"\\\n\s*")
_MAX_BYTES = 512 * 1024


def _sources(project: Project) -> list[Path]:
    out = []
    for rel in project.files:
        name = rel.name
        if (
            name in _SCRIPT_NAMES
            or name.endswith(_SCRIPT_SUFFIXES)
            or name.startswith(".env")
            or (
                rel.parent.as_posix().endswith(".github/workflows")
                and name.endswith((".yml", ".yaml"))
            )
        ):
            out.append(rel)
    return out


def _sequences(text: str) -> list[list[str]]:
    """The compose file lists one text names: each `-f` chain and each COMPOSE_FILE value."""
    out: list[list[str]] = []
    for line in _CONTINUED.sub(" ", text).splitlines():
        lower = line.lower()
        if "compose_file" in lower:
            for match in _COMPOSE_FILE.finditer(line):
                out.append([p for p in re.split(r"[:;]", match.group(1)) if p])
        if ("compose" in lower or ("stack" in lower and "deploy" in lower)) and "-" in line:
            out += _chain(line)
    return out


@lru_cache(maxsize=4096)
def _chain(line: str) -> list[list[str]]:
    """The `-f` (or `docker stack deploy -c`) files of one command line, as one chain."""
    lower = line.lower()
    stack = "stack" in lower and "deploy" in lower
    try:
        words = shellwords.split(line)
    except ValueError:
        words = line.split()
    flags = _FILE_FLAGS | (_STACK_FLAGS if stack else set())
    files: list[str] = []
    for i, word in enumerate(words):
        if word in flags and i + 1 < len(words):
            files.append(words[i + 1])
        elif word.startswith(("--file=", "--compose-file=")):
            files.append(word.split("=", 1)[1])
    return [files] if files else []


def merges(project: Project, compose_files: list[Path]) -> dict[Path, tuple[Path, ...]]:
    """For every compose file known to be merged over others: the files under it, in order."""
    known = set(compose_files)
    bases: dict[Path, list[Path]] = {}

    def add(chain: list[Path]) -> None:
        for i, rel in enumerate(chain[1:], start=1):
            below = bases.setdefault(rel, [])
            below += [b for b in chain[:i] if b not in below and b != rel]

    for rel in compose_files:
        name = rel.name
        for suffix in (".yml", ".yaml"):
            if name.endswith(".override" + suffix):
                stem = name[: -len(".override" + suffix)]
                own = [rel.parent / f"{stem}{ext}" for ext in (".yaml", ".yml")]
                if stem not in ("compose", "docker-compose"):
                    own += [rel.parent / n for n in BASE_NAMES]
                base = next((b for b in own if b in known), None)
                if base is not None:
                    add([base, rel])
    by_name = {rel.as_posix(): rel for rel in compose_files}
    for source in _sources(project):
        text = _quiet_text(project, source)
        if not text:
            continue
        lower = text.lower()
        if "compose" not in lower and not ("stack" in lower and "deploy" in lower):
            continue
        folder = source.parent.as_posix()
        for names in {tuple(n) for n in _sequences(text)}:
            chain = [by_name[r] for n in names if (r := _resolve(folder, n, by_name)) is not None]
            if len(chain) >= 2:
                add(chain)
    return {rel: tuple(below) for rel, below in bases.items() if below}


def _quiet_text(project: Project, rel: Path) -> str | None:
    """A small text file's content; anything else is None, and not a finding: these files are
    only read for evidence (`Project.text` would report a binary `.env.gpg` as unreadable)."""
    return project.quiet_text(rel, limit=_MAX_BYTES)  # a FIFO or a link outside: None


def _resolve(folder: str, name: str, known: dict[str, Path]) -> str | None:
    """A compose file a text names: relative to the text's folder, else to the root."""
    if any(c in name for c in "$`*{"):
        return None
    name = name.removeprefix("./")
    for base in (folder, "."):
        path = posixpath.normpath(posixpath.join(base, name))
        if path in known:
            return path
    return None


def standard_base(override: Path, compose_files: list[Path]) -> Path | None:
    """The file a `compose.X.yml` would be merged over if it were: same folder, same family."""
    if override.name in BASE_NAMES:
        return None
    order = BASE_NAMES if override.name.startswith("compose.") else BASE_NAMES[::-1]
    present = set(compose_files)
    return next((override.parent / n for n in order if override.parent / n in present), None)


__all__ = ["BASE_NAMES", "merges", "standard_base"]
