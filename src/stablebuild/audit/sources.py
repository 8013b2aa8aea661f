"""Facts the audit's rule families share, each read once per project.

A per-project memo, file text without a byte order mark, the Dockerfiles of a project and their
instructions. Nothing here judges anything.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from stablebuild.audit.project import Project
from stablebuild.stages import structure

T = TypeVar("T")

DOCKERFILE_GLOBS = ("Dockerfile", "Dockerfile.*", "*.Dockerfile", "*.dockerfile", "Containerfile")
BOM = "\ufeff"

_MEMO: dict[tuple[int, str], tuple[weakref.ref[Project], object]] = {}


def per_project(project: Project, key: str, build: Callable[[], T]) -> T:
    """Compute `build()` once per project and key: rule modules share parsed facts."""
    slot = (id(project), key)
    hit = _MEMO.get(slot)
    if hit is not None and hit[0]() is project:
        return cast(T, hit[1])
    value = build()
    # NOTE: the callback holds the dict itself: at interpreter exit the module's globals may be
    # gone before the last Project is.
    memo = _MEMO
    _MEMO[slot] = (weakref.ref(project, lambda _ref: memo.pop(slot, None)), value)
    return value


def read_text(project: Project, rel: Path) -> str | None:
    """The file's text without a leading UTF-8 byte order mark (editors on Windows write one)."""
    text = project.text(rel)
    return text[1:] if text is not None and text.startswith(BOM) else text


def dockerfiles(project: Project) -> list[Path]:
    return [f for f in project.matching(*DOCKERFILE_GLOBS) if not f.name.endswith(".dockerignore")]


def dockerfile_instructions(project: Project, rel: Path) -> list[dict[str, Any]]:
    """dockerfile-parse's `.structure` (instruction, startline 0-based, value); [] if unreadable."""

    def build() -> list[dict[str, Any]]:
        text = read_text(project, rel)
        if text is None:
            return []
        try:
            return structure(text)  # dockerfile-parse's, in linear time
        except Exception:  # NOTE: syntax errors are the Dockerfile rule family's to report
            return []

    return per_project(project, f"dockerfile:{rel.as_posix()}", build)


__all__ = [
    "BOM",
    "DOCKERFILE_GLOBS",
    "dockerfile_instructions",
    "dockerfiles",
    "per_project",
    "read_text",
]
