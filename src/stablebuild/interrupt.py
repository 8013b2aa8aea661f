"""Ctrl-C at any moment is exit 130 without a traceback.

Outside a command's own work (start-up imports, option parsing, after the report is out) the
program exits at once: there is nothing to save or free. While a command works, Ctrl-C raises
KeyboardInterrupt as usual, so a partial report is written and containers are removed; the CLI
turns it into exit 130. Only the `stablebuild` program installs this, never an importer.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType

EXIT_INTERRUPTED = 130

_installed = False
_requested = False
_lost = False


def _raise(signum: int, frame: FrameType | None) -> None:
    global _requested
    _requested = True
    raise KeyboardInterrupt


def requested() -> bool:
    """Whether Ctrl-C came within `raising()`: its KeyboardInterrupt may have been lost.

    NOTE: Python ignores an exception raised in a weakref callback ("Exception ignored in"),
    and the import system runs one when a module lock is freed: a Ctrl-C landing there is
    gone. A wait that could last for ever asks this as well (`cli/validating.py`)."""
    return _requested


def raise_if_lost() -> None:
    """Raise the KeyboardInterrupt Python dropped (`requested`), once: what a wait that
    could last for minutes (an engine's answer) asks between its steps."""
    global _lost
    if _lost:
        _lost = False
        raise KeyboardInterrupt


def exit_now(signum: int, frame: FrameType | None) -> None:
    """Leave with 130 at once, after what was already printed is flushed."""
    for stream in (sys.stdout, sys.stderr):
        # NOTE: the main thread may be inside this very stream's write: then flushing raises.
        with contextlib.suppress(Exception):
            stream.flush()
    with contextlib.suppress(OSError):
        os.write(2, b"interrupted\n")
    os._exit(EXIT_INTERRUPTED)


def _unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    global _lost
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        # NOTE: a lost Ctrl-C (`requested`): no "Exception ignored ... Traceback"; the next
        # step of a long wait raises it (`raise_if_lost`)
        _lost = True
        return
    sys.__unraisablehook__(unraisable)


def install() -> None:
    """From now on a Ctrl-C outside `raising()` exits 130 at once (call it first thing)."""
    global _installed
    signal.signal(signal.SIGINT, exit_now)
    sys.unraisablehook = _unraisable
    _installed = True


@contextlib.contextmanager
def raising() -> Iterator[None]:
    """Within: Ctrl-C raises KeyboardInterrupt. A no-op unless `install()` was called."""
    if not _installed:
        yield
        return
    global _requested, _lost
    _requested = _lost = False
    signal.signal(signal.SIGINT, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, exit_now)
