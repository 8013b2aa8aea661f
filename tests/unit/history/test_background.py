"""A remembered answer's run recorded after the command ends (`history/background.py`): the
command does not wait for git or the store, nobody reads the history before the run is in it,
a failed record is told by the next validate, and where anything could be lost by it (a CI,
another thread, a store to be made) the run is recorded before the command ends.

The command is a real process (`verdict.open_history` and `finish_validate`, as a remembered
answer calls them); its git is a stand-in that waits on a FIFO the test opens, so that "the
command ended while its run was still being recorded" is seen, not timed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.unit.history.factories import api_image, report

from stablebuild.history import background
from stablebuild.history.interface import RunQuery
from stablebuild.history.location import Location
from stablebuild.history.session import HistorySession
from stablebuild.history.store import open_store
from stablebuild.report.codec import to_data

WAIT_S = 30.0  # the longest any step here may take before the test fails

# What a remembered answer does once its report is out: open the history as the replay does,
# then end as `finish_validate` says. Prints the exit code it would end with.
COMMAND = """
import json, os, sys
from pathlib import Path
from stablebuild import verdict
from stablebuild.buildargs import NO_SECRETS
from stablebuild.report.codec import from_data

stack, report_file = Path(sys.argv[1]), sys.argv[2]
settings = verdict.HistorySettings(None, "stablebuild.yml", None, False, None, None)
session = verdict.open_history(settings, stack, NO_SECRETS, later=True)
if os.environ.get("SPOIL_STORE"):  # the store is damaged between the answer and its record
    Path(os.environ["SPOIL_STORE"]).write_bytes(b"not a database" * 100)
report = from_data(json.loads(Path(report_file).read_text()))
print(verdict.finish_validate(session, report, 0), flush=True)
"""


def _quiet(message: str, hint: str) -> None:
    raise AssertionError(f"warned: {message} ({hint})")


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stack folder whose default store holds one run, recorded the ordinary way."""
    folder = tmp_path / "stack"
    folder.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("STABLEBUILD_HISTORY", raising=False)
    session = HistorySession(_store(folder), folder, warn=_quiet)
    assert session.finish(report(1, [api_image(cached=True)]))
    return folder


def _store(stack: Path) -> Location:
    return Location("sqlite", path=stack / ".stablebuild" / "history.sqlite", default=True)


def _runs_read_raw(stack: Path) -> int:
    """Runs in the store, read past its lock (what a reader that did not wait would see)."""
    path = _store(stack).path
    assert path is not None
    with contextlib.closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


def _runs(stack: Path) -> list[str]:
    """The run ids, read as stablebuild reads its history (waiting for a record under way)."""
    with contextlib.closing(open_store(_store(stack), create=False)) as store:
        return sorted(run.id for run in store.runs(RunQuery("ffmpeg-api")))


def _locked(stack: Path) -> bool:
    path = _store(stack).path
    assert path is not None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@pytest.fixture
