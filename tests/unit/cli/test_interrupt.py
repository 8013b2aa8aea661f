"""Ctrl-C at any moment is exit 130 without a traceback: a real SIGINT to a real process.

The moments are counted from when stablebuild's own first module has loaded (the interpreter's
start-up before it is Python's, not ours): they fall in the CLI's imports, the manifest load
and the engine connection, which here never answers (a socket that accepts and stays silent).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import stablebuild.manifest.load
from stablebuild import interrupt
from stablebuild.cli import app

REPO = Path(__file__).parents[3]
# `python -X importtime` prints a line as each import completes. The handler is installed just
# after stablebuild.interrupt is imported, before the CLI's imports: the first line after this
# one comes from those, so the handler is in place by then.
ANCHOR = "stablebuild.interrupt"


@pytest.fixture
def silent_engine() -> Iterator[str]:
    """A DOCKER_HOST that accepts connections and never answers (connect() blocks)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text("FROM debian:bookworm-slim\nUSER 1000\n")
    images = "".join(f"  img{n}: {{dockerfile: Dockerfile, imports: [json]}}\n" for n in range(50))
    (tmp_path / "stablebuild.yml").write_text(f"version: 1\nname: s\nimages:\n{images}")
    return tmp_path


def _interrupt_at(delay: float, args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Start `python -m stablebuild ARGS`, send SIGINT `delay` s after our code starts."""
    proc = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "stablebuild", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert proc.stderr is not None
    lines: list[str] = []
    ready = threading.Event()

    def drain() -> None:  # importtime writes a lot: a full pipe would stall the child
        assert proc.stderr is not None
        anchored = False
        for line in proc.stderr:
            lines.append(line)
            if anchored:
                ready.set()
            anchored = anchored or ANCHOR in line

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        assert ready.wait(30), "stablebuild never started:\n" + "".join(lines[-20:])
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        returncode = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=10)
    # A status the shell would show: death by signal N reads as 128 + N.
    status = returncode if returncode >= 0 else 128 - returncode
    text = "".join(line for line in lines if not line.startswith("import time:"))
    return status, text


@pytest.mark.parametrize("delay", [0.0, 0.01, 0.05, 0.15, 0.3, 0.6, 1.2])
def test_sigint_at_any_moment_of_validate_is_130_without_traceback(
    delay: float, stack: Path, silent_engine: str
) -> None:
    env = {**os.environ, "DOCKER_HOST": silent_engine, "XDG_CACHE_HOME": str(stack / ".cache")}
    status, stderr = _interrupt_at(delay, ["validate", str(stack), "-q"], env)
    assert status == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stderr


def test_sigint_during_audit_is_130(stack: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(stack / ".cache")}
    status, stderr = _interrupt_at(0.05, ["audit", str(stack), "--offline"], env)
    assert status == 130, stderr
    assert "Traceback" not in stderr


def test_interrupt_during_manifest_load_is_130(
    stack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(stablebuild.manifest.load, "load_manifest", interrupted)
    result = CliRunner().invoke(app, ["validate", str(stack), "-q"])
    assert result.exit_code == 130
    assert "interrupted" in result.output
    assert "Traceback" not in result.output


def test_handler_is_left_alone_unless_the_program_installs_it() -> None:
    before = signal.getsignal(signal.SIGINT)
    with interrupt.raising():
        assert signal.getsignal(signal.SIGINT) is before
    assert signal.getsignal(signal.SIGINT) is before


def test_a_lost_ctrl_c_still_ends_the_wait_for_a_silent_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Python drops a KeyboardInterrupt raised in a weakref callback (the import system frees
    module locks in one): the engine's wait asks `interrupt.requested()` too. Seen as a hang
    of the program at Ctrl-C, ~1 in 50 at 0.15 s, before."""
    from stablebuild.cli.validating import _Early

    release = threading.Event()
    early = _Early(release.wait)  # the engine that never answers (in 10 s: a failure, not a hang)
    threading.Timer(10, release.set).start()
    monkeypatch.setattr(interrupt, "_requested", True)
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            early.result()
        assert time.monotonic() - started < 5
    finally:
        release.set()


class LostCtrlC:
    """What sys.unraisablehook is given for a KeyboardInterrupt Python dropped."""

    exc_type = KeyboardInterrupt
    exc_value = KeyboardInterrupt()
    exc_traceback = None
    err_msg = "Exception ignored in"
    object = None


def test_a_lost_ctrl_c_prints_no_traceback_and_is_raised_by_the_next_long_wait(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(interrupt, "_lost", False)
    interrupt._unraisable(LostCtrlC())  # type: ignore[arg-type]
    assert capsys.readouterr().err == ""
    with pytest.raises(KeyboardInterrupt):
        interrupt.raise_if_lost()
    interrupt.raise_if_lost()  # once
