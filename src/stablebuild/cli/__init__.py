"""The `stablebuild` command line. Each command module registers itself on the root app
(`cli/root.py`) when it is imported.

A command line that names a command loads that command's module alone (`run`): `validate`
does not pay for `audit`'s report formats, nor `audit` for the history store. Anything else
(`--help`, a typo that deserves "no such command", shell completion) loads every command, as
does `stablebuild.cli.app`, the whole tree (what tests and embedders use).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from typing import Any

from stablebuild.console import VERBOSITY_OPTIONS

# The command (or sub-app) -> the module that registers it; modules in help's order.
COMMANDS = {
    "audit": "audit",
    "base": "base",
    "doctor": "doctor",
    "history": "history",
    "report": "history",
    "hook": "hook",
    "promote": "release",
    "rollback": "release",
    "releases": "release",
    "validate": "validate",
    "clean": "validate",
    "vulndb": "vulndb",
}


def _named(argv: Sequence[str]) -> str | None:
    """The module of the command `argv` names (after root options), when it names one."""
    for word in argv:
        if word not in VERBOSITY_OPTIONS:
            return COMMANDS.get(word)
    return None


def load(argv: Sequence[str] | None = None) -> Any:
    """The root app with the command `argv` names registered (every command without one)."""
    named = None if argv is None or os.environ.get("_STABLEBUILD_COMPLETE") else _named(argv)
    for module in [named] if named else dict.fromkeys(COMMANDS.values()):
        importlib.import_module(f"stablebuild.cli.{module}")
    from stablebuild.cli.root import app

    return app


def run(argv: Sequence[str]) -> None:
    """`stablebuild ARGV`, loading what that command needs."""
    load(argv)(args=list(argv))


def main() -> None:
    """The program, for installs whose console script still names `stablebuild.cli:main`
    (the entry point is now `stablebuild.__main__:main`, which loads this module later)."""
    from stablebuild.__main__ import main as program

    program()


def __getattr__(name: str) -> Any:
    if name == "app":  # NOTE: the whole tree: help and every command
        return load()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["COMMANDS", "app", "load", "main", "run"]
