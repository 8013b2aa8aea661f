"""`stablebuild validate` and `stablebuild clean`."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stablebuild.buildargs import arg_problem
from stablebuild.cli import values
from stablebuild.cli.app import (
    EXIT_ENGINE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Verbosity,
    app,
    err,
    note,
    output_exit_code,
    verbosity,
    write_outputs,
)
from stablebuild.errors import EngineUnavailable, UsageError
from stablebuild.events import Event, Observer, ignore
from stablebuild.outputs import OutputTarget, parse_targets
from stablebuild.report.format.interface import ReportFormat

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

    from stablebuild.report.model import Report
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


class ProgressLines:
    """Progress on stderr, one line per notable event: for CI logs and pipes; with `every`
    (`-v`), one line for every event."""

    def __init__(self, console: Console, every: bool = False) -> None:
        self.console = console
        self.every = every
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
        elif event.kind in _PHASES or event.kind in ("checks-done", "stack"):
            text = _PHASES.get(event.kind, event.message)
            self.console.print(f"{event.image}: {text}", markup=False)
        elif self.every:
            text = f"{event.kind} {event.message}".strip()
            self.console.print(f"{event.image}: {text} ({elapsed:.1f} s)", markup=False)


_PHASES = {"probe-start": "probing", "run-start": "starting a trial container"}


class ProgressBars:
    """A live rich display on a terminal: one row per image with step N/M, instruction, time."""

    def __init__(self, console: Console) -> None:
        # NOTE: imported here: rich.progress is only for a terminal, never for a pre-push hook.
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

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
        elif event.kind == "stack":
            self.progress.update(task, description=event.message[:60])


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
    from stablebuild.cli.history import finish_validate, validate_history
    from stablebuild.engine import connect
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
    recorder = validate_history(
        stack,
        location=history,
        required=history_required,
        max_regression=max_regression,
        baseline_ref=baseline_ref,
        extra_args=options.extra_args,
    )
    several = bool(engine_refs or stack.engines)
    if several:  # NOTE: only then: the one-engine path stays the fast one
        from stablebuild.engine.engines import connect_all
    engine = connect_all(stack.engines, engine_refs or []) if several else connect()
    holder: list[Validation] = []
    level = verbosity()  # -q: no progress; -v: a line per event, even on a terminal
    bars = ProgressBars(err) if err.is_terminal and level is Verbosity.NORMAL else None
    lines = ProgressLines(err, every=level is Verbosity.VERBOSE)
    observer: Observer = bars or (ignore if level is Verbosity.QUIET else lines)
    try:
        with bars or contextlib.nullcontext():
            report = validate(engine, stack, options, observer, on_start=holder.append)
    except KeyboardInterrupt:
        if holder:  # a file that cannot be written is named; the exit code stays 130
            _emit(holder[0].report, fmt, outputs)
            finish_validate(recorder, holder[0].report, EXIT_INTERRUPTED)
        err.print("interrupted: partial report written, marked incomplete", markup=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except EngineUnavailable:
        if holder:  # what finished before the engine went away is still worth keeping
            _emit(holder[0].report, fmt, outputs)
            finish_validate(recorder, holder[0].report, EXIT_ENGINE)
        raise
    if changed and not report.images:
        note("nothing changed since the last passing run: nothing to validate")
        return
    recorder.judge(report)  # regression checks, in every report format
    written = _emit(report, fmt, outputs)
    code = finish_validate(recorder, report, EXIT_OK if report.ok else EXIT_FAILED)
    if code or not written:
        raise typer.Exit(code if written else output_exit_code(code))


def _emit(report: Report, fmt: ReportFormat, outputs: list[OutputTarget[ReportFormat]]) -> bool:
    """Every file first, then stdout; False when a file could not be written (named on stderr)."""
    from rich.console import Console

    from stablebuild.report.ci_surfaces import announce_validate
    from stablebuild.report.format.terminal import TerminalFormat
    from stablebuild.report.write import render

    announce_validate(report)  # partial reports too: workflow commands and step summary
    written = write_outputs(outputs, lambda out_fmt: render(report, out_fmt))
    if fmt is ReportFormat.TERMINAL:
        TerminalFormat().print(report, Console(highlight=False, emoji=False))
    else:
        sys.stdout.write(render(report, fmt))
    return written


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
    from stablebuild.engine.engines import connect_all, manifest_engines

    declared = manifest_engines(Path.cwd())
    several = connect_all(declared, engine_refs or []) if engine_refs or declared else None
    targets = [(e.capabilities.name, e.engine) for e in several] if several else [("", connect())]
    for name, engine in targets:
        cleaned = clean(engine, run_id, prune=prune)
        freed = f", freed {cleaned.pruned_bytes / 1024**2:.0f} MB of cached images"
        where = f" on {name}" if several else ""
        typer.echo(
            f"removed {cleaned.containers} containers and {cleaned.tags} image tags{where}"
            + (freed if prune else "")
        )
