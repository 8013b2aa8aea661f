"""Checks on command-line values as Typer callbacks (`typer.Option(callback=...)`): each hands
the option, as the user wrote it, and the value to its check in `cli/valuecheck.py`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from stablebuild.cli import valuecheck


def label(param: typer.CallbackParam) -> str:
    """How the user wrote the option: its long name, or the argument's name."""
    if param.param_type_name == "argument":
        return (param.name or "argument").upper()
    return max(param.opts, key=len) if param.opts else f"--{param.name}"


def name(param: typer.CallbackParam, value: Any) -> Any:
    return valuecheck.name(label(param), value)


def python_version(param: typer.CallbackParam, value: Any) -> Any:
    return valuecheck.python_version(label(param), value)


def platform(param: typer.CallbackParam, value: Any) -> Any:
    return valuecheck.platform(label(param), value)


def url(param: typer.CallbackParam, value: Any) -> Any:
    return valuecheck.url(label(param), value)


def seconds(param: typer.CallbackParam, value: float | None) -> float | None:
    return valuecheck.seconds(label(param), value)


def at_least_one(param: typer.CallbackParam, value: int | None) -> int | None:
    return valuecheck.at_least_one(label(param), value)


def existing_file(param: typer.CallbackParam, value: Path | None) -> Path | None:
    return valuecheck.existing_file(label(param), value)


def existing_folder(param: typer.CallbackParam, value: Path | None) -> Path | None:
    return valuecheck.existing_folder(label(param), value)
