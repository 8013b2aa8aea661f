"""Read an image's files without running it: a created, never started container, the archive API.

Used when the probe cannot start: nothing in the image is executed, so an image without a working
interpreter can still be diagnosed. Links are followed here, one archive entry at a time, because
the archive API hands a symlink back as itself.
"""

from __future__ import annotations

import contextlib
import io
import posixpath
import tarfile
from collections.abc import Callable, Iterator
from typing import Any, Literal, NamedTuple

from stablebuild.checks.inputs import InterpreterFacts, Link, PathEnd
from stablebuild.engine.api import ApiError, NotFound
from stablebuild.engine.client import LABEL_RUN, Engine

MAX_HOPS = 40  # Linux's own limit on links followed in one lookup (MAXSYMLINKS)
MEMBER_LIMIT = 64 * 1024  # the largest file read: pyvenv.cfg is a few hundred bytes
HEADER_ALLOWANCE = 64 * 1024  # tar and PAX headers in front of a member (long link targets)
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PYTHON_FOLDERS = ("/usr/bin", "/usr/local/bin")
PYTHON_NAMES = ("python3", *(f"python3.{minor}" for minor in range(6, 20)))

EntryKind = Literal["file", "directory", "symlink", "other"]
ENDS: dict[EntryKind, PathEnd] = {"file": "file", "directory": "directory", "other": "other"}


class Entry(NamedTuple):
    """One path of the image as its archive entry shows it."""

    path: str
    kind: EntryKind
    mode: int  # permission bits
    size: int = 0
    target: str | None = None  # a symlink's target, as stored


class ArchiveError(Exception):
    """The archive of one path could not be read (engine error, malformed or oversized tar)."""


class LinkLoop(ArchiveError):
    """The engine gave up resolving a path: its links loop (or exceed the engine's own limit)."""


class _Capped(io.RawIOBase):
    """The archive stream as a file, refusing to go past `limit` bytes."""

    def __init__(self, chunks: Iterator[bytes], limit: int) -> None:
        self._chunks = chunks
        self._limit = limit
        self._pending = b""
        self._count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pending:
            self._pending = next(self._chunks, b"")
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self._count += n
        if self._count > self._limit:
            raise ArchiveError(f"archive larger than {self._limit} bytes: not read")
        return n


def _kind(member: tarfile.TarInfo) -> EntryKind:
    if member.issym():
        return "symlink"
    if member.isreg():
        return "file"
    if member.isdir():
        return "directory"
    return "other"


class ImageFiles:
    """The files of one created (never started) container, one path at a time."""

    def __init__(self, engine: Engine, container: str) -> None:
        self._api = engine.api
        self._container = container

    def entry(self, path: str) -> Entry | None:
        """The entry at `path` (a link is not followed), or None when nothing is there."""
        found = self._read(path, content=False)
        return found[0] if found else None

    def read(self, path: str, limit: int = MEMBER_LIMIT) -> bytes | None:
        """The content of the regular file at `path`; None when absent, not a file or too big."""
        found = self._read(path, content=True, limit=limit)
        return found[1] if found else None

    def _read(
        self, path: str, *, content: bool, limit: int = MEMBER_LIMIT
    ) -> tuple[Entry, bytes | None] | None:
        try:
            chunks, _stat = self._api.get_archive(self._container, path)
        except NotFound:
            return None
        except ApiError as exc:
            # NOTE: the engine resolves a link fully to stat it, so a loop fails the request
            # itself and its target cannot be read.
            if "too many links" in _explain(exc):
                raise LinkLoop(path) from None
            raise ArchiveError(f"{path}: {_explain(exc)}") from None
        try:
            stream = io.BufferedReader(_Capped(iter(chunks), limit + HEADER_ALLOWANCE))
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                member = tar.next()
                if member is None:
                    raise ArchiveError(f"{path}: empty archive")
                entry = Entry(
                    path, _kind(member), member.mode & 0o7777, member.size, member.linkname or None
                )
                data = None
                if content and entry.kind == "file" and entry.size <= limit:
                    extracted = tar.extractfile(member)
                    data = extracted.read(limit + 1) if extracted is not None else None
                return entry, data
        except tarfile.TarError as exc:
            raise ArchiveError(f"{path}: unreadable archive ({exc})") from None
        finally:
            # NOTE: a folder's or a big file's archive is left unread; closing drops the stream.
            close = getattr(chunks, "close", None)
            if close is not None:
                close()


@contextlib.contextmanager
def created(engine: Engine, image: str, *, run_id: str) -> Iterator[ImageFiles]:
    """A container of `image` that is created, never started, and always removed."""
    cid = engine.api.create_container(
        {
            "Image": image,
            # Never run; Docker only wants a command when the image has none.
            "Entrypoint": ["/nonexistent"],
            "Cmd": [],
            "Labels": {LABEL_RUN: run_id},
            "NetworkDisabled": True,
            "HostConfig": {"NetworkMode": "none"},
        }
    )
    try:
        yield ImageFiles(engine, cid)
    finally:
        with contextlib.suppress(ApiError):
            engine.api.remove_container(cid, volumes=True)


