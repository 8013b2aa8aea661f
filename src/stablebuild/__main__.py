"""The `stablebuild` program (`python -m stablebuild`, and the console script).

Nothing heavy is imported before Ctrl-C handling is in place: an interrupt while the CLI's
modules load is exit 130 like any other, not a traceback. A `validate` whose answer is
remembered (`answer.py`) is answered before Typer and the rest are loaded at all.
"""

from __future__ import annotations

import sys

from stablebuild import interrupt

_ROOT_OPTIONS = ("-q", "--quiet", "-v", "--verbose")


def _validate(argv: list[str]) -> bool:
    """Whether the command line is a `validate` (after root options only), help not asked."""
    for i, word in enumerate(argv):
        if word not in _ROOT_OPTIONS:
            return word == "validate" and not {"-h", "--help"} & set(argv[i:])
    return False


def main() -> None:
    interrupt.install()
    argv = sys.argv[1:]
    if _validate(argv):
        from stablebuild import verdict

        verdict.invocation = argv
        code = verdict.answer(argv)
        if code is not None:
            sys.stdout.flush()
            sys.exit(code)
    from stablebuild.cli import run

    run(argv)


if __name__ == "__main__":
    main()
