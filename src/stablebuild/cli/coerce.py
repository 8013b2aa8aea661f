"""Option values coerced without pydantic when they are plainly well formed.

Typer (0.29+) turns every non-flag value into its type through a pydantic `TypeAdapter`, and
importing pydantic costs more than a cached re-validate does. Every option here is a `str`,
`int`, `float`, `bool`, `Path`, a `str, Enum` choice or a list of those, so the well-formed value is
converted with Typer's own helpers (`coerce_cli_choice`, `coerce_cli_path`); anything else (a
value that is wrong, or a shape this module does not know) goes to Typer's own coercion, so
that every error message stays Typer's, word for word.

NOTE: this leans on Typer's private `_coercion` module; a Typer without it (before 0.29 there
was no pydantic to avoid) or with a different one is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from stablebuild.cli.valuecheck import DECIMAL, INTEGER

_MISS = object()  # not plainly well formed: Typer decides

try:  # pragma: no branch
    from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
    from typer._param_types import coerce_cli_choice, coerce_cli_path
except ImportError:  # pragma: no cover - a Typer without pydantic coercion
    RuntimeParam = None  # type: ignore[assignment,misc]


def _leaf(annotation: Any, info: Any) -> bool:
    if info.parser is not None or info.min is not None or info.max is not None:
        return False
    if annotation in (str, int, float, bool, Path):
        return info.path_type is None
    return isinstance(annotation, type) and issubclass(annotation, Enum)


def quick(annotation: Any, info: Any) -> bool:
    """Whether values of this annotation can be coerced here."""
    if get_origin(annotation) is list:
        (item,) = get_args(annotation) or (None,)
        return item is not None and _leaf(item, info)
    return _leaf(annotation, info)


def _coerce_leaf(value: Any, annotation: Any, info: Any, param: Any, ctx: Any) -> Any:
    if not isinstance(value, str):
        return value if isinstance(value, annotation) else _MISS
    if annotation is str:
        return value
    if annotation is bool:
        return _MISS
    if annotation is int:
        return int(value) if INTEGER.fullmatch(value) else _MISS
    if annotation is float:
        return float(value) if DECIMAL.fullmatch(value) else _MISS
    if annotation is Path:
        if not value or "\0" in value:
            return _MISS
        try:
            return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
        except ValueError:  # what the OS refuses: Typer words it through pydantic
            return _MISS
    choices = tuple(annotation)
    try:
        return coerce_cli_choice(
            value, choices=choices, case_sensitive=info.case_sensitive, ctx=ctx
        )
    except ValueError:
        return _MISS


if RuntimeParam is not None:

    class QuickParam(RuntimeParam):
        """Typer's runtime coercion for one parameter, without pydantic on the happy path."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            annotation: Any = self.annotation
            info = self.parameter_info
            if get_origin(annotation) is list:
                (item,) = get_args(annotation)
                values = list(value) if isinstance(value, (list, tuple)) else [value]
                done = [_coerce_leaf(v, item, info, param, ctx) for v in values]
                if not any(v is _MISS for v in done):
                    return done
            else:
                done = _coerce_leaf(value, annotation, info, param, ctx)
                if done is not _MISS:
                    return done
            full = build_runtime_param(TypeDescriptor(annotation, info, None))
            return full._coerce_value(value, param=param, ctx=ctx)


@dataclass(frozen=True)
class _HelpNames:
    """What `Command.get_help_option` reads of a context, before any context exists."""

    help_option_names: list[str]


def install(command: Any, help_names: list[str]) -> None:
    """Give every parameter of `command` and the commands below it (their `-h` included) the
    quick coercion, where its annotation is one this module knows; the rest keep Typer's."""
    if RuntimeParam is None:  # pragma: no cover
        return
    params = list(getattr(command, "params", ()))
    get_help_option = getattr(command, "get_help_option", None)
    if get_help_option is not None:
        params.append(get_help_option(_HelpNames(help_names)))
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", _MISS) is not None:
            continue
        if descriptor.file_annotation is None and quick(
            descriptor.annotation, descriptor.parameter_info
        ):
            param._runtime_param = QuickParam(
                annotation=descriptor.annotation, parameter_info=descriptor.parameter_info
            )
    for sub in getattr(command, "commands", {}).values():
        install(sub, help_names)