Lookup = Callable[[str], Entry | None]


def follow(lookup: Lookup, path: str) -> tuple[tuple[Link, ...], PathEnd, Entry | None]:
    """Follow the links from `path`: the hops, where they stopped, and the entry found there.

    A relative target counts from the link's folder; a chain that comes back to a path it has
    seen (or that the engine cannot resolve) is a loop; past MAX_HOPS it is too long.
    """
    links: list[Link] = []
    seen = {path}
    current = path
    while True:
        try:
            entry = lookup(current)
        except LinkLoop:
            return tuple(links), "loop", None
        if entry is None:
            return tuple(links), "missing", None
        if entry.kind != "symlink":
            return tuple(links), ENDS[entry.kind], entry
        target = entry.target or ""
        points_at = posixpath.normpath(posixpath.join(posixpath.dirname(current), target))
        links.append(Link(current, target, points_at))
        if points_at in seen:
            return tuple(links), "loop", None
        if len(links) >= MAX_HOPS:
            return tuple(links), "too-long", None
        seen.add(points_at)
        current = points_at


def venv_home(config: bytes) -> str | None:
    """`home =` from a pyvenv.cfg, as the venv module writes it."""
    for line in config.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "home":
            return value.strip() or None
    return None


def _exists(links: tuple[Link, ...], end: PathEnd) -> bool:
    return bool(links) or end != "missing"


def _runnable(end: PathEnd, entry: Entry | None) -> bool:
    return end == "file" and entry is not None and bool(entry.mode & 0o111)


def _where(lookup: Lookup, name: str, folders: tuple[str, ...]) -> str | None:
    """The PATH folder entry exec would use for `name`; else the first one there at all."""
    first = None
    for folder in folders:
        candidate = posixpath.join(folder, name)
        links, end, entry = follow(lookup, candidate)
        if _runnable(end, entry):
            return candidate
        if _exists(links, end):
            first = first or candidate
    return first


def _pythons(lookup: Lookup, folders: tuple[str, ...]) -> tuple[str, ...]:
    """The python3* interpreters that resolve to an executable file in `folders`."""
    found = []
    for folder in folders:
        for name in PYTHON_NAMES:
            path = posixpath.join(folder, name)
            _links, end, entry = follow(lookup, path)
            if _runnable(end, entry):
                found.append(path)
    return tuple(found)


def gather(
    lookup: Lookup,
    read: Callable[[str], bytes | None],
    interpreter: str,
    search_path: str | None = None,
) -> InterpreterFacts:
    """Every fact about the interpreter, from `lookup` (an entry) and `read` (a small file)."""
    searched: tuple[str, ...] = ()
    if interpreter.startswith("/"):
        path: str | None = posixpath.normpath(interpreter)
    else:
        on_path = (search_path or DEFAULT_PATH).split(":")
        searched = tuple(dict.fromkeys(f for f in on_path if f.startswith("/")))
        path = _where(lookup, interpreter, searched)
    links: tuple[Link, ...] = ()
    end: PathEnd = "missing"
    mode = None
    venv = home = None
    if path is not None:
        links, end, entry = follow(lookup, path)
        mode = entry.mode if entry is not None else None
        folder = posixpath.dirname(posixpath.dirname(path))
        try:
            config = read(posixpath.join(folder, "pyvenv.cfg"))
        except ArchiveError:
            config = None  # a pyvenv.cfg that cannot be read says nothing of the venv's base
        if config is not None:
            venv, home = folder, venv_home(config)
    folders: tuple[str, ...] = PYTHON_FOLDERS
    if home and home.startswith("/") and posixpath.normpath(home) not in folders:
        folders = (*folders, posixpath.normpath(home))
    return InterpreterFacts(
        interpreter=interpreter,
        path=path,
        links=links,
        end=end,
        mode=mode,
        searched=searched,
        venv=venv,
        venv_home=home,
        pythons=_pythons(lookup, folders),
        pythons_searched=folders,
    )


def interpreter_facts(
    engine: Engine, image: str, interpreter: str, *, run_id: str, search_path: str | None = None
) -> InterpreterFacts:
    """The interpreter's facts, read from `image` through a container that never starts."""
    try:
        with created(engine, image, run_id=run_id) as files:
            return gather(files.entry, files.read, interpreter, search_path)
    except ArchiveError as exc:
        return InterpreterFacts(interpreter, None, end="unknown", error=str(exc))
    except ApiError as exc:
        return InterpreterFacts(interpreter, None, end="unknown", error=_explain(exc))


def _explain(exc: ApiError) -> str:
    return exc.first_line("the engine refused the request")
