"""The Typer app, the stderr console, and the one place where errors become exit codes.

Every command, sub-commands included, takes `-q/--quiet` (stderr carries errors only) and
`-v/--verbose` (stderr also carries details); they are added here, once, to the whole tree, and
commands speak through `note()` and `detail()`. A report on stdout is never silenced.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from stablebuild import __version__
from stablebuild.cli import coerce
from stablebuild.console import (
    EXIT_ENGINE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Verbosity,
    choose,
    detail,
    err,
    exit_code_for,
    guarded,
    note,
    output_exit_code,
    report_error,
    reset,
    verbosity,
    write_outputs,
)
from stablebuild.errors import StablebuildError

# `-h` as well as `--help`, on every command (click passes it down to each sub-command).
CONTEXT = {"help_option_names": ["-h", "--help"]}


def _quiet(value: bool) -> None:
    if value:
        choose(Verbosity.QUIET)


def _verbose(value: bool) -> None:
    if value:
        choose(Verbosity.VERBOSE)


_VERBOSITY = ("quiet", "verbose")


def _add_verbosity(command: Any, options: list[Any]) -> None:
    """The root's `-q` and `-v` on every command below it (Typer builds those first)."""
    for sub in getattr(command, "commands", {}).values():
        names = {p.name for p in sub.params}
        sub.params.extend(p for p in options if p.name not in names)
        _add_verbosity(sub, options)


class _Unloaded(TyperCommand):
    """A command the root's help lists without loading it."""

    def invoke(self, ctx: Any) -> Any:
        raise RuntimeError(f"stablebuild {self.name}: its module was not loaded (cli.load)")


class StablebuildGroup(TyperGroup):
    """Maps stablebuild's errors to the documented exit codes for every command, and gives
    every command `-q` and `-v`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # NOTE: declared once, on the root callback (Typer's own option objects, whatever its
        # click), and shared with every command of the tree: `stablebuild audit -q` works too.
        _add_verbosity(self, [p for p in self.params if p.name in _VERBOSITY])

    def main(self, *args: Any, **kwargs: Any) -> Any:
        reset()
        return super().main(*args, **kwargs)

    def list_commands(self, ctx: Any) -> list[str]:
        """Every command, loaded or not (`cli.SUMMARIES`'s order: the whole tree's)."""
        from stablebuild.cli import SUMMARIES

        return [*SUMMARIES, *(name for name in super().list_commands(ctx) if name not in SUMMARIES)]

    def get_command(self, ctx: Any, name: str) -> Any:
        """The command, or for one the command line did not load, what the root's help says
        of it (`cli.load` loads every command a command line names: only help meets these)."""
        from stablebuild.cli import SUMMARIES

        found = super().get_command(ctx, name)
        if found is None and name in SUMMARIES:
            return _Unloaded(name=name, help=SUMMARIES[name])
        return found

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
        returned: list[Any] = []

        def command() -> int:
            returned.append(super(StablebuildGroup, self).invoke(ctx))
            return EXIT_OK

        code = guarded(command)  # NOTE: typer.Exit, raised by a command, goes through it
        if code:
            raise typer.Exit(code)
        return returned[0]


app = typer.Typer(
    rich_markup_mode=None,  # NOTE: click's plain help: rich's renderer costs 0.2 s a --help
    cls=StablebuildGroup,
    context_settings=CONTEXT,
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, pwsh
    pretty_exceptions_enable=False,
    help="Audit, build and check the Docker images of a Python service before they break.",
)
base_app = typer.Typer(
    rich_markup_mode=None,  # NOTE: click's plain help: rich's renderer costs 0.2 s a --help
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


__all__ = [
    "CONTEXT",
    "EXIT_ENGINE",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Verbosity",
    "app",
    "base_app",
    "detail",
    "err",
    "exit_code_for",
    "note",
    "output_exit_code",
    "report_error",
    "verbosity",
    "write_outputs",
]
