"""`stablebuild doctor`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stablebuild.cli import values
from stablebuild.cli.root import EXIT_ENGINE, Verbosity, app, verbosity

if TYPE_CHECKING:
    from stablebuild.manifest.model import Manifest

_STYLE = {"ok": "green", "problem": "red", "info": "yellow"}


def _stack(directory: Path, profile: str | None) -> tuple[Manifest | None, str | None]:
    """The stack in `directory` (for its bases), or why it cannot be read; none without one."""
    from stablebuild.errors import StablebuildError
    from stablebuild.manifest.load import find_manifest, load_manifest

    path = find_manifest(directory)
    if path is None:
        return None, None
    try:
        return load_manifest(path, profile=profile, inside=directory), None
    except StablebuildError as exc:
        return None, exc.message


@app.command()
def doctor(
    directory: Annotated[
        Path,
        typer.Argument(
            callback=values.existing_folder,
            help="The stack's folder: its engines and the bases its images build FROM.",
        ),
    ] = Path("."),
    profile: Annotated[
        str | None, typer.Option(callback=values.name, help="Manifest profile to apply.")
    ] = None,
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
            help="Engine to check: an `engines:` name of DIR/stablebuild.yml, a Docker context "
            "or a URL (repeatable). Default: the manifest's engines, else the current context.",
        ),
    ] = None,
) -> None:
    """Check the engines, NVIDIA runtime, registry, disk, CA bundle and the stack's bases on
    each engine. Exit 3 without an engine."""
    from stablebuild.doctor import DoctorLine, Status, diagnose, manifest_engines

    level = verbosity()  # -q: only what is wrong; -v: every line's hint

    from rich.console import Console  # NOTE: here: `--help` lists doctor without rich

    out = Console(highlight=False, soft_wrap=True, emoji=False)
    declared = manifest_engines(directory)
    specs = None
    if engine_refs or declared:
        from stablebuild.engine.engines import chosen

        specs = chosen(declared, engine_refs or [])
    stack, unreadable = _stack(directory, profile)
    lines, engine_ok = diagnose(registry_timeout=registry_timeout, engines=specs, stack=stack)
    if unreadable is not None:
        lines.append(
            DoctorLine("stack", Status.PROBLEM, unreadable, "`stablebuild validate` says more")
        )
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
