"""The files an audit looks at, discovered once: nothing is executed, nothing is written.

Nothing outside the audited root is read: a symlinked folder is not followed (one that leads
outside is a finding naming where), and every file is read through `stablebuild.textfile`, so a
FIFO, a device, a file larger than 5 MiB or a path leading outside the root is a finding with the
reason, never a hang, a memory blow-up or a host file in the report.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.rule import Rule
from stablebuild.manifest.model import Manifest
from stablebuild.textfile import MAX_BYTES, Unreadable, Why, read_text, resolve

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
    ".stablebuild",  # the build history stablebuild itself keeps
}
MANIFEST_NAMES = ("stablebuild.yml", "stablebuild.yaml")


SB001 = Rule(
    "SB001",
    "UnreadableFile",
    Severity.WARNING,
    "A file could not be read (permissions, binary, too large)",
    "A file could not be read: permissions, a binary file where text was expected, or larger "
    "than 5 MiB (the size is checked before reading, and the read itself stops there). Nothing "
    "in it was checked.",
    "fix the file's permissions or content, or exclude it in audit.exclude",
)
SB002 = Rule(
    "SB002",
    "PathLeadsOutside",
    Severity.WARNING,
    "A symlink or include leads outside the audited folder; not read",
    "A path leads outside the audited folder, so it is not read: a file symlinked to "
    "`/etc/shadow`, `/dev/zero` or `../../secrets.txt`, a requirements file symlinked out of the "
    "repository, or a symlinked folder leading out (not followed). The message names where the "
    "path leads; the file's content never reaches a report: an audit of a pull request must not "
    "copy host files into CI logs or code-scanning alerts. (`-r`/`-c` includes that name a path "
    "outside are SB206.)",
    "the audit reads nothing outside the audited folder: put the file itself in the "
    "repository, or exclude the path in audit.exclude",
)
SB003 = Rule(
    "SB003",
    "SpecialFile",
    Severity.WARNING,
    "A FIFO, device or socket where a file was expected; not read",
    "A FIFO, a device, a socket or a folder stands where a file was expected (a `Dockerfile` "
    "that is a named pipe, a device node in the repository). It is never opened, so it cannot "
    "block or fill memory. (A symlink to `/dev/zero` leads outside the folder: SB002.)",
    "replace it by a regular file, or exclude the path in audit.exclude",
)

# Which finding a file that cannot be read gives; anything not listed is SB001.
UNREADABLE_RULES = {Why.OUTSIDE: SB002, Why.SPECIAL: SB003}


@dataclass
class Project:
    """A repository under audit: its root, its manifest if any, and every file worth reading.

    Folders holding their own stablebuild.yml are other stacks and are left out, as are the
    manifest's `audit.exclude` patterns. Symlinked folders are not followed.
    """

    root: Path
    manifest: Manifest | None = None
    files: list[Path] = field(default_factory=list)  # relative to root
    read_problems: list[Finding] = field(default_factory=list)
    _texts: dict[Path, str | Unreadable] = field(default_factory=dict)

    @classmethod
    def discover(cls, root: Path, manifest: Manifest | None = None) -> Project:
        root = Path(os.path.realpath(root))  # Path.resolve raises on a symlink loop
        exclude = manifest.audit.exclude if manifest else ()
        files: list[Path] = []
        problems: list[Finding] = []
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            rel_dir = here.relative_to(root)
            keep = []
            for d in sorted(dirnames):
                rel = (rel_dir / d).as_posix()
                if d in SKIP_DIRS or _excluded(rel, exclude):
                    continue
                if os.path.islink(here / d):
                    # NOTE: os.walk does not follow it either; one leading outside is said aloud.
                    where = resolve(here / d, root)
                    if isinstance(where, Unreadable) and where.why is Why.OUTSIDE:
                        message = where.reason.replace("; not read", "; not followed")
                        problems.append(_finding(SB002, rel_dir / d, message))
                    continue
                if any(os.path.isfile(here / d / m) for m in MANIFEST_NAMES):
                    continue  # another stack: audit it on its own
                keep.append(d)
            dirnames[:] = keep
            for name in sorted(filenames):
                rel_file = rel_dir / name
                if not _excluded(rel_file.as_posix(), exclude):
                    files.append(rel_file)
        return cls(root=root, manifest=manifest, files=files, read_problems=problems)

    def matching(self, *patterns: str) -> list[Path]:
        """Files whose name (or relative path) matches one of the glob patterns."""
        return [
            f
            for f in self.files
            if any(fnmatch.fnmatch(f.name, p) or fnmatch.fnmatch(f.as_posix(), p) for p in patterns)
        ]

    def read(self, rel: Path) -> str | Unreadable:
        """The file's text, or why it was not read (a finding is recorded once for it).

        Only a regular file inside the root, at most 5 MiB, without NUL bytes, is read; bytes
        that are not UTF-8 are replaced and a leading byte order mark is dropped.
        """
        if rel not in self._texts:
            value = read_text(self.root / rel, root=self.root, limit=MAX_BYTES)
            if isinstance(value, Unreadable):
                rule = UNREADABLE_RULES.get(value.why, SB001)
                self.read_problems.append(_finding(rule, rel, value.reason, value.line))
            self._texts[rel] = value
        return self._texts[rel]

    def text(self, rel: Path) -> str | None:
        """The file's text, or None (with a finding recorded once) when it cannot be read."""
        value = self.read(rel)
        return None if isinstance(value, Unreadable) else value

    def quiet_text(self, rel: Path, limit: int = MAX_BYTES) -> str | None:
        """The file's text under the same bounds as `text` (or a smaller `limit`), but no
        finding when it cannot be read: for files only looked at for evidence (`.gitignore`,
        a `.env.gpg` beside compose)."""
        value = self._texts.get(rel)
        if value is None:
            value = read_text(self.root / rel, root=self.root, limit=min(limit, MAX_BYTES))
        if isinstance(value, Unreadable) or len(value) > limit:
            return None
        return value

    def read_files(self) -> list[Path]:
        """The files some rule read as text (`read`/`text`), in reading order: where inline
        suppressions (`stablebuild.audit.suppress`) can be."""
        return [rel for rel, value in self._texts.items() if not isinstance(value, Unreadable)]


def _finding(rule: Rule, rel: Path, message: str, line: int | None = None) -> Finding:
    return rule.finding(rel.as_posix(), line, message)


def _excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(rel, p) or rel.startswith(p.rstrip("/") + "/") for p in patterns)
