"""The files an audit looks at, discovered once: nothing is executed, nothing is written."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

from stablebuild.audit.finding import Finding, Severity
from stablebuild.manifest.model import Manifest

SKIP_DIRS = {
    ".git",
    ".hg",
    ".venv",
    "venv",
    "node_modules",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".tox",
    "build",
    "dist",
    ".eggs",
}
MAX_BYTES = 5 * 1024 * 1024
MANIFEST_NAMES = ("stablebuild.yml", "stablebuild.yaml")


@dataclass
class Project:
    """A repository under audit: its root, its manifest if any, and every file worth reading.

    Folders holding their own stablebuild.yml are other stacks and are left out, as are the
    manifest's `audit.exclude` patterns.
    """

    root: Path
    manifest: Manifest | None = None
    files: list[Path] = field(default_factory=list)  # relative to root
    read_problems: list[Finding] = field(default_factory=list)
    _texts: dict[Path, str | None] = field(default_factory=dict)

    @classmethod
    def discover(cls, root: Path, manifest: Manifest | None = None) -> Project:
        root = root.resolve()
        exclude = manifest.audit.exclude if manifest else ()
        files: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            rel_dir = here.relative_to(root)
            keep = []
            for d in sorted(dirnames):
                rel = (rel_dir / d).as_posix()
                if d in SKIP_DIRS or _excluded(rel, exclude):
                    continue
                if any((here / d / m).is_file() for m in MANIFEST_NAMES):
                    continue  # another stack: audit it on its own
                keep.append(d)
            dirnames[:] = keep
            for name in sorted(filenames):
                rel_file = rel_dir / name
                if not _excluded(rel_file.as_posix(), exclude):
                    files.append(rel_file)
        return cls(root=root, manifest=manifest, files=files)

    def matching(self, *patterns: str) -> list[Path]:
        """Files whose name (or relative path) matches one of the glob patterns."""
        return [
            f
            for f in self.files
            if any(fnmatch.fnmatch(f.name, p) or fnmatch.fnmatch(f.as_posix(), p) for p in patterns)
        ]

    def text(self, rel: Path) -> str | None:
        """The file's text, or None (with a finding recorded once) when it cannot be read."""
        if rel in self._texts:
            return self._texts[rel]
        path = self.root / rel
        value: str | None = None
        try:
            data = path.read_bytes()
            if len(data) > MAX_BYTES:
                self._problem(rel, f"file is larger than {MAX_BYTES // 1024**2} MiB; not read")
            elif b"\0" in data[:8192]:
                self._problem(rel, "binary file where text was expected; not read")
            else:
                value = data.decode("utf-8", errors="replace")
        except OSError as exc:
            self._problem(rel, f"cannot read: {exc.strerror or exc}")
        self._texts[rel] = value
        return value

    def _problem(self, rel: Path, message: str) -> None:
        self.read_problems.append(
            Finding(
                "SB001",
                Severity.WARNING,
                rel.as_posix(),
                None,
                message,
                "fix the file's permissions or content, or exclude it in audit.exclude",
            )
        )


def _excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(rel, p) or rel.startswith(p.rstrip("/") + "/") for p in patterns)
