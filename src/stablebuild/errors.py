"""One exception base per layer; only the CLI turns them into messages and exit codes."""

from __future__ import annotations

from typing import NamedTuple


class StablebuildError(Exception):
    """Base of every error stablebuild raises on purpose.

    `message` says what is wrong, `hint` what the user should do. Both are one line.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(StablebuildError):
    """A command-line option or argument that cannot be used as given (exit 2)."""


class Problem(NamedTuple):  # NOTE: not a dataclass: loaded by every command (events.py)
    """One problem in a user's file: where, and what is wrong."""

    file: str
    line: int | None
    message: str
    key: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


class ManifestError(StablebuildError):
    """The stack manifest cannot be used; every problem found is listed at once (exit 2)."""

    def __init__(self, problems: list[Problem]) -> None:
        first = str(problems[0]) if problems else "invalid manifest"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more, "fix the manifest and run again")
        self.problems = problems


class EngineError(StablebuildError):
    """The Docker engine failed in a way that is not the user's image's fault."""


class EngineUnavailable(EngineError):
    """No Docker engine answers, or it cannot be reached with these permissions (exit 3)."""


class BootstrapError(StablebuildError):
    """A base image could not be bootstrapped (debootstrap missing, mirror unreachable...)."""
