"""The `stablebuild` command line. Each command module registers itself on the shared app."""

from __future__ import annotations

from stablebuild.cli import audit, base, doctor  # noqa: F401  (registers commands)
from stablebuild.cli import history as _history  # noqa: F401  (registers history, report)
from stablebuild.cli import hook as _hook  # noqa: F401
from stablebuild.cli import release as _release  # noqa: F401  (promote, rollback, releases)
from stablebuild.cli import validate as _validate  # noqa: F401  (registers validate, clean)
from stablebuild.cli import vulndb as _vulndb  # noqa: F401  (registers vulndb update, show)
from stablebuild.cli.app import app


def main() -> None:
    """The program, for installs whose console script still names `stablebuild.cli:main`
    (the entry point is now `stablebuild.__main__:main`, which loads this module later)."""
    from stablebuild.__main__ import main as program

    program()


__all__ = ["app", "main"]
