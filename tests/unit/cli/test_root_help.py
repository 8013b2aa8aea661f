"""The root's help without loading a command (`cli.SUMMARIES`): what `stablebuild --help`, a
bare `stablebuild`, `--version` and a mistyped command print is what the whole tree prints, at
every width, and the table says of each command what the command itself says. That no command
module loads for them: tests/unit/test_import_budget.py."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import typer.main

from stablebuild.cli import COMMANDS, SUMMARIES, app

# The program as users run it (the root's help from the table), and the whole tree loaded first.
LAZY = "import sys; from stablebuild.__main__ import main; sys.argv[0] = 'stablebuild'; main()"
WHOLE = (
    "import sys; from stablebuild.cli import app; import stablebuild.cli.root as r; "
    "r.app(sys.argv[1:], prog_name='stablebuild')"
)


def _run(code: str, argv: list[str], columns: int) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("_STABLEBUILD")}
    env |= {"COLUMNS": str(columns), "TERM": "dumb"}
    done = subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("columns", [40, 80, 200])
@pytest.mark.parametrize(
    "argv",
    [["--help"], ["-q", "-h"], [], ["--version"], ["valdate", "."], ["-v"], ["-x"], ["--helpp"]],
)
def test_a_line_naming_no_command_prints_what_the_whole_tree_prints(
    argv: list[str], columns: int
) -> None:
    lazy = _run(LAZY, argv, columns)
    assert lazy == _run(WHOLE, argv, columns)
    assert "Traceback" not in lazy[2]


def test_the_table_is_what_each_command_says_of_itself_in_the_root_s_order() -> None:
    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    registered = [name for name in group.commands]  # NOTE: the whole tree, in Typer's order
    assert list(SUMMARIES) == registered
    assert set(SUMMARIES) == set(COMMANDS)
    for name in registered:
        command = group.commands[name]
        help_text = command.help or ""
        end = help_text.find("\n\n")
        first = " ".join((help_text[:end] if end != -1 else help_text).split())
        assert SUMMARIES[name] == first, name
        assert not command.hidden and not command.deprecated and command.short_help is None
    assert group.list_commands(ctx) == registered
