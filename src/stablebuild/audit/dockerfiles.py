"""Each Dockerfile of a project found and parsed once (`stages.parse`), for the rule modules."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from stablebuild.audit.project import Project
from stablebuild.audit.sources import DOCKERFILE_GLOBS, per_project, read_text
from stablebuild.stages import ParsedDockerfile, parse

_DOCKERFILE = re.compile("|".join(fnmatch.translate(g) for g in DOCKERFILE_GLOBS))


def dockerfile_paths(project: Project) -> list[Path]:
    """`sources.dockerfiles`, found once per project with one compiled pattern."""

    def build() -> list[Path]:
        return [
            f
            for f in project.files
            if (_DOCKERFILE.match(f.name) or _DOCKERFILE.match(f.as_posix()))
            and not f.name.endswith(".dockerignore")
        ]

    return per_project(project, "dockerfile-paths", build)


def parsed(project: Project, rel: Path) -> ParsedDockerfile | None:
    """The Dockerfile's stages, or None when it cannot be read (the read problem is recorded)."""

    def build() -> ParsedDockerfile | None:
        text = read_text(project, rel)
        if text is None:
            return None
        try:
            return parse(text)
        except Exception:  # NOTE: syntax the parser chokes on is the Dockerfile family's to report
            return None

    return per_project(project, f"stages:{rel.as_posix()}", build)
