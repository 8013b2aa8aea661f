"""`stablebuild validate` and `stablebuild clean`."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from stablebuild.cli.app import EXIT_FAILED, EXIT_INTERRUPTED, app, err
from stablebuild.errors import EngineUnavailable, UsageError
from stablebuild.events import Event, Observer, ignore
from stablebuild.report.format.interface import ReportFormat

if TYPE_CHECKING:
    from stablebuild.report.model import Report
    from stablebuild.validate import Validation

_SUFFIX = {".json": ReportFormat.JSON, ".md": ReportFormat.MARKDOWN, ".xml": ReportFormat.JUNIT}


def parse_output(value: str) -> tuple[ReportFormat, Path]:
    """`json:report.json`, or a path whose suffix names the format (.json, .md, .xml)."""
    name, sep, path = value.partition(":")
    if sep and name in {f.value for f in ReportFormat}:
        return ReportFormat(name), Path(path)
    fmt = _SUFFIX.get(Path(value).suffix)
    if fmt is None:
        raise UsageError(
            f"--output {value}: cannot tell the format",
            "write FORMAT:PATH (json, markdown, junit) or use a .json, .md or .xml file name",
        )
    return fmt, Path(value)


def parse_build_args(values: list[str]) -> dict[str, str]:
    args = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise UsageError(f"--build-arg {value}: expected KEY=VALUE", "e.g. --build-arg A=1")
        args[key] = val
    return args


class ProgressLines:
    """Progress on stderr, one line per notable event: for CI logs and pipes."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started: dict[str, float] = {}

    def __call__(self, event: Event) -> None:
        now = time.monotonic()
        elapsed = now - self.started.setdefault(event.image, now)
        if event.kind == "build-start":
            self.console.print(f"{event.image}: building {event.message}", markup=False)
        elif event.kind == "build-step":
            self.console.print(
                f"{event.image}: step {event.step}/{event.total} {event.message[:80]}"
                f"  ({elapsed:.0f} s)",
                markup=False,
                style="dim",
            )
        elif event.kind == "build-done":
            self.console.print(f"{event.image}: build {event.message} ({elapsed:.1f} s)")
        elif event.kind in _PHASES or event.kind == "checks-done":
            text = _PHASES.get(event.kind, event.message)
            self.console.print(f"{event.image}: {text}", markup=False)


_PHASES = {"probe-start": "probing", "run-start": "starting a trial container"}


class ProgressBars:
    """A live rich display on a terminal: one row per image with step N/M, instruction, time."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[image]}"),
            BarColumn(bar_width=20),
            TextColumn("{task.completed:.0f}/{task.total:.0f}"),
            TextColumn("{task.description}", markup=False),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> ProgressBars:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, event: Event) -> None:
        task = self.tasks.get(event.image)
        if task is None:
            task = self.progress.add_task("queued", image=event.image, total=1)
            self.tasks[event.image] = task
        if event.kind == "build-step":
            self.progress.update(
                task, total=event.total, completed=event.step - 1, description=event.message[:60]
            )
        elif event.kind == "build-done":
            total = self.progress.tasks[task].total or 1
            self.progress.update(task, completed=total, description=f"build {event.message}")
        elif event.kind == "checks-done":
            self.progress.update(task, description=event.message)
            self.progress.stop_task(task)
        elif event.kind in _PHASES:
            self.progress.update(task, description=_PHASES[event.kind])


@app.command("validate")
def validate_cmd(
    directory: Annotated[Path, typer.Argument(help="The stack's folder.")] = Path("."),
    manifest: Annotated[
        Path | None, typer.Option("--manifest", "-m", help="Default: DIR/stablebuild.yml.")
    ] = None,
    profile: Annotated[str | None, typer.Option(help="Manifest profile to apply.")] = None,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="Report format on stdout.")
    ] = ReportFormat.TERMINAL,
    output: Annotated[
        list[str] | None,
        typer.Option("--output", "-o", help="Also write FORMAT:PATH (repeatable)."),
    ] = None,
    image: Annotated[
        list[str] | None, typer.Option("--image", "-i", help="Only this image (repeatable).")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Parallel builds.")] = 2,
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
    build_timeout: Annotated[float, typer.Option(help="Seconds per build.")] = 1800.0,
    ca_bundle: Annotated[
        Path | None,
        typer.Option(help="PEM bundle trusted by builder stages (not the final image)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
) -> None:
    """Build every image of the stack, check each from the inside, and report what was seen."""
    # NOTE: imported here: a cached re-validate is a pre-push hook, and start-up is its cost.
    from stablebuild.engine import connect
    from stablebuild.manifest.load import find_manifest, load_manifest
    from stablebuild.validate import ValidateOptions, validate

    outputs = [parse_output(value) for value in output or []]
    path = manifest or find_manifest(directory)
    if path is None:
        raise UsageError(
            f"no stablebuild.yml in {directory}",
            "write one (see docs/manifest.md), or pass --manifest PATH",
        )
    stack = load_manifest(path, profile=profile)
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
    )
    if ca_bundle is not None and not ca_bundle.is_file():
        raise UsageError(f"--ca-bundle {ca_bundle}: no such file", "pass an existing PEM file")
    engine = connect()
    holder: list[Validation] = []
    bars = ProgressBars(err) if err.is_terminal and not quiet else None
    observer: Observer = bars or (ignore if quiet else ProgressLines(err))
    try:
        with bars or contextlib.nullcontext():
            report = validate(engine, stack, options, observer, on_start=holder.append)
    except KeyboardInterrupt:
        if holder:
            _emit(holder[0].report, fmt, outputs)
        err.print("interrupted: partial report written, marked incomplete", markup=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except EngineUnavailable:
        if holder:  # what finished before the engine went away is still worth keeping
            _emit(holder[0].report, fmt, outputs)
        raise
    if changed and not report.images:
        err.print("nothing changed since the last passing run: nothing to validate", markup=False)
        return
    _emit(report, fmt, outputs)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


def _emit(report: Report, fmt: ReportFormat, outputs: list[tuple[ReportFormat, Path]]) -> None:
    from stablebuild.report.format.terminal import TerminalFormat
    from stablebuild.report.write import render, write_report

    for out_fmt, out_path in outputs:
        write_report(report, out_fmt, out_path)
        err.print(f"report: {out_path} ({out_fmt.value})", markup=False)
    if fmt is ReportFormat.TERMINAL:
        TerminalFormat().print(report, Console(highlight=False))
    else:
        sys.stdout.write(render(report, fmt))


@app.command("clean")
def clean_cmd(
    run_id: Annotated[
        str | None, typer.Option(help="Only this run's leftovers (default: every run's).")
    ] = None,
    prune: Annotated[
        bool, typer.Option(help="Also delete the untagged images validate keeps as its cache.")
    ] = False,
) -> None:
    """Remove the containers and image tags stablebuild created (by label), nothing else."""
    from stablebuild.engine import connect
    from stablebuild.engine.cleanup import clean

    engine = connect()
    cleaned = clean(engine, run_id, prune=prune)
    pruned = f", freed {cleaned.pruned_bytes / 1024**2:.0f} MB of cached images" if prune else ""
    typer.echo(f"removed {cleaned.containers} containers and {cleaned.tags} image tags{pruned}")
