"""`stablebuild validate`'s command line read without Typer, when it is plainly well formed.

Typer costs ~0.13 s to import before a validate can start its first build. The options are
declared once, on the Typer command (`cli/validate.py`); `VALIDATE` below lists the same
options (names, spellings, kinds, defaults, checks) and `tests/unit/cli/test_fastargs.py` holds
it to the Typer command option for option. `validate_args` reads a command line that uses those
spellings plainly (`--name VALUE`, `--name=VALUE`, `-x VALUE`, flags, one folder, `--`) and
whose values pass their checks; anything else (help, an unknown or misspelt option, a value that
does not convert or is refused, short options run together) is None, and Typer reads it, so
that every message stays Typer's own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from stablebuild.cli import valuecheck
from stablebuild.cli.validating import ValidateArgs
from stablebuild.console import VERBOSITY_OPTIONS, Verbosity, choose
from stablebuild.errors import UsageError
from stablebuild.report.format.interface import ReportFormat


class Option(NamedTuple):
    """One option of the command, as the Typer command declares it."""

    name: str  # the function's parameter
    opts: tuple[str, ...]  # how it is written, the long form first
    kind: type  # str, int, float, bool (a flag), Path or ReportFormat
    default: Any = None
    multiple: bool = False
    secondary: tuple[str, ...] = ()  # a flag's `--no-...` form, which sets it off
    check: Callable[[str, Any], Any] | None = None


VALIDATE_DIRECTORY = Option("directory", ("DIRECTORY",), Path, Path("."),
                            check=valuecheck.existing_folder)  # fmt: skip
VALIDATE = (
    Option("manifest", ("--manifest", "-m"), Path, check=valuecheck.existing_file),
    Option("profile", ("--profile",), str, check=valuecheck.name),
    Option("fmt", ("--format", "-f"), ReportFormat, ReportFormat.TERMINAL),
    Option("output", ("--output", "-o"), str, multiple=True),
    Option("image", ("--image", "-i"), str, multiple=True, check=valuecheck.name),
    Option("jobs", ("--jobs", "-j"), int, 2, check=valuecheck.at_least_one),
    Option("require_gpu", ("--require-gpu",), bool, False, secondary=("--no-require-gpu",)),
    Option("keep_images", ("--keep-images",), bool, False, secondary=("--no-keep-images",)),
    Option("no_cache", ("--no-cache",), bool, False),
    Option("changed", ("--changed",), bool, False),
    Option("build_arg", ("--build-arg",), str, multiple=True),
    Option("build_timeout", ("--build-timeout",), float, 1800.0, check=valuecheck.seconds),
    Option("ca_bundle", ("--ca-bundle",), Path, check=valuecheck.existing_file),
    Option("no_stack", ("--no-stack",), bool, False),
    Option("history", ("--history",), str, check=valuecheck.name),
    Option(
        "history_required",
        ("--history-required",),
        bool,
        False,
        secondary=("--no-history-required",),
    ),
    Option("max_regression", ("--max-regression",), str, check=valuecheck.name),
    Option("baseline_ref", ("--baseline-ref",), str, check=valuecheck.name),
    Option("engine_refs", ("--engine",), str, multiple=True),
)


class _Declined(Exception):
    """Not plainly well formed: Typer reads this command line."""


def _convert(option: Option, text: str) -> Any:
    if option.kind is str:
        return text
    if option.kind is int and valuecheck.INTEGER.fullmatch(text):
        return int(text)
    if option.kind is float and valuecheck.DECIMAL.fullmatch(text):
        return float(text)
    if option.kind is Path and text:
        return Path(text)
    if option.kind is ReportFormat and text in {f.value for f in ReportFormat}:
        return ReportFormat(text)
    raise _Declined


def _read(argv: Sequence[str]) -> tuple[dict[str, Any], list[str], list[Verbosity]]:
    by_spelling = {spelling: o for o in VALIDATE for spelling in (*o.opts, *o.secondary)}
    values: dict[str, Any] = {}
    positional: list[str] = []
    verbosity: list[Verbosity] = []
    words = list(argv)
    while words:
        word = words.pop(0)
        if word == "--":
            positional += words
            break
        if word in VERBOSITY_OPTIONS:
            verbosity.append(VERBOSITY_OPTIONS[word])
            continue
        if not word.startswith("-") or word == "-":
            positional.append(word)
            continue
        spelling, equals, attached = word.partition("=")
        option = by_spelling.get(spelling)
        if option is None or (equals and not spelling.startswith("--")):
            raise _Declined  # help, an unknown option, `-fjson`, `-qv`...
        if option.kind is bool:
            if equals:
                raise _Declined
            values[option.name] = spelling not in option.secondary
            continue
        if not equals:
            if not words:
                raise _Declined  # "requires an argument": Typer's message
            attached = words.pop(0)
        value = _convert(option, attached)
        if option.multiple:
            values.setdefault(option.name, []).append(value)
        else:
            values[option.name] = value
    return values, positional, verbosity


def validate_args(argv: Sequence[str]) -> ValidateArgs | None:
    """The options of `stablebuild ARGV` (a validate: root options, `validate`, its options)
    when they are plainly well formed and pass their checks; None: let Typer read them.

    The verbosity options take effect here, as Typer's eager callbacks would."""
    if os.environ.get("_STABLEBUILD_COMPLETE"):
        return None
    try:
        at = next(i for i, w in enumerate(argv) if w not in VERBOSITY_OPTIONS)
        if argv[at] != "validate":
            return None
        values, positional, verbosity = _read([*argv[:at], *argv[at + 1 :]])
        if len(positional) > 1:
            return None
        directory = Path(positional[0]) if positional else VALIDATE_DIRECTORY.default
        valuecheck.existing_folder("DIRECTORY", directory)
        for option in VALIDATE:
            value = values.get(option.name)
            if option.check is not None and value is not None:
                option.check(option.opts[0], value)
    except (_Declined, UsageError, StopIteration):
        return None  # NOTE: a refused value too: Typer says it, in its own order and words
    if len(set(verbosity)) > 1:
        return None  # -q with -v: Typer says so
    for level in verbosity:
        choose(level)
    defaults = {o.name: o.default for o in VALIDATE}
    return ValidateArgs(directory=directory, **{**defaults, **values})


__all__ = ["VALIDATE", "VALIDATE_DIRECTORY", "Option", "validate_args"]
