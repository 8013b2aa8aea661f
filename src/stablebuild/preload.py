"""Modules a run needs later, imported on a thread of their own while it waits for the engine.

NOTE: a validate's start is CPU work (imports, the manifest, the context's digest: ~0.2 s on
the benchmark's 2 cores) under one GIL: a thread that imports while the run still sends its
first build slows that down instead of hiding behind it. What is needed only once an image is
built (the checks, the history's store) waits until the run first waits on the engine
(`engine_busy`: a build under way, a probe started), or at most `longest` seconds.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Sequence

_busy = threading.Event()


def engine_busy() -> None:
    """The run waits on the engine now: the modules waiting to be imported may load."""
    _busy.set()


def when_engine_busy(
    modules: Sequence[str], name: str, *, longest: float = 1.0
) -> threading.Thread:
    """Import `modules` on a daemon thread once the engine is busy (or after `longest` s)."""

    def load() -> None:
        _busy.wait(longest)
        for module in modules:
            with contextlib.suppress(ImportError):  # NOTE: said where it is imported for real
                importlib.import_module(module)

    thread = threading.Thread(target=load, name=name, daemon=True)
    thread.start()
    return thread
