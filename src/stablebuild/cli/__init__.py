"""The `stablebuild` command line. Each command module registers itself on the root app
(`cli/root.py`) when it is imported.

A command line that names a command loads that command's module alone (`run`): `validate`
does not pay for `audit`'s report formats, nor `audit` for the history store. One that names
none (`--help`, `--version`) loads no command at all: the root's help lists them from
`SUMMARIES`. A mistyped command (for "did you mean") and shell completion load every command,
as does `stablebuild.cli.app`, the whole tree (what tests and embedders use).
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


# What the root's help says of each command, in the order it lists them: the first paragraph of
# the command's own help (the root's help shortens it to the terminal's width). Held to the
# commands themselves by tests/unit/cli/test_root_help.py.
SUMMARIES = {
    "audit": "Audit Python versions, pins, wheel coverage, Dockerfiles, compose, CI and "
    "vulnerabilities.",
    "doctor": "Check the engines, NVIDIA runtime, registry, disk, CA bundle and the stack's bases "
    "on each engine. Exit 3 without an engine.",
    "history": "The KPI table of the recorded runs: success, build time, size, start time, health.",
    "report": "An HTML build report from the history: latest matrix, failures, KPIs, trend charts.",
    "promote": "Tag the images of the latest passing, complete run as CHANNEL; the older set "
    "becomes CHANNEL-previous. Refuses a failed or incomplete run, gone images or a dirty tree.",
    "rollback": "Move CHANNEL back to the previous promoted set, then verify it (probe, trial run "
    "and the stack phase, no rebuild); a failed verification is exit 1.",
    "releases": "The promotions and rollbacks of this stack's channels, oldest first.",
    "validate": "Build every image of the stack, check each from the inside, and report what was "
    "seen.",
    "clean": "Remove the containers, networks, volumes and image tags stablebuild created (by "
    "label), nothing else.",
    "base": "Air-gapped base images (debootstrap + import).",
    "hook": "Plain git hooks that run stablebuild (for repositories without pre-commit).",
    "vulndb": "The vulnerability database `stablebuild audit --vuln-db` reads offline.",
}


def _named(argv: Sequence[str]) -> str | None:
    """The module of the command `argv` names (after root options), when it names one; "*"
    when its command word names none (every command is loaded: "did you mean" needs them)."""
    for word in argv:
        if word not in VERBOSITY_OPTIONS:
            return COMMANDS.get(word) or (None if word.startswith("-") else "*")
    return None


def load(argv: Sequence[str] | None = None) -> Any:
    """The root app with the command `argv` names registered; none when it names none (the
    root's help, `--version`); every command for a mistyped one, the whole tree (`argv` None)
    and shell completion."""
    named = None if argv is None else _named(argv)
    whole = argv is None or named == "*" or bool(os.environ.get("_STABLEBUILD_COMPLETE"))
    for module in dict.fromkeys(COMMANDS.values()) if whole else [named] if named else []:
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


__all__ = ["COMMANDS", "SUMMARIES", "app", "load", "main", "run"]
