"""Progress on stderr as an observer of a run's events: a live display on a terminal, one line
per notable event for CI logs and pipes (every event with `-v`), nothing with `-q`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from stablebuild.console import Verbosity, err, verbosity
from stablebuild.events import Event, Observer, ignore

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID


class ProgressLines:
    """Progress on stderr, one line per notable event: for CI logs and pipes; with `every`
    (`-v`), one line for every event."""

    def __init__(self, console: Console, every: bool = False) -> None:
        self.console = console
        self.every = every
        self.started: dict[str, float] = {}

    def __call__(self, event: Event) -> None:
        now = time.monotonic()
        elapsed = now - self.started.setdefault(event.image, now)
        if event.kind == "build-start":
            self.console.print(f"{event.image}: building {event.message}", markup=False)
        elif event.kind == "build-context" and self.every:
            self.console.print(f"{event.image}: {event.message}", markup=False, style="dim")
        elif event.kind == "build-step":
            self.console.print(
                f"{event.image}: step {event.step}/{event.total} {event.message[:80]}"
                f"  ({elapsed:.0f} s)",
                markup=False,
                style="dim",
            )
        elif event.kind == "build-done":
            self.console.print(f"{event.image}: build {event.message} ({elapsed:.1f} s)")
        elif event.kind in _PHASES or event.kind in ("checks-done", "stack", "base", "retry"):
            text = _PHASES.get(event.kind, event.message)
            self.console.print(f"{event.image}: {text}", markup=False)
        elif self.every:
            text = f"{event.kind} {event.message}".strip()
            self.console.print(f"{event.image}: {text} ({elapsed:.1f} s)", markup=False)


_PHASES = {"probe-start": "probing", "run-start": "starting a trial container"}


class ProgressBars:
    """A live rich display on a terminal: one row per image with step N/M, instruction, time."""

    def __init__(self, console: Console) -> None:
        # NOTE: imported here: rich.progress is only for a terminal, never for a pre-push hook.
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[image]}"),
            BarColumn(bar_width=20),
            TextColumn("{task.completed:.0f}/{task.total:.0f}"),
            TextColumn("{task.description}", markup=False),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> ProgressBars:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, event: Event) -> None:
        task = self.tasks.get(event.image)
        if task is None:
            task = self.progress.add_task("queued", image=event.image, total=1)
            self.tasks[event.image] = task
        if event.kind == "build-step":
            self.progress.update(
                task, total=event.total, completed=event.step - 1, description=event.message[:60]
            )
        elif event.kind == "build-done":
            total = self.progress.tasks[task].total or 1
            self.progress.update(task, completed=total, description=f"build {event.message}")
        elif event.kind == "checks-done":
            self.progress.update(task, description=event.message)
            self.progress.stop_task(task)
        elif event.kind in _PHASES:
            self.progress.update(task, description=_PHASES[event.kind])
        elif event.kind == "stack":
            self.progress.update(task, description=event.message[:60])


def observer_for_run() -> tuple[Observer, ProgressBars | None]:
    """The observer for this invocation's verbosity and stderr, and the live display to open
    around the run (None when there is none)."""
    level = verbosity()  # -q: no progress; -v: a line per event, even on a terminal
    if level is Verbosity.QUIET:  # NOTE: before `err` is asked anything: that loads rich
        return ignore, None
    bars = ProgressBars(err) if err.is_terminal and level is Verbosity.NORMAL else None
    return bars or ProgressLines(err, every=level is Verbosity.VERBOSE), bars


__all__ = ["ProgressBars", "ProgressLines", "observer_for_run"]
