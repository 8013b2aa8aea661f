"""The `stablebuild` program (`python -m stablebuild`, and the console script).

Nothing heavy is imported before Ctrl-C handling is in place: an interrupt while the CLI's
modules load is exit 130 like any other, not a traceback.
"""

from __future__ import annotations

from stablebuild import interrupt


def main() -> None:
    interrupt.install()
    from stablebuild.cli import app

    app()


if __name__ == "__main__":
    main()
