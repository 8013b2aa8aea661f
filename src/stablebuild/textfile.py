"""Reading a file a repository supplies, without trusting it.

A pull request can put anything where a `Dockerfile` or a requirements file is expected: a FIFO
(a plain read blocks forever), a symlink to `/dev/zero` (a plain read never ends), a symlink to
`/etc/shadow` (its lines would land in every report), a file that grows while it is read. Here
only a regular file is read, its size is checked before the read and the read itself is capped,
and a path that resolves outside the folder being audited is refused before it is opened.

Errors are values: `read_bytes` and `read_text` return an `Unreadable` that says why in one
line (the caller names the file), never raise.
"""

from __future__ import annotations

import errno
import os
import stat
from enum import Enum
from pathlib import Path
from typing import NamedTuple

MAX_BYTES = 5 * 1024 * 1024
_CHUNK = 1024 * 1024
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO swapped in after the check opens without blocking
    | getattr(os, "O_NOFOLLOW", 0)  # the resolved path must not have become a symlink
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


class Why(str, Enum):
    """Why a file was not read; the audit turns each into its own rule id."""

    MISSING = "missing"
    OUTSIDE = "outside"  # resolves outside the folder being audited
    SPECIAL = "special"  # a FIFO, device, socket or folder where a file was expected
    TOO_LARGE = "too_large"
    BINARY = "binary"  # a NUL byte where text was expected
    NOT_UTF8 = "not_utf8"
    UNREADABLE = "unreadable"  # permissions, I/O errors, a bad path


class Unreadable(NamedTuple):
    """A file that was not read, and why: `reason` is one line; for a path that leads outside
    the audited folder, it names where the path leads."""

    why: Why
    reason: str
    line: int | None = None  # for text that does not decode: the line of the first bad byte

    def __str__(self) -> str:
        return self.reason


def inside(path: Path, root: Path) -> bool:
    """Whether `path` (already resolved) is `root` (already resolved) or lies under it."""
    return path == root or root in path.parents


def resolve(path: Path, root: Path | None = None) -> Path | Unreadable:
    """Where `path` really leads (every symlink followed), or why it may not be read.

    With a `root`, a path that leads outside it is refused: the reason names where it leads.
    """
    try:
        real = Path(os.path.realpath(path))
        if root is None:
            return real
        top = Path(os.path.realpath(root))
    except ValueError:  # an embedded NUL byte
        return _NUL
    except OSError as exc:
        return _os_problem(exc)
    if not inside(real, top):
        via = "a symlink to" if real != Path(os.path.abspath(path)) else "leads to"
        return Unreadable(Why.OUTSIDE, f"{via} {real}, outside the audited folder; not read")
    return real


def read_bytes(
    path: Path, *, root: Path | None = None, limit: int = MAX_BYTES
) -> bytes | Unreadable:
    """The content of the regular file at `path`, at most `limit` bytes, or why not.

    With a `root`, the file must resolve inside it. Nothing but a regular file is ever opened:
    the type is checked on the path first and again on the opened descriptor.
    """
    real = resolve(path, root)
    if isinstance(real, Unreadable):
        return real
    try:
        before = os.stat(real)
    except ValueError:
        return _NUL
    except OSError as exc:
        return _os_problem(exc)
    problem = _not_regular(before.st_mode) or _too_large(before.st_size, limit)
    if problem is not None:
        return problem
    try:
        fd = os.open(real, _OPEN_FLAGS)
    except OSError as exc:
        return _os_problem(exc)
    try:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino):
            return Unreadable(Why.UNREADABLE, "the file was replaced while read; not read")
        problem = _not_regular(opened.st_mode) or _too_large(opened.st_size, limit)
        if problem is not None:
            return problem
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while being read
            return _too_large(size, limit) or Unreadable(Why.TOO_LARGE, "grew while read")
        return b"".join(chunks)
    except OSError as exc:
        return _os_problem(exc)
    finally:
        os.close(fd)


def read_text(
    path: Path,
    *,
    root: Path | None = None,
    limit: int = MAX_BYTES,
    strict: bool = False,
) -> str | Unreadable:
    """The file's text (UTF-8, a leading byte order mark dropped), or why not.

    A NUL byte in the first 8 KiB marks a binary file. Bytes that are not UTF-8 are replaced
    unless `strict`, where they are refused with the line of the first one.
    """
    data = read_bytes(path, root=root, limit=limit)
    if isinstance(data, Unreadable):
        return data
    return decode(data, strict=strict)


def decode(data: bytes, *, strict: bool = False) -> str | Unreadable:
    """`data` as text, the way `read_text` decodes it."""
    nul = data.find(b"\0", 0, 8192)
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        return Unreadable(Why.BINARY, "a binary file where text was expected; not read", line)
    try:
        text = data.decode("utf-8", errors="strict" if strict else "replace")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return Unreadable(
            Why.NOT_UTF8,
            f"not UTF-8 (byte 0x{data[exc.start]:02x} on line {line}); save the file as UTF-8",
            line,
        )
    return text.removeprefix("\ufeff")


def _not_regular(mode: int) -> Unreadable | None:
    if stat.S_ISREG(mode):
        return None
    kind = (
        "a folder"
        if stat.S_ISDIR(mode)
        else "a FIFO"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "not a regular file"
    )
    return Unreadable(Why.SPECIAL, f"{kind} where a file was expected; not read")


def _too_large(size: int, limit: int) -> Unreadable | None:
    if size <= limit:
        return None
    return Unreadable(Why.TOO_LARGE, f"larger than {_size(limit)}; not read")


def _size(count: int) -> str:
    if count >= 1024**2 and count % 1024**2 == 0:
        return f"{count // 1024**2} MiB"
    if count >= 1024 and count % 1024 == 0:
        return f"{count // 1024} KiB"
    return f"{count} bytes"


_NUL = Unreadable(Why.UNREADABLE, "the path contains a NUL byte; not read")


def _os_problem(exc: OSError) -> Unreadable:
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return Unreadable(Why.MISSING, "no such file")
    if exc.errno == errno.ELOOP:
        return Unreadable(Why.UNREADABLE, "a symlink loop (or a symlink swapped in); not read")
    if exc.errno == errno.ENAMETOOLONG:
        return Unreadable(Why.UNREADABLE, "the path is too long; not read")
    if exc.errno == errno.EISDIR:
        return Unreadable(Why.SPECIAL, "a folder where a file was expected; not read")
    return Unreadable(Why.UNREADABLE, f"cannot read: {exc.strerror or exc}")


__all__ = [
    "MAX_BYTES",
    "Unreadable",
    "Why",
    "decode",
    "inside",
    "read_bytes",
    "read_text",
    "resolve",
]
