"""`stablebuild validate` and `stablebuild clean`."""

from __future__ import annotations

import contextlib
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stablebuild.buildargs import arg_problem
from stablebuild.cli import values
from stablebuild.cli.root import (
    EXIT_ENGINE,
    EXIT_INTERRUPTED,
    Verbosity,
    app,
    detail,
    err,
    verbosity,
)
from stablebuild.errors import EngineUnavailable, UsageError
from stablebuild.outputs import parse_targets
from stablebuild.progress import observer_for_run
from stablebuild.report.format.interface import ReportFormat

if TYPE_CHECKING:
    from stablebuild.validate import Validation


def parse_build_args(values: list[str]) -> dict[str, str]:
    args = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise UsageError(f"--build-arg {value}: expected KEY=VALUE", "e.g. --build-arg A=1")
        problem = arg_problem(key, val)
        if problem is not None:
            raise UsageError(f"--build-arg: {problem}", "pass a one-line value")
        args[key] = val
    return args


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
    # NOTE: imported here: a cached re-validate is a pre-push hook, and start-up is its cost.
    from stablebuild import verdict
    from stablebuild.engine import connect
    from stablebuild.history.session import run_redactor
    from stablebuild.manifest.load import find_manifest, load_manifest
    from stablebuild.validate import ValidateOptions, validate

    # Checked before any work: a bad -o must not cost a build, nor lose a finished report.
    outputs = parse_targets(output or [], ReportFormat)
    path = manifest or find_manifest(directory)
    if path is None:
        raise UsageError(
            f"no stablebuild.yml in {directory}",
            "write one (see docs/manifest.md), or pass --manifest PATH",
        )
    stack = load_manifest(path, profile=profile, inside=None if manifest else directory)
    if not stack.images:
        raise UsageError(
            f"{path} names no images: there is nothing to validate",
            "add images: (see docs/manifest.md); `stablebuild audit` needs none",
        )
    unknown = sorted(set(image or []) - set(stack.images))
    if unknown:
        raise UsageError(
            f"--image {', '.join(unknown)}: not in {path}",
            f"known images: {', '.join(stack.images)}",
        )
    options = ValidateOptions(
        jobs=jobs,
        images=tuple(image or ()),
        require_gpu=require_gpu,
        keep_images=keep_images,
        nocache=no_cache,
        use_cache=not no_cache,
        changed_only=changed,
        build_timeout=build_timeout,
        extra_args=parse_build_args(build_arg or []),
        ca_bundle=ca_bundle,
        stack=not no_stack,
    )
    history_settings = verdict.HistorySettings(
        setting=stack.history,
        manifest_file=str(stack.path),
        location=history,
        required=history_required,
        max_regression=max_regression,
        baseline_ref=baseline_ref,
    )
    recorder = verdict.open_history(
        history_settings, stack.root, run_redactor(stack, options.extra_args)
    )
    several = bool(engine_refs or stack.engines)
    if several:  # NOTE: only then: the one-engine path stays the fast one
        from stablebuild.engine.engines import connect_available
    engine = (
        connect_available(stack.engines, engine_refs or [], lambda w: err.print(w, markup=False))
        if several
        else connect()
    )
    if several:  # NOTE: placement spreads the history's build times; one engine needs none
        from stablebuild.history.costs import expected_seconds

        costs = expected_seconds(recorder.location, stack.name, stack.profile)
        options = replace(options, expected_seconds=costs)
    holder: list[Validation] = []
    observer, bars = observer_for_run()
    events = verdict.EventLog(observer)
    try:
        with bars or contextlib.nullcontext():
            report = validate(engine, stack, options, events, on_start=holder.append)
    except KeyboardInterrupt:
        if holder:  # a file that cannot be written is named; the exit code stays 130
            verdict.emit(holder[0].report, fmt, outputs)
            verdict.finish_validate(recorder, holder[0].report, EXIT_INTERRUPTED)
        err.print("interrupted: partial report written, marked incomplete", markup=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except EngineUnavailable:
        if holder:  # what finished before the engine went away is still worth keeping
            verdict.emit(holder[0].report, fmt, outputs)
            verdict.finish_validate(recorder, holder[0].report, EXIT_ENGINE)
        raise
    # NOTE: before the regression checks: those are judged again against the history of then.
    why_not = verdict.remember(
        holder[0] if holder else None,
        report,
        events,
        {
            "format": fmt.value,
            "outputs": list(output or []),
            "changed": changed,
            "verbosity": None if verbosity() is Verbosity.NORMAL else int(verbosity()),
            "history": asdict(history_settings),
        },
        named_paths=[p for p in (directory, manifest, ca_bundle) if p is not None],
        output_paths=[t.path for t in outputs],
        extra_args=options.extra_args,
    )
    detail(f"answer not remembered: {why_not}" if why_not else "answer remembered")
    code = verdict.conclude(report, recorder, fmt, outputs, changed=changed)
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
    """Remove the containers and image tags stablebuild created (by label), nothing else."""
    from stablebuild.engine import connect
    from stablebuild.engine.cleanup import clean
    from stablebuild.engine.apiengine import ApiEngine
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
    targets = [
        (e.capabilities.name, e.engine) for e in several or [] if isinstance(e, ApiEngine)
    ]
    for name, engine in targets if several else [("", connect())]:
        cleaned = clean(engine, run_id, prune=prune)
        freed = f", freed {cleaned.pruned_bytes / 1024**2:.0f} MB of cached images"
        where = f" on {name}" if several else ""
        typer.echo(
            f"removed {cleaned.containers} containers and {cleaned.tags} image tags{where}"
            + (freed if prune else "")
        )
    missed = [e for e in several or [] if isinstance(e, UnreachableEngine)]
    if missed:
        raise EngineUnavailable(
            f"not cleaned: {', '.join(e.capabilities.name for e in missed)} did not answer",
            "run `stablebuild clean` again once it answers (`stablebuild doctor` shows them)",
        )
