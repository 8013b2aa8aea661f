"""What an audit consulted besides the files it audits: the package index's cached pages, the
vulnerability database, hadolint.

Recorded only while `recording()` is open (the command line, preparing a remembered answer:
`stablebuild.audit.answer`); elsewhere every hook here is the plain call it wraps. Each thing is
taken down before it is read (its stat signature, a folder's whole tree), so a change made while
the audit ran is a change the next invocation sees. What cannot be consulted again the same way
(an answer from the network, a cached one that failed to refresh) is said in `unrepeatable`,
and such an answer is never remembered.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from stablebuild.answer import signature, tree

if TYPE_CHECKING:
    from stablebuild.audit.index import IndexAnswer, SimpleIndex

# Where hadolint looks for its configuration besides the audited root's `.hadolint.yaml`
# (hadolint's README, "Configure"), relative to $XDG_CONFIG_HOME and $HOME.
_HADOLINT_XDG = ("hadolint.yaml", "hadolint.yml")
_HADOLINT_HOME = (
    ".config/hadolint.yaml",
    ".config/hadolint.yml",
    ".hadolint/hadolint.yaml",
    ".hadolint/hadolint.yml",
    "hadolint/config.yaml",
    "hadolint/config.yml",
    ".hadolint.yaml",
    ".hadolint.yml",
)


@dataclass
class Consulted:
    """What one audit read from outside its root, as it was when read."""

    files: dict[str, list[int] | None] = field(default_factory=dict)  # path -> signature
    folders: dict[str, dict[str, list[int]] | None] = field(default_factory=dict)  # read whole
    expires: float | None = None  # when the first cached index page used stops being fresh
    unrepeatable: list[str] = field(default_factory=list)  # why it cannot be answered again

    def expire(self, when: float) -> None:
        self.expires = when if self.expires is None else min(self.expires, when)


_CURRENT: ContextVar[Consulted | None] = ContextVar("consulted", default=None)


@contextmanager
def recording() -> Iterator[Consulted]:
    """Record what the audit run inside consults."""
    record = Consulted()
    token = _CURRENT.set(record)
    try:
        yield record
    finally:
        _CURRENT.reset(token)


def lookup(index: SimpleIndex, names: Iterable[str]) -> dict[str, IndexAnswer]:
    """`index.lookup(names)`, recording the cached pages it answered from and until when each
    is fresh (offline: for as long as it is there), or that it asked the network."""
    record = _CURRENT.get()
    if record is None:
        return index.lookup(names)
    wanted = list(names)
    before = {}
    for name in wanted:
        path = str(index.cache_path(name))
        # NOTE: read here first, so the page `lookup` answers from is known to be this one
        before[path] = (signature(path), index.read_cache(name))
    answers = index.lookup(wanted)
    for name, found in answers.items():
        path = str(index.cache_path(name))
        sig, page = before.get(path, (None, None))
        cached = found.page is not None and found.page is page and found.problem is None
        if not cached and not (found.page is None and index.offline):
            why = found.problem or "its cached page was not fresh"
            record.unrepeatable.append(
                f"the cached index page of {name} changed while read"
                if index.offline
                else f"the package index was asked for {name} ({why})"
            )
        elif signature(path) != sig:
            record.unrepeatable.append(f"the cached index page {path} changed while read")
        else:  # NOTE: offline without a usable page: "not checked" until there is one
            record.files[path] = sig
            if page is not None and not index.offline:
                record.expire(page.fetched_at + index.max_age)
    return answers


def database(path: Path) -> None:
    """The vulnerability database about to be opened: a file, or a folder read whole."""
    record = _CURRENT.get()
    if record is None:
        return
    where = os.path.abspath(path)
    if os.path.isdir(where):
        record.folders[where] = tree(where, ())
    else:
        record.files[where] = signature(where)


def cannot_repeat(why: str) -> None:
    """Part of the answer may not come out the same again: it came from the network (or a copy
    of it refreshed by the clock), or a program failed in a way that need not repeat."""
    record = _CURRENT.get()
    if record is not None:
        record.unrepeatable.append(why)


def hadolint(environ: Mapping[str, str] = os.environ) -> None:
    """hadolint is about to be looked for and run: every place it could be found (beside this
    interpreter, then on PATH) and every configuration file it reads outside the root."""
    record = _CURRENT.get()
    if record is None:
        return
    beside = os.path.dirname(sys.executable)
    paths = [os.path.join(beside, name) for name in ("hadolint", "hadolint.exe")]
    folders = environ.get("PATH", os.defpath).split(os.pathsep)
    paths += [os.path.abspath(os.path.join(folder, "hadolint")) for folder in folders]
    home = environ.get("HOME") or os.path.expanduser("~")
    config = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    paths += [os.path.join(config, name) for name in _HADOLINT_XDG]
    paths += [os.path.join(home, name) for name in _HADOLINT_HOME]
    for path in paths:
        record.files[path] = signature(path)


__all__ = ["Consulted", "cannot_repeat", "database", "hadolint", "lookup", "recording"]
