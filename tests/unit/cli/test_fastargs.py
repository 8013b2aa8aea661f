"""The program reads a plainly well-formed `validate` command line without Typer
(`cli/fastargs.py`): its option table is the Typer command's, option for option, and what it
reads is what Typer hands the command; anything else it leaves to Typer."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import typer.main
from typer.testing import CliRunner

import stablebuild.cli.validate as typer_validate
from stablebuild.cli import app
from stablebuild.cli.fastargs import VALIDATE, VALIDATE_DIRECTORY, validate_args
from stablebuild.cli.validating import ValidateArgs
from stablebuild.console import Verbosity, reset, verbosity
from stablebuild.report.format.interface import ReportFormat

KINDS = {str: str, int: int, float: float, bool: bool, Path: Path, ReportFormat: ReportFormat}


def typer_params() -> dict[str, Any]:
    command = typer.main.get_command(app).commands["validate"]  # type: ignore[attr-defined]
    return {p.name: p for p in command.params if p.name not in ("quiet", "verbose")}


def test_the_table_is_the_typer_command_option_for_option() -> None:
    params = typer_params()
    assert sorted(params) == sorted([VALIDATE_DIRECTORY.name, *(o.name for o in VALIDATE)])
    assert set(ValidateArgs._fields) == set(params)
    argument = params.pop("directory")
    assert argument.param_type_name == "argument" and argument.default == Path(".")
    assert argument.callback.__name__ == VALIDATE_DIRECTORY.check.__name__  # type: ignore[union-attr]
    for option in VALIDATE:
        param = params[option.name]
        where = f"--{option.name}: update cli/fastargs.py with cli/validate.py"
        assert set(param.opts) == set(option.opts), where
        assert option.opts[0] == max(param.opts, key=len), where  # as values.label names it
        assert tuple(param.secondary_opts) == option.secondary, where
        assert param.multiple == option.multiple, where
        assert param.is_flag == (option.kind is bool), where
        assert param.envvar is None and not param.required, where
        assert param.default == option.default, where
        annotation = param.type_descriptor.annotation
        item = get_args(annotation)[0] if get_origin(annotation) is list else annotation
        assert KINDS.get(item) is option.kind, where
        info = param.type_descriptor.parameter_info  # nothing the table does not know of
        assert info.parser is None and info.min is None and info.max is None, where
        check = getattr(param.callback, "__name__", None)
        assert check == (option.check.__name__ if option.check else None), where
        assert ValidateArgs._field_defaults[option.name] in (option.default, None)


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "stack" / "alt.yml").write_text("version: 1\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "stack"


def typer_reads(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> ValidateArgs | None:
    """What Typer hands the command for `stablebuild ARGV` (None: it refused the line)."""
    seen: list[ValidateArgs] = []

    def capture(args: ValidateArgs) -> int:
        seen.append(args)
        return 0

    monkeypatch.setattr(typer_validate, "run_validate", capture)
    reset()
    result = CliRunner().invoke(app, argv)
    reset()
    return seen[0] if result.exit_code == 0 and seen else None


WELL_FORMED = [
    ["validate"],
    ["validate", "stack"],
    ["validate", "stack", "-f", "json", "-q"],
    ["-v", "validate", "stack", "--format=sarif", "--output", "json:r.json", "-o", "r.md"],
    ["validate", "--image", "api", "-i", "worker-cpu", "--jobs", "1", "stack"],
    ["validate", "stack", "--build-arg", "A=1", "--build-arg=B=2", "--build-timeout", "90.5"],
    ["validate", "--require-gpu", "--no-require-gpu", "--keep-images", "--no-cache", "stack"],
    ["validate", "stack", "--changed", "--no-stack", "--history", "off", "--history-required"],
    ["validate", "stack", "--max-regression", "size=10%", "--baseline-ref", "origin/main"],
    ["validate", "--engine", "gpu-host", "--engine", "unix:///run/other.sock", "--", "stack"],
    ["validate", "-m", "stack/alt.yml", "--profile", "ci", "--ca-bundle", "stack/ca.pem", "stack"],
    ["validate", "stack", "-j", "+3", "--build-timeout", "1e3", "-f", "terminal"],
]


@pytest.mark.parametrize("argv", WELL_FORMED, ids=[" ".join(a) for a in WELL_FORMED])
def test_a_well_formed_line_reads_as_typer_reads_it(
    argv: list[str], stack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = typer_reads(argv, monkeypatch)
    assert expected is not None
    reset()
    assert validate_args(argv) == expected
    reset()


LEFT_TO_TYPER = [
    ["validate", "--help"],
    ["validate", "-h"],
    ["validate", "--formt", "json"],  # misspelt: "No such option ... Did you mean"
    ["validate", "-fjson"],
    ["validate", "-f=json"],
    ["validate", "-qv"],
    ["validate", "-q", "-v"],
    ["validate", "-f", "JSON"],  # not a choice
    ["validate", "-j", "0"],  # refused by its check
    ["validate", "-j", "two"],
    ["validate", "--image", "--no-cache"],  # looks like an option
    ["validate", "--history"],  # no value
    ["validate", "stack", "other"],
    ["validate", "missing-folder"],
    ["validate", "--no-cache=yes"],
    ["validate", "--ca-bundle", "stack"],  # a folder, not a file
    ["audit", "stack"],
    ["--version"],
]


@pytest.mark.parametrize("argv", LEFT_TO_TYPER, ids=[" ".join(a) for a in LEFT_TO_TYPER])
def test_anything_else_is_left_to_typer(argv: list[str], stack: Path) -> None:
    reset()
    assert validate_args(argv) is None
    assert verbosity() is Verbosity.NORMAL  # nothing chosen for a line Typer will read
    reset()


def test_verbosity_takes_effect_as_typer_s_eager_options_do(stack: Path) -> None:
    reset()
    assert validate_args(["-q", "validate", "stack"]) is not None
    assert verbosity() is Verbosity.QUIET
    reset()
    assert validate_args(["validate", "stack", "--verbose"]) is not None
    assert verbosity() is Verbosity.VERBOSE
    reset()
