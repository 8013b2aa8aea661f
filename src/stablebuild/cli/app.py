"""The Typer app, the stderr console, and the one place where errors become exit codes.

Every command, sub-commands included, takes `-q/--quiet` (stderr carries errors only) and
`-v/--verbose` (stderr also carries details); they are added here, once, to the whole tree, and
commands speak through `note()` and `detail()`. A report on stdout is never silenced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum, IntEnum
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import typer
from typer.core import TyperGroup

from stablebuild import __version__, interrupt, outputs
from stablebuild.cli import coerce
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
# `-h` as well as `--help`, on every command (click passes it down to each sub-command).
CONTEXT = {"help_option_names": ["-h", "--help"]}

if TYPE_CHECKING:
    from rich.console import Console

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


class _Chosen:
    """The verbosity of the invocation under way; set while options are parsed, reset by
    `StablebuildGroup.main` so nothing outlives an invocation (tests invoke many)."""

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


def _choose(level: Verbosity) -> None:
    if _Chosen.level not in (None, level):
        raise UsageError("-q/--quiet and -v/--verbose together", "pick one of the two")
    _Chosen.level = level


def _quiet(value: bool) -> None:
    if value:
        _choose(Verbosity.QUIET)


def _verbose(value: bool) -> None:
    if value:
        _choose(Verbosity.VERBOSE)


_VERBOSITY = ("quiet", "verbose")


def _add_verbosity(command: Any, options: list[Any]) -> None:
    """The root's `-q` and `-v` on every command below it (Typer builds those first)."""
    for sub in getattr(command, "commands", {}).values():
        names = {p.name for p in sub.params}
        sub.params.extend(p for p in options if p.name not in names)
        _add_verbosity(sub, options)


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


class StablebuildGroup(TyperGroup):
    """Maps stablebuild's errors to the documented exit codes for every command, and gives
    every command `-q` and `-v`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # NOTE: declared once, on the root callback (Typer's own option objects, whatever its
        # click), and shared with every command of the tree: `stablebuild audit -q` works too.
        _add_verbosity(self, [p for p in self.params if p.name in _VERBOSITY])

    def main(self, *args: Any, **kwargs: Any) -> Any:
        _Chosen.level = None
        return super().main(*args, **kwargs)

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        # The root's own options (`stablebuild -q -v ...`) are parsed here, outside invoke().
        # Typer adds its completion options after __init__: the whole tree is known only now.
        coerce.install(
            self, CONTEXT["help_option_names"]
        )  # without pydantic: its import costs more than a cached run
        try:
            return super().make_context(*args, **kwargs)
        except StablebuildError as exc:
            report_error(exc)
            raise typer.Exit(exit_code_for(exc)) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            with interrupt.raising():
                return super().invoke(ctx)
        except StablebuildError as exc:
            report_error(exc)
            raise typer.Exit(exit_code_for(exc)) from None
        except KeyboardInterrupt:
            err.print("interrupted", markup=False)
            raise typer.Exit(EXIT_INTERRUPTED) from None


app = typer.Typer(
    cls=StablebuildGroup,
    context_settings=CONTEXT,
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, pwsh
    pretty_exceptions_enable=False,
    help="Audit, build and check the Docker images of a Python service before they break.",
)
base_app = typer.Typer(
    context_settings=CONTEXT,
    no_args_is_help=True,
    help="Air-gapped base images (debootstrap + import).",
)
app.add_typer(base_app, name="base")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"stablebuild {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            callback=_quiet,
            is_eager=True,
            expose_value=False,
            help="Errors only on stderr: no progress, no notes.",
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            callback=_verbose,
            is_eager=True,
            expose_value=False,
            help="More on stderr: what was used, and where the time went.",
        ),
    ] = False,
) -> None:
    """stablebuild: catch broken Docker builds of Python services before they ship."""


def write_outputs(targets: Sequence[outputs.OutputTarget[F]], render: Callable[[F], str]) -> bool:
    """Write every `-o` target; one that fails is named on stderr and the rest still written.

    Returns False when any failed: the caller still prints the report on stdout, then exits
    with `output_exit_code`.
    """
    written, failures = outputs.write_targets(targets, render)
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
