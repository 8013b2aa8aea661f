"""Baselines: today's findings recorded by fingerprint, so a repository that already has
findings adopts the gate failing only on new ones.

`stablebuild audit --write-baseline FILE` records every finding that counts (fingerprints from
`stablebuild.audit.fingerprint`, stable when lines move); `--baseline FILE` marks the findings
it holds `baseline` (reported, never failing) and lists the entries nothing matches any more,
so the file can be shrunk. Pure functions over findings and their fingerprints, plus reading
and writing the file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from stablebuild import atomic, textfile
from stablebuild.audit.finding import Finding, State
from stablebuild.errors import UsageError

SCHEMA = 1
MAX_BYTES = 64 * 1024 * 1024
NOTE = (
    "Findings stablebuild audit --baseline reports as known: only new ones fail. "
    "Regenerate with --write-baseline; remove entries listed as fixed."
)


class Entry(NamedTuple):
    """One known finding. Only `fingerprint` is matched; the rest is for people and diffs."""

    fingerprint: str
    rule: str
    file: str
    message: str


class Baseline(NamedTuple):
    path: Path
    entries: tuple[Entry, ...]

    @property
    def name(self) -> str:
        return self.path.name


def entries(findings: Sequence[Finding], ids: Sequence[str]) -> tuple[Entry, ...]:
    """The entries recording the findings that count (active or already in a baseline);
    suppressed ones have their reason in the file itself. Sorted for quiet diffs."""
    out = [
        Entry(fp, f.rule, f.file, f.message)
        for f, fp in zip(findings, ids, strict=True)
        if f.state is not State.SUPPRESSED
    ]
    return tuple(sorted(out, key=lambda e: (e.file, e.rule, e.fingerprint)))


def render(recorded: Sequence[Entry]) -> str:
    data = {
        "schema": SCHEMA,
        "tool": "stablebuild",
        "note": NOTE,
        "findings": [
            {"fingerprint": e.fingerprint, "rule": e.rule, "file": e.file, "message": e.message}
            for e in recorded
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def check_writable(path: Path) -> None:
    """Before any work: `path` can become the baseline (its folder exists; nothing but a
    regular file stands there), else a UsageError."""
    if not path.parent.is_dir():
        raise UsageError(
            f"--write-baseline {path}: the folder {path.parent} does not exist",
            "create it, or name a file in an existing folder",
        )
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise UsageError(
            f"--write-baseline {path}: not a regular file; never replaced",
            "name a regular file",
        )


def write(path: Path, findings: Sequence[Finding], ids: Sequence[str]) -> Baseline:
    """Record the findings in `path` (atomically); a path that cannot be written is a
    UsageError naming it."""
    recorded = entries(findings, ids)
    try:
        atomic.write_text(path, render(recorded))
    except OSError as exc:
        raise UsageError(
            f"--write-baseline {path}: cannot write: {exc.strerror or exc}",
            "name a regular file in a folder that exists and is writable",
        ) from None
    return Baseline(path, recorded)


def load(path: Path) -> Baseline:
    """The baseline in `path`; anything else is a UsageError with the file (and line)."""
    text = textfile.read_text(path, limit=MAX_BYTES, strict=True)
    if isinstance(text, textfile.Unreadable):
        raise UsageError(f"baseline {path}: {text.reason}", _HINT)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}: not a baseline: {exc.msg}", _HINT) from None
    except RecursionError:
        raise UsageError(f"{path}: not a baseline: nested too deeply", _HINT) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise UsageError(
            f"{path}: not a stablebuild baseline (schema {SCHEMA} expected)",
            _HINT,
        )
    items = data.get("findings")
    if not isinstance(items, list):
        raise UsageError(f"{path}: `findings` must be a list", _HINT)
    return Baseline(path, tuple(_entry(path, item, n) for n, item in enumerate(items, start=1)))


_HINT = "write one with stablebuild audit --write-baseline FILE"


def _entry(path: Path, item: Any, number: int) -> Entry:
    if not isinstance(item, dict) or not isinstance(item.get("fingerprint"), str):
        raise UsageError(f"{path}: finding {number} has no fingerprint", _HINT)
    return Entry(
        item["fingerprint"],
        str(item.get("rule", "")),
        str(item.get("file", "")),
        str(item.get("message", "")),
    )


def apply(
    findings: Sequence[Finding], ids: Sequence[str], baseline: Baseline
) -> tuple[list[Finding], tuple[Entry, ...]]:
    """The findings with those the baseline holds marked `baseline`, and the entries no
    finding matches any more (fixed: they can leave the file)."""
    known = {e.fingerprint for e in baseline.entries}
    seen = set(ids)
    justification = f"recorded in the baseline {baseline.name}"
    out = [
        f._replace(state=State.BASELINE, justification=justification)
        if f.active and fp in known
        else f
        for f, fp in zip(findings, ids, strict=True)
    ]
    fixed = tuple(e for e in baseline.entries if e.fingerprint not in seen)
    return out, fixed


__all__ = ["Baseline", "Entry", "apply", "check_writable", "entries", "load", "render", "write"]
