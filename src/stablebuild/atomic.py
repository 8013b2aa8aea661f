"""Write a file whole or not at all: a temporary file beside it, fsync, then a rename.

Only a regular file is ever replaced: a device node, a FIFO, a socket, a folder or a symbolic
link standing at the target is refused (as root, a rename would replace `/dev/null` itself).
The folder must exist unless the caller asks for it to be made (caches do; reports do not).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

# How `tempfile.mkstemp` opens its file (that module, and the `shutil`, `random` and compression
# modules it loads, would cost a remembered answer more than the write it makes).
_TEMPORARY = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFLNK: "a symbolic link",
}


class NotRegularFile(OSError):
    """The target exists and is not a regular file; it was left as it was."""

    def __init__(self, path: Path, kind: str) -> None:
        super().__init__(errno.EEXIST, f"{kind}, not a regular file; it is never replaced")
        self.filename = str(path)
        self.kind = kind


def kind_of(mode: int) -> str:
    """What a `st_mode` describes, in words ("a FIFO", "a regular file"...)."""
    return _KINDS.get(
        stat.S_IFMT(mode), "a regular file" if stat.S_ISREG(mode) else "a special file"
    )


def umask() -> int:
    """The process umask, read without changing it where the system can tell it."""
    # NOTE: os.umask() can only be read by setting it, and for that instant every thread
    # would create files with the temporary value; Linux shows it in /proc instead.
    with (
        contextlib.suppress(OSError, ValueError),
        open("/proc/self/status", encoding="ascii", errors="replace") as status,
    ):
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    current = os.umask(0o022)
    os.umask(current)
    return current


def write_text(
    path: Path,
    text: str,
    *,
    mode: int | None = None,
    make_parents: bool = False,
    durable: bool = True,
) -> Path:
    """Readers never see half a file; on failure the temporary file is removed and the
    OSError raised, and whatever stood at `path` before is left as it was. `durable`: on disk
    before it replaces the old file (fsync); off for what a crash may lose (a cache entry).

    The new file gets `mode` when given, else the mode of the file it replaces, else what the
    umask allows (0644 under umask 022). A target that is not a regular file raises
    `NotRegularFile`; a missing folder raises FileNotFoundError unless `make_parents`.
    """
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        existing = os.lstat(path)
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        raise NotRegularFile(path, kind_of(existing.st_mode))
    if mode is None:
        mode = stat.S_IMODE(existing.st_mode) if existing is not None else 0o666 & ~umask()
    fd, tmp = _temporary(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            os.fchmod(handle.fileno(), mode)  # created 0600 whatever the umask
            handle.write(text)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _temporary(path: Path) -> tuple[int, str]:
    """A new file beside `path`, made here and nowhere else (O_EXCL), open for writing."""
    for _ in range(100):
        # NOTE: a short prefix: a target name near the 255-byte limit must not make the
        # temporary file's name too long.
        tmp = os.path.join(path.parent, f".{path.name[:40]}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, _TEMPORARY, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no unused temporary file name", str(path.parent))
