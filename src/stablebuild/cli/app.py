"""The Typer app, the stderr console, and the one place where errors become exit codes."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from stablebuild import __version__
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
EXIT_INTERRUPTED = 130

# Diagnostics go to stderr so that stdout stays clean for `--format json`.
err = Console(stderr=True, highlight=False, soft_wrap=True)


def exit_code_for(exc: StablebuildError) -> int:
    if isinstance(exc, (ManifestError, UsageError)):
        return EXIT_USAGE
    if isinstance(exc, EngineUnavailable):
        return EXIT_ENGINE
    return EXIT_FAILED


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
    """Maps stablebuild's errors to the documented exit codes for every command."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except StablebuildError as exc:
            report_error(exc)
            raise typer.Exit(exit_code_for(exc)) from None
        except KeyboardInterrupt:
            err.print("interrupted", markup=False)
            raise typer.Exit(EXIT_INTERRUPTED) from None


app = typer.Typer(
    cls=StablebuildGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Audit, build and check the Docker images of a Python service before they break.",
)
base_app = typer.Typer(no_args_is_help=True, help="Air-gapped base images (debootstrap + import).")
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
) -> None:
    """stablebuild: catch broken Docker builds of Python services before they ship."""
