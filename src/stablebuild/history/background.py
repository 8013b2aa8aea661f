"""A remembered answer's run, recorded after the answer is given.

Recording a run asks git where the sources stood, opens the store and writes its rows: ~40 ms of
a ~0.16 s remembered validate (bench 7), more than the rest of the answer's own work once the
engine has replied. So, once the report is out, a child process (`os.fork`: nothing to import
again) records the run, and the command exits without waiting for it, as `git gc --auto`
detaches.

Only where nothing can be lost by it; otherwise the run is recorded before the exit, as always:
- the store is a SQLite file that exists and can be written (a server, a store still to be
  made, or a read-only one is met in the foreground, where what goes wrong is seen);
- the history is neither required nor judged (`--history-required`, `--max-regression`: both
  can change the exit code);
- not on a CI (`CI` set): a runner may end what a step leaves running;
- no other thread runs (a fork copies only the calling one);
- no other background record holds the store, and none left a note (below).

Nobody reads the history before a run recorded in the background is in it: the parent takes an
exclusive `flock` on the SQLite file before it forks, the child holds it (inherited) until it is
done, and every opening of the store (`SqliteStore`) first waits for a shared one. SQLite's own
locks are POSIX record locks, which `flock` does not touch.

A record that fails leaves its warning in `unrecorded/` of stablebuild's cache, one note per
store; the next validate that records in that store shows it (`told_unrecorded`) and records in
the foreground.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from stablebuild.errors import StablebuildError
    from stablebuild.history.location import Location
    from stablebuild.history.session import HistorySession
    from stablebuild.report.model import Report

NOTES = "unrecorded"  # under stablebuild's cache folder
_UNSET = ("", "0", "false")  # CI values that say "not a CI"


def possible(location: Location, environ: Mapping[str, str]) -> bool:
    """Whether a run recorded in `location` may be recorded in the background, as far as
    can be told before the run ends (the rest is `record_later`'s)."""
    if location.kind != "sqlite" or location.path is None or not hasattr(os, "fork"):
        return False
    if environ.get("CI", "").strip().lower() not in _UNSET:
        return False
    return location.path.is_file() and os.access(location.path, os.W_OK)


def note_path(store: Path, cache_dir: Path | None = None) -> Path:
    """The note a failed background record leaves for the store at `store`."""
    import hashlib

    from stablebuild.paths import default_cache_dir

    name = hashlib.sha256(os.fsencode(str(store))).hexdigest()[:16]
    return (cache_dir or default_cache_dir()) / NOTES / f"{name}.json"


def told_unrecorded(location: Location, warn: Callable[[str, str], None]) -> bool:
    """Warn of a run a background record failed to record in `location` (the note is removed
    once told): True when there was one."""
    if location.kind != "sqlite" or location.path is None:
        return False
    path = note_path(location.path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return False
    import json

    with contextlib.suppress(OSError):
        path.unlink()
    try:
        note = json.loads(text)
        run_id, message, hint = str(note["run_id"]), str(note["message"]), str(note["hint"])
    except (ValueError, KeyError, TypeError):
        run_id, message, hint = "?", "its note could not be read", ""
    warn(
        f"run {run_id} was not recorded in the history: {message}",
        hint or "its report was complete; only the history lacks that run",
    )
    return True


def record_later(session: HistorySession, report: Report) -> bool:
    """Fork a child that records `report`'s run in `session`'s store and return True at once:
    the caller ends without waiting for it. False: the caller records the run itself."""
    path = session.location.path
    threading = sys.modules.get("threading")
    if path is None or (threading is not None and threading.active_count() > 1):
        return False
    try:
        lock = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    import fcntl

    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another record holds it: no wait
        sys.stdout.flush()
        sys.stderr.flush()
        child = os.fork()
    except OSError:
        os.close(lock)
        return False
    if child == 0:
        _record(session, report, lock)
    os.close(lock)  # NOTE: not unlocked: the child's copy of it holds the lock
    return True


def _record(session: HistorySession, report: Report, lock: int) -> NoReturn:
    """The child: off the caller's terminal and files, record the run, leave a note if that
    failed, and end without running anything of the parent's (no atexit, no buffers)."""
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for std in (0, 1, 2):
            os.dup2(null, std)
        # NOTE: nothing of the caller's kept open (a hook runner's pipe would wait for it)
        os.closerange(3, lock)
        os.closerange(lock + 1, 1 << 16)
        recorder = session.recorder()
        if not recorder.finish(report) and recorder.problem is not None:
            _leave_note(session.location, report.run_id, recorder.problem)
    finally:
        os._exit(0)


def _leave_note(location: Location, run_id: str, problem: StablebuildError) -> None:
    import json

    from stablebuild import atomic

    if location.path is None:
        return
    note = {"run_id": run_id, "message": problem.message, "hint": problem.hint}
    with contextlib.suppress(OSError):
        atomic.write_text(note_path(location.path), json.dumps(note) + "\n", make_parents=True)


__all__ = ["NOTES", "note_path", "possible", "record_later", "told_unrecorded"]
