"""Hostile building blocks the generators share: YAML that expands or loops, odd file nodes.

Every planter returns the `preserve` entry that says what the node must still be afterwards, so
a case can assert that nothing replaced a FIFO, a device node or a symlink it was pointed at.
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path
from typing import Any

# Environment of every CLI case: no engine (validate stops at 3 unless a usage or manifest error
# comes first, as it must), no network (a proxy that refuses at once), no colour, a fixed width.
OFFLINE_ENV = {
    "DOCKER_HOST": "unix:///nonexistent/stablebuild-fuzz/docker.sock",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "NO_PROXY": "",
    "no_proxy": "",
    "NO_COLOR": "1",
    "TERM": "dumb",
    "COLUMNS": "120",
}


# -- YAML -------------------------------------------------------------------------------------


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """Billion laughs as one flow sequence: a few hundred bytes, width**levels leaves expanded."""
    parts = ["&a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        parts.append(f"&a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "[" + ", ".join(parts) + "]"


def map_bomb(levels: int = 9, width: int = 9) -> str:
    """The same as nested mappings."""
    keys = [f"k{j}" for j in range(width)]
    parts = ["m0: &m0 {" + ", ".join(f"{k}: lol" for k in keys) + "}"]
    for i in range(1, levels):
        parts.append(f"m{i}: &m{i} {{" + ", ".join(f"{k}: *m{i - 1}" for k in keys) + "}")
    return "{" + ", ".join(parts) + "}"


def merge_bomb(levels: int = 12, width: int = 6) -> str:
    """`<<` merges of merges: the result is one key, but a naive walk re-reads each source."""
    parts = ["&g0 {key: lol}"]
    for i in range(1, levels):
        parts.append(f"&g{i} {{<<: [{', '.join([f'*g{i - 1}'] * width)}]}}")
    return "[" + ", ".join(parts) + "]"


SELF_ALIASES = (
    "&x [*x]",
    "&x {a: *x}",
    "&x {<<: *x}",
    "&x [[*x, *x]]",
    "&x {a: [b, {c: *x}]}",
)


def deep_flow(depth: int, opener: str = "[") -> str:
    if opener == "[":
        return "[" * depth + "x" + "]" * depth
    return "{a: " * depth + "x" + "}" * depth


def deep_block(key: str, depth: int) -> str:
    """`key:` holding `depth` nested block mappings (two spaces per level)."""
    lines = [f"{key}:"]
    lines += [f"{'  ' * i}k{i}:" for i in range(1, depth)]
    lines.append(f"{'  ' * depth}leaf")
    return "\n".join(lines) + "\n"


BAD_TAGS = (
    "!!int abc",
    "!!float abc",
    "!!bool maybe",
    "!!int ''",
    "!!float .",
    "!!python/object:os.system {}",
    "!!python/object/apply:os.system [true]",
    "!!python/name:os.system ''",
    "!custom value",
    "!<tag:evil.example,2000:x> value",
    "!!set {a, b}",
    "!!omap [a: 1]",
)


# -- file nodes -------------------------------------------------------------------------------


def preserve(path: Path) -> dict[str, Any]:
    """What `path` is now, as the entry `casecheck.preserved_problems` compares against."""
    st = os.lstat(path)
    kind = next(
        name
        for name, test in (
            ("fifo", stat.S_ISFIFO),
            ("chr", stat.S_ISCHR),
            ("symlink", stat.S_ISLNK),
            ("sock", stat.S_ISSOCK),
            ("dir", stat.S_ISDIR),
            ("file", stat.S_ISREG),
        )
        if test(st.st_mode)
    )
    entry: dict[str, Any] = {"path": str(path), "type": kind}
    if kind == "chr":
        entry["rdev"] = st.st_rdev
    if kind == "symlink":
        entry["target"] = os.readlink(path)
    return entry


def plant_fifo(path: Path) -> dict[str, Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return preserve(path)


def plant_symlink(path: Path, target: str) -> dict[str, Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, path)
    return preserve(path)


DEVICES = {"null": (1, 3), "zero": (1, 5), "urandom": (1, 9)}


def can_mknod(folder: Path) -> bool:
    probe = folder / ".mknod-probe"
    try:
        os.mknod(probe, 0o600 | stat.S_IFCHR, os.makedev(*DEVICES["null"]))
    except OSError:
        return False
    probe.unlink()
    return True


def plant_device(path: Path, device: str) -> dict[str, Any]:
    """A character device node like /dev/`device`, but inside the case folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(*DEVICES[device]))
    return preserve(path)


def plant_socket(path: Path) -> dict[str, Any]:
    """A bound (then closed) unix socket; bound by a relative name, as sun_path is short."""
    path.parent.mkdir(parents=True, exist_ok=True)
    here = os.getcwd()
    sock = socket.socket(socket.AF_UNIX)
    try:
        os.chdir(path.parent)
        sock.bind(path.name)
    finally:
        os.chdir(here)
        sock.close()
    return preserve(path)


def plant_sparse(path: Path, size: int) -> None:
    """A file that claims `size` bytes but takes no disk: read whole, it exhausts memory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.truncate(size)


def plant_deep_path(root: Path, levels: int, leaf: str, text: str) -> Path:
    """Folders of 255-byte names, `levels` deep: the leaf's path is longer than PATH_MAX."""
    name = "d" * 255
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(levels):
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        leaf_fd = os.open(leaf, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        try:
            os.write(leaf_fd, text.encode())
        finally:
            os.close(leaf_fd)
    finally:
        os.close(fd)
    return root.joinpath(*([name] * levels), leaf)
