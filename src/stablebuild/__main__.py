"""The `stablebuild` program (`python -m stablebuild`, and the console script).

Nothing heavy is imported before Ctrl-C handling is in place: an interrupt while the CLI's
modules load is exit 130 like any other, not a traceback. A `validate` or an `audit` whose
answer is remembered (`answer.py`) is answered before Typer and the rest are loaded at all.
"""

from __future__ import annotations

import gc
import os
import sys

from stablebuild import interrupt

_REMEMBERED = ("validate", "audit")  # the commands whose answers are remembered
# What is never an answer to remember: help, and a rule's explanation.
_NOT_ANSWERS = ("-h", "--help", "--explain")


def _command(argv: list[str]) -> str | None:
    """The command whose answer may be remembered (after root options only), help not asked."""
    from stablebuild.console import VERBOSITY_OPTIONS  # NOTE: after Ctrl-C handling is in place

    for i, word in enumerate(argv):
        if word not in VERBOSITY_OPTIONS:
            asked = any(a.split("=", 1)[0] in _NOT_ANSWERS for a in argv[i:])
            return word if word in _REMEMBERED and not asked else None
    return None


def _validate(argv: list[str]) -> int | None:
    """The exit code of a validate whose command line `cli/fastargs.py` could read; None:
    Typer reads it."""
    from stablebuild.cli.fastargs import validate_args

    args = validate_args(argv)
    if args is None:
        return None
    from stablebuild.cli.validating import run_validate
    from stablebuild.console import guarded

    return guarded(lambda: run_validate(args))


def _remembered_validate(argv: list[str]) -> int | None:
    """The exit code of a validate answered from its memo; None: run the command."""
    from stablebuild.paths import memo_folder

    if not os.path.isdir(memo_folder()):  # NOTE: nothing remembered yet (a CI job's fresh cache)
        from stablebuild import verdict

        verdict.invocation = argv  # NOTE: its answer may be the first one remembered
        return None
    # NOTE: first, before the memo is looked for: dockerd takes ~9 ms to say what it is (it
    # runs `runc --version`), which pass while the answer's modules load, not after
    from stablebuild.engine.unixapi import ask_info

    info = ask_info()
    from stablebuild import answer

    recalled = answer.recall(argv, "validate", info=info)
    # NOTE: the ending's modules load while the engine answers the memo's questions
    from stablebuild import verdict

    verdict.invocation = argv
    return None if recalled is None else verdict.answered(*recalled)


def _ended(code: int) -> None:
    """End a validate or a remembered answer: its output flushed, the interpreter's teardown
    skipped (it only frees what the exit frees anyway: ~15 ms of a ~0.18 s answer, ~30 ms
    after a validate's ~240 modules). By then the history store was closed, every file written
    atomically and closed, every temporary folder and container removed."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> None:
    interrupt.install()
    from stablebuild.console import standard_streams  # NOTE: after Ctrl-C handling is in place

    standard_streams()  # NOTE: before the program opens any file of its own
    # NOTE: nearly everything start-up allocates lives to the end; collecting it is wasted
    # work (~8 ms of a remembered answer). On again before any command runs for long.
    gc.disable()
    argv = sys.argv[1:]
    command = _command(argv)
    code = None
    if command == "validate":
        code = _remembered_validate(argv)
    elif command == "audit":
        from stablebuild.audit import answer

        answer.invocation = argv
        code = answer.answer(argv)
    if code is not None:
        _ended(code)
    gc.enable()
    if command == "validate":  # NOTE: not remembered: read without Typer when plainly well formed
        code = _validate(argv)
        if code is not None:
            _ended(code)
    from stablebuild.cli import run

    run(argv)


if __name__ == "__main__":
    main()
