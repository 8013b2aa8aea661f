"""What must still hold on disk after a fuzz case: stat-only checks, shared by worker and harness.

Nothing here opens a watched file: reading the canary would itself move its access time. The
worker imports this module by its bare name (it runs as a script), the harness as
`tests.robustness.casecheck`; both get the same pure functions.
"""

from __future__ import annotations

import os
import stat
from typing import Any

# A watched file's access time is set this far behind its modification time before each case, so
# that any read moves it even on a `relatime` mount.
ATIME_BACKDATE_NS = 10**12


def arm_canary(path: str) -> int:
    """Backdate the canary's access time; returns the value a read would change."""
    st = os.stat(path)
    atime = st.st_mtime_ns - ATIME_BACKDATE_NS
    os.utime(path, ns=(atime, st.st_mtime_ns))
    return os.stat(path).st_atime_ns


def canary_problems(path: str, armed_atime: int, mtime_ns: int, size: int) -> list[str]:
    """Whether the canary outside the case folder was read or changed since it was armed."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return [f"canary outside the case folder is gone: {exc.strerror}"]
    problems = []
    if st.st_mtime_ns != mtime_ns or st.st_size != size:
        problems.append("canary outside the case folder was changed")
    if st.st_atime_ns != armed_atime:
        problems.append("canary outside the case folder was read (its access time moved)")
    return problems


def kind_of(mode: int) -> str:
    for name, test in (
        ("fifo", stat.S_ISFIFO),
        ("chr", stat.S_ISCHR),
        ("symlink", stat.S_ISLNK),
        ("sock", stat.S_ISSOCK),
        ("dir", stat.S_ISDIR),
        ("file", stat.S_ISREG),
    ):
        if test(mode):
            return name
    return "other"


def preserved_problems(preserve: list[dict[str, Any]], absent: list[str]) -> list[str]:
    """Device nodes, FIFOs, sockets, symlinks and folders that must be exactly as planted."""
    problems = []
    for want in preserve:
        path = want["path"]
        name = os.path.basename(path)
        try:
            st = os.lstat(path)
        except OSError:
            problems.append(f"{want['type']} {name} was removed")
            continue
        found = kind_of(st.st_mode)
        if found != want["type"]:
            problems.append(f"{want['type']} {name} was replaced by a {found}")
        elif found == "chr" and st.st_rdev != want.get("rdev", st.st_rdev):
            problems.append(f"device {name} now has another device number")
        elif found == "symlink" and os.readlink(path) != want.get("target"):
            problems.append(f"symlink {name} was re-pointed to {os.readlink(path)}")
    for path in absent:
        if os.path.lexists(path):
            problems.append(f"{path} was created (a missing folder must be an error, not made)")
    return problems
