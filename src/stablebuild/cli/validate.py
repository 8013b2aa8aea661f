"""`stablebuild validate` (its options; what it does: `cli/validating.py`) and `clean`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stablebuild.cli import values
from stablebuild.cli.root import app, err
from stablebuild.cli.validating import ValidateArgs, run_validate
from stablebuild.errors import EngineUnavailable
from stablebuild.report.format.interface import ReportFormat


@app.command("validate")
def validate_cmd(
    directory: Annotated[
        Path, typer.Argument(callback=values.existing_folder, help="The stack's folder.")
    ] = Path("."),
    manifest: Annotated[
        Path | None,
        typer.Option(
            "--manifest",
            "-m",
            callback=values.existing_file,
            help="Default: DIR/stablebuild.yml.",
        ),
    ] = None,
    profile: Annotated[
        str | None, typer.Option(callback=values.name, help="Manifest profile to apply.")
    ] = None,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="Report format on stdout.")
    ] = ReportFormat.TERMINAL,
    output: Annotated[
        list[str] | None,
        typer.Option(
            "--output",
            "-o",
            help="Also write FORMAT:PATH (repeatable); a plain PATH takes its format from its "
            "suffix (.json, .md, .xml).",
        ),
    ] = None,
    image: Annotated[
        list[str] | None,
        typer.Option("--image", "-i", callback=values.name, help="Only this image (repeatable)."),
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", callback=values.at_least_one, help="Parallel builds.")
    ] = 2,
    require_gpu: Annotated[
        bool, typer.Option(help="Fail, rather than skip, GPU checks that cannot run here.")
    ] = False,
    keep_images: Annotated[bool, typer.Option(help="Keep this run's image tags.")] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Rebuild without any cache and re-run every check.")
    ] = False,
    changed: Annotated[
        bool, typer.Option("--changed", help="Only images changed since their last pass.")
    ] = False,
    build_arg: Annotated[
        list[str] | None, typer.Option(help="KEY=VALUE for every image (repeatable).")
    ] = None,
    build_timeout: Annotated[
        float, typer.Option(callback=values.seconds, help="Seconds per build.")
    ] = 1800.0,
    ca_bundle: Annotated[
        Path | None,
        typer.Option(
            callback=values.existing_file,
            help="PEM bundle trusted by builder stages (not the final image).",
        ),
    ] = None,
    no_stack: Annotated[
        bool, typer.Option("--no-stack", help="Skip the manifest's stack phase (compose).")
    ] = False,
    history: Annotated[
        str | None,
        typer.Option(
            callback=values.name,
            help="Record the run here: postgresql://USER@HOST:PORT/DB, a SQLite PATH or off "
            "(default: $STABLEBUILD_HISTORY, the manifest's history:, .stablebuild/).",
        ),
    ] = None,
    history_required: Annotated[
        bool, typer.Option(help="Exit 3 when the run cannot be recorded.")
    ] = False,
    max_regression: Annotated[
        str | None,
        typer.Option(
            callback=values.name,
            help="Fail images that regressed against their last passing runs, e.g. "
            "size=10%,build=25%,start=50%.",
        ),
    ] = None,
    baseline_ref: Annotated[
        str | None,
        typer.Option(
            callback=values.name, help="Compare with the runs at this git ref, not the branch."
        ),
    ] = None,
    engine_refs: Annotated[
        list[str] | None,
        typer.Option(
            "--engine",
            help="Engine to use: an `engines:` name, a Docker context or a URL (repeatable).",
        ),
    ] = None,
) -> None:
    """Build every image of the stack, check each from the inside, and report what was seen."""
    code = run_validate(
        ValidateArgs(
            directory=directory,
            manifest=manifest,
            profile=profile,
            fmt=fmt,
            output=output,
            image=image,
            jobs=jobs,
            require_gpu=require_gpu,
            keep_images=keep_images,
            no_cache=no_cache,
            changed=changed,
            build_arg=build_arg,
            build_timeout=build_timeout,
            ca_bundle=ca_bundle,
            no_stack=no_stack,
            history=history,
            history_required=history_required,
            max_regression=max_regression,
            baseline_ref=baseline_ref,
            engine_refs=engine_refs,
        )
    )
    if code:
        raise typer.Exit(code)


@app.command("clean")
def clean_cmd(
    run_id: Annotated[
        str | None,
        typer.Option(
            callback=values.name, help="Only this run's leftovers (default: every run's)."
        ),
    ] = None,
    prune: Annotated[
        bool, typer.Option(help="Also delete the untagged images validate keeps as its cache.")
    ] = False,
    engine_refs: Annotated[
        list[str] | None,
        typer.Option(
            "--engine",
            help="Clean this engine (repeatable). Default: ./stablebuild.yml's engines, else "
            "the current Docker context.",
        ),
    ] = None,
) -> None:
    """Remove the containers, networks, volumes and image tags stablebuild created (by
    label), nothing else."""
    from stablebuild.engine import connect
    from stablebuild.engine.apiengine import ApiEngine
    from stablebuild.engine.cleanup import clean
    from stablebuild.engine.engines import connect_available, manifest_engines
    from stablebuild.engine.unreachable import UnreachableEngine

    declared = manifest_engines(Path.cwd())
    several = (
        connect_available(
            declared,
            engine_refs or [],
            lambda w: err.print(w, markup=False),
            meanwhile="the others are cleaned",
        )
        if engine_refs or declared
        else None
    )
    # NOTE: every engine that answers is cleaned; one that does not is named, then exit 3.
    targets = [(e.capabilities.name, e.engine) for e in several or [] if isinstance(e, ApiEngine)]
    for name, engine in targets if several else [("", connect())]:
        cleaned = clean(engine, run_id, prune=prune)
        freed = f", freed {cleaned.pruned_bytes / 1024**2:.0f} MB of cached images"
        where = f" on {name}" if several else ""
        typer.echo(f"removed {cleaned.said()}{where}" + (freed if prune else ""))
    missed = [e for e in several or [] if isinstance(e, UnreachableEngine)]
    if missed:
        raise EngineUnavailable(
            f"not cleaned: {', '.join(e.capabilities.name for e in missed)} did not answer",
            "run `stablebuild clean` again once it answers (`stablebuild doctor` shows them)",
        )