def held_git(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """An environment whose `git` answers only once the test writes to the FIFO returned."""
    real = shutil.which("git")
    if real is None:
        pytest.skip("git is not installed")
    folder = tmp_path / "held-git"
    folder.mkdir()
    fifo = folder / "go"
    os.mkfifo(fifo)
    git = folder / "git"
    git.write_text(f'#!/bin/sh\nread go < "{fifo}"\nexec "{real}" "$@"\n')
    git.chmod(0o755)
    env = {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}
    yield env, fifo
    _release(fifo, missing_ok=True)


def _release(fifo: Path, *, missing_ok: bool = False) -> None:
    """Let the held git answer (once it has opened its end of the FIFO)."""
    deadline = time.monotonic() + (1.0 if missing_ok else WAIT_S)
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: git has not opened it yet
            if time.monotonic() > deadline:
                if missing_ok:
                    return
                raise AssertionError("git was never asked") from None
            time.sleep(0.01)
            continue
        os.write(fd, b"go\n")
        os.close(fd)
        return


def _command(stack: Path, tmp_path: Path, env: dict[str, str], run: int) -> str:
    """Run COMMAND to its end for run `run`; what it printed."""
    report_file = tmp_path / f"report-{run}.json"
    report_file.write_text(json.dumps(to_data(report(run, [api_image(cached=True)]))))
    done = subprocess.run(
        [sys.executable, "-c", COMMAND, str(stack), str(report_file)],
        capture_output=True,
        text=True,
        env=env,
        timeout=WAIT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_the_command_ends_before_its_run_is_recorded_and_readers_wait_for_it(
    stack: Path, tmp_path: Path, held_git: tuple[dict[str, str], Path]
) -> None:
    env, fifo = held_git
    assert _command(stack, tmp_path, env, run=2) == "0\n"  # ended, git still held
    assert _locked(stack)  # the recorder holds the store...
    assert _runs_read_raw(stack) == 1  # ...and has not written the run yet
    _release(fifo)
    ids = _runs(stack)  # NOTE: waits for the recorder, as `stablebuild history` would
    assert len(ids) == 2 and ids[1] == report(2, []).run_id
    assert not _locked(stack)


def test_on_a_ci_the_run_is_recorded_before_the_command_ends(stack: Path, tmp_path: Path) -> None:
    env = {**os.environ, "CI": "true"}
    assert _command(stack, tmp_path, env, run=2) == "0\n"
    assert not _locked(stack)
    assert _runs_read_raw(stack) == 2


def test_a_failed_background_record_is_told_by_the_next_validate(
    stack: Path, tmp_path: Path, held_git: tuple[dict[str, str], Path]
) -> None:
    env, fifo = held_git
    path = _store(stack).path
    assert path is not None
    env = {**env, "SPOIL_STORE": str(path)}
    assert _command(stack, tmp_path, env, run=2) == "0\n"  # nothing said: the answer is out
    _release(fifo)
    fd = os.open(path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_SH)  # the recorder is done
    os.close(fd)
    note = background.note_path(path)
    assert json.loads(note.read_text())["run_id"] == report(2, []).run_id

    told: list[tuple[str, str]] = []
    assert background.told_unrecorded(_store(stack), lambda m, h: told.append((m, h)))
    ((message, hint),) = told
    assert message.startswith(f"run {report(2, []).run_id} was not recorded in the history: ")
    assert str(path) in message and hint
    assert not note.exists()  # told once
    assert not background.told_unrecorded(_store(stack), _quiet)


def test_a_run_told_of_a_failed_record_is_recorded_before_the_command_ends(
    stack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _store(stack).path
    assert path is not None
    note = background.note_path(path)
    note.parent.mkdir(parents=True)
    note.write_text(json.dumps({"run_id": "r-1", "message": "disk full", "hint": ""}))
    from stablebuild import verdict
    from stablebuild.buildargs import NO_SECRETS

    warned: list[str] = []
    monkeypatch.setattr(verdict, "printer", lambda required: lambda m, h: warned.append(m))
    settings = verdict.HistorySettings(None, "stablebuild.yml", None, False, None, None)
    session = verdict.open_history(settings, stack, NO_SECRETS, later=True)
    assert warned == ["run r-1 was not recorded in the history: disk full"]
    assert not session.later


def test_with_another_thread_running_the_caller_records_the_run(stack: Path) -> None:
    session = HistorySession(_store(stack), stack, warn=_quiet, later=True)
    assert session.later
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not session.finish_later(report(2, []))  # no fork: it would copy one thread
    finally:
        stop.set()
        other.join()
    assert not _locked(stack)


@pytest.mark.parametrize(
    ("ci", "expected"), [(None, True), ("true", False), ("1", False), ("false", True), ("", True)]
)
def test_a_ci_is_never_left_a_record_running(stack: Path, ci: str | None, expected: bool) -> None:
    environ = {} if ci is None else {"CI": ci}
    assert background.possible(_store(stack), environ) is expected


def test_only_an_existing_writable_sqlite_store_is_recorded_in_the_background(
    stack: Path, tmp_path: Path
) -> None:
    assert background.possible(_store(stack), {})
    assert not background.possible(_store(tmp_path), {})  # still to be made: the foreground's
    assert not background.possible(Location("postgresql", url="postgresql://db/h"), {})
    assert not background.possible(Location("off"), {})


def test_a_required_or_judged_history_is_never_recorded_in_the_background(stack: Path) -> None:
    required = HistorySession(_store(stack), stack, warn=_quiet, later=True, required=True)
    judged = HistorySession(_store(stack), stack, warn=_quiet, later=True, limits={"size": 10.0})
    assert not required.later and not judged.later
    assert not required.finish_later(report(2, []))
