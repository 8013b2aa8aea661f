"""The console side of the command line, without Typer: exit codes, the stderr console,
`-q`/`-v`, one-line errors, and writing `-o` files.

Kept apart from `cli/root.py` (which loads Typer), so that a remembered answer and the
program's fast entry for `validate` speak exactly as the Typer commands do.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from enum import Enum, IntEnum
from typing import TYPE_CHECKING, Any, TypeVar, cast

from stablebuild import interrupt
from stablebuild.errors import (
    EngineUnavailable,
    ManifestError,
    StablebuildError,
    UsageError,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ENGINE = 3
EXIT_INTERRUPTED = interrupt.EXIT_INTERRUPTED

if TYPE_CHECKING:
    from rich.console import Console

    from stablebuild.outputs import OutputTarget

F = TypeVar("F", bound=Enum)


class _StderrConsole:
    """The stderr console, made on first use: a command that prints nothing there (a cached
    re-validate, `--help`) does not load rich's console for it."""

    _console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            # Diagnostics go to stderr so that stdout stays clean for `--format json`; no emoji
            # codes: a path such as `a:x:b` must print as written.
            self._console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
        return getattr(self._console, name)


err = cast("Console", _StderrConsole())


def say_interrupted(text: str = "interrupted") -> None:
    """Say on stderr that Ctrl-C ended the command, loading nothing to say it.

    NOTE: a KeyboardInterrupt can stop the main thread while another imports (the engine's
    client on `_Early`'s thread, the checks on `preload`'s); an import begun by its handler,
    rich's console here (dataclasses, inspect), could then wait forever on a module lock that
    thread holds while it waits on one of the main thread's. Seen 5 times in 140 Ctrl-Cs."""
    console = cast("_StderrConsole", err)._console
    if console is not None:
        console.print(text, markup=False)
        return
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def exit_code_for(exc: StablebuildError) -> int:
    if isinstance(exc, (ManifestError, UsageError)):
        return EXIT_USAGE
    if isinstance(exc, EngineUnavailable):
        return EXIT_ENGINE
    return EXIT_FAILED


class Verbosity(IntEnum):
    QUIET = -1  # errors only on stderr
    NORMAL = 0
    VERBOSE = 1  # also details: what was used, how long each part took


# The root's options, accepted before any command and by every command (`cli/root.py`
# declares them to Typer); what reads a command line without Typer knows them by these.
VERBOSITY_OPTIONS = {
    "-q": Verbosity.QUIET,
    "--quiet": Verbosity.QUIET,
    "-v": Verbosity.VERBOSE,
    "--verbose": Verbosity.VERBOSE,
}


class _Chosen:
    """The verbosity of the invocation under way; set while options are parsed (or from a
    remembered answer), reset by `StablebuildGroup.main` so nothing outlives an invocation."""

    level: Verbosity | None = None


def verbosity() -> Verbosity:
    return Verbosity.NORMAL if _Chosen.level is None else _Chosen.level


def note(message: str) -> None:
    """A diagnostic on stderr (progress, "report written to ..."); `-q` silences it."""
    if verbosity() > Verbosity.QUIET:
        err.print(message, markup=False)


def detail(message: str) -> None:
    """A diagnostic on stderr only with `-v`."""
    if verbosity() >= Verbosity.VERBOSE:
        err.print(message, markup=False)


def report_error(exc: StablebuildError) -> None:
    """One line per problem, `error:` first, then the hint; never a traceback."""
    problems = exc.problems if isinstance(exc, ManifestError) else []
    if problems:
        for problem in problems:
            err.print(f"error: {problem}", markup=False)
    else:
        err.print(f"error: {exc.message}", markup=False)
    if exc.hint:
        err.print(f"hint: {exc.hint}", markup=False)


def write_outputs(targets: Sequence[OutputTarget[F]], render: Callable[[F], str]) -> bool:
    """Write every `-o` target; one that fails is named on stderr and the rest still written.

    Returns False when any failed: the caller still prints the report on stdout, then exits
    with `output_exit_code`.
    """
    if not targets:  # NOTE: nothing to write needs no file machinery loaded
        return True
    from stablebuild.outputs import write_targets

    written, failures = write_targets(targets, render)
    for target in written:
        note(f"report written to {target.describe()}")
    for failure in failures:
        err.print(f"error: {failure}", markup=False)
    if failures:
        err.print("hint: the report is on stdout and in every other file named", markup=False)
    return not failures


def output_exit_code(code: int) -> int:
    """The exit code when a report file could not be written: 2 (a usage problem), unless the
    run's own code says more (3 engine lost, 130 interrupted)."""
    return max(code, EXIT_USAGE)


def choose(level: Verbosity) -> None:
    """Set the invocation's verbosity; both `-q` and `-v` is a usage error."""
    if _Chosen.level not in (None, level):
        raise UsageError("-q/--quiet and -v/--verbose together", "pick one of the two")
    _Chosen.level = level


def reset() -> None:
    _Chosen.level = None


def guarded(run: Callable[[], int]) -> int:
    """`run`'s exit code; a StablebuildError as its one line and documented code, Ctrl-C as
    "interrupted" and 130: how every command ends, with Typer (`cli/root.py`) or without."""
    try:
        with interrupt.raising():
            return run()
    except StablebuildError as exc:
        report_error(exc)
        return exit_code_for(exc)
    except KeyboardInterrupt:
        say_interrupted()
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _pipe_closed()


def _pipe_closed() -> int:
    """stdout's (or stderr's) reader went away before all was written (`| head`): what is
    left goes nowhere, then and at the exit (no "Exception ignored" traceback); said on stderr
    when it is still open. 2, as for a report file that cannot be written."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (BrokenPipeError, ValueError):
            _devnull_at(stream.fileno())
    try:
        sys.stderr.write(
            "error: stdout was closed before the report was written to it (its reader went away)"
            "\nhint: write it to a file instead: -o FORMAT:PATH\n"
        )
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass
    return EXIT_USAGE


def standard_streams() -> None:
    """A program started with stdin, stdout or stderr closed (`>&-`) gets /dev/null there:
    else the first file it opens takes that descriptor, and what is written to the stream (or
    by a child process that inherits it) lands in that file; and Python's stream is None."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            _devnull_at(fd)
            mode = "r" if fd == 0 else "w"
            setattr(sys, name, open(fd, mode, encoding="utf-8", closefd=False))  # noqa: SIM115


def _devnull_at(fd: int) -> None:
    """/dev/null at descriptor `fd`, whether it is open (a closed pipe) or not (`>&-`)."""
    null = os.open(os.devnull, os.O_RDWR)  # NOTE: the lowest free descriptor: `fd` if closed
    if null != fd:
        os.dup2(null, fd)
        os.close(null)
