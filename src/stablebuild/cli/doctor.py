"""`stablebuild doctor`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from stablebuild.cli import values
from stablebuild.cli.app import EXIT_ENGINE, Verbosity, app, verbosity

_STYLE = {"ok": "green", "problem": "red", "info": "yellow"}


@app.command()
def doctor(
    registry_timeout: Annotated[
        float,
        typer.Option(
            callback=values.seconds, help="Seconds to wait for a pull from the default registry."
        ),
    ] = 5.0,
    engine_refs: Annotated[
        list[str] | None,
        typer.Option(
            "--engine",
            help="Engine to check: an `engines:` name of ./stablebuild.yml, a Docker context "
            "or a URL (repeatable). Default: the manifest's engines, else the current context.",
        ),
    ] = None,
) -> None:
    """Check the engines, NVIDIA runtime, registry, disk and CA bundle. Exit 3 without an engine."""
    from stablebuild.doctor import Status, diagnose, manifest_engines

    level = verbosity()  # -q: only what is wrong; -v: every line's hint

    out = Console(highlight=False, soft_wrap=True, emoji=False)
    declared = manifest_engines(Path.cwd())
    specs = None
    if engine_refs or declared:
        from stablebuild.engine.engines import chosen

        specs = chosen(declared, engine_refs or [])
    lines, engine_ok = diagnose(registry_timeout=registry_timeout, engines=specs)
    for line in lines:
        if level is Verbosity.QUIET and line.status is not Status.PROBLEM:
            continue
        style = _STYLE[line.status.value]
        out.print(
            f"[{style}]{line.status.value:<8}[/{style}] {line.topic:<15} {line.detail}",
        )
        if line.hint and (line.status is not Status.OK or level is Verbosity.VERBOSE):
            out.print(f"{'':<8} {'':<15} hint: {line.hint}", markup=False)
    if not engine_ok:
        raise typer.Exit(EXIT_ENGINE)
