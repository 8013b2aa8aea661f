"""What `stablebuild validate` does once its command line is read, without Typer.

The options are declared once, on the Typer command (`cli/validate.py`: names, help, defaults,
checks); `ValidateArgs` is their values. Typer hands them over for anything it parses, and the
program's fast entry (`cli/fastargs.py`) for a plainly well-formed command line, so that a
validate does not pay for Typer (~0.13 s) before its first build.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Generic, NamedTuple, TypeVar, cast

from stablebuild import interrupt
from stablebuild.buildargs import arg_problem
from stablebuild.console import (
    EXIT_ENGINE,
    EXIT_INTERRUPTED,
    Verbosity,
    detail,
    err,
    say_interrupted,
    verbosity,
)
from stablebuild.errors import EngineUnavailable, UsageError
from stablebuild.outputs import parse_targets
from stablebuild.progress import observer_for_run
from stablebuild.report.format.interface import ReportFormat

if TYPE_CHECKING:
    from stablebuild.engine.client import Engine
    from stablebuild.validate import Validation

T = TypeVar("T")


class ValidateArgs(NamedTuple):
    """The values of `stablebuild validate`'s options (see `cli/validate.py` for each one)."""

    directory: Path = Path(".")
    manifest: Path | None = None
    profile: str | None = None
    fmt: ReportFormat = ReportFormat.TERMINAL
    output: list[str] | None = None
    image: list[str] | None = None
    jobs: int = 2
    require_gpu: bool = False
    keep_images: bool = False
    no_cache: bool = False
    changed: bool = False
    build_arg: list[str] | None = None
    build_timeout: float = 1800.0
    ca_bundle: Path | None = None
    no_stack: bool = False
    history: str | None = None
    history_required: bool = False
    max_regression: str | None = None
    baseline_ref: str | None = None
    engine_refs: list[str] | None = None


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


class _Early(Generic[T]):
    """`work()` started now on a daemon thread; `result()` is what it returned or raised."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._outcome: list[tuple[T | None, BaseException | None]] = []
        self._thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[], T]) -> None:
        try:
            self._outcome.append((work(), None))
        except BaseException as exc:  # NOTE: raised again where the result is asked for
            self._outcome.append((None, exc))

    def result(self) -> T:
        while self._thread.is_alive():  # NOTE: a silent engine holds its thread for minutes
            self._thread.join(0.1)
            if interrupt.requested():  # ...and a Ctrl-C that was lost must still end the wait
                raise KeyboardInterrupt
        value, error = self._outcome[0]
        if error is not None:
            raise error
        return cast(T, value)


def run_validate(args: ValidateArgs) -> int:
    """Validate the stack; the exit code (StablebuildError and a lost engine are raised)."""
    from stablebuild.engine import connect

    # Checked before any work: a bad -o must not cost a build, nor lose a finished report.
    outputs = parse_targets(args.output or [], ReportFormat)
    # NOTE: the engine is asked what it is (`/info`, 10-20 ms of dockerd's time) while the
    # run's modules load and the manifest is read; its answer, or its error, is taken where
    # the run needs the engine. Not with --engine: the engines are the option's and manifest's.
    early: _Early[Engine] | None = None if args.engine_refs else _Early(connect)
    # NOTE: imported here: a cached re-validate is a pre-push hook, and start-up is its cost.
    from stablebuild import verdict
    from stablebuild.history.session import run_redactor
    from stablebuild.manifest.load import find_manifest, load_manifest
    from stablebuild.validate import ValidateOptions, validate

    path = args.manifest or find_manifest(args.directory)
    if path is None:
        raise UsageError(
            f"no stablebuild.yml in {args.directory}",
            "write one (see docs/manifest.md), or pass --manifest PATH",
        )
    stack = load_manifest(
        path, profile=args.profile, inside=None if args.manifest else args.directory
    )
    if not stack.images:
        raise UsageError(
            f"{path} names no images: there is nothing to validate",
            "add images: (see docs/manifest.md); `stablebuild audit` needs none",
        )
    unknown = sorted(set(args.image or []) - set(stack.images))
    if unknown:
        raise UsageError(
            f"--image {', '.join(unknown)}: not in {path}",
            f"known images: {', '.join(stack.images)}",
        )
    options = ValidateOptions(
        jobs=args.jobs,
        images=tuple(args.image or ()),
        require_gpu=args.require_gpu,
        keep_images=args.keep_images,
        nocache=args.no_cache,
        use_cache=not args.no_cache,
        changed_only=args.changed,
        build_timeout=args.build_timeout,
        extra_args=parse_build_args(args.build_arg or []),
        ca_bundle=args.ca_bundle,
        stack=not args.no_stack,
    )
    history_settings = verdict.HistorySettings(
        setting=stack.history,
        manifest_file=str(stack.path),
        location=args.history,
        required=args.history_required,
        max_regression=args.max_regression,
        baseline_ref=args.baseline_ref,
    )
    recorder = verdict.open_history(
        history_settings, stack.root, run_redactor(stack, options.extra_args)
    )
    several = bool(args.engine_refs or stack.engines)
    if several:  # NOTE: only then: the one-engine path stays the fast one
        from stablebuild.engine.engines import connect_available
    engine = (
        connect_available(
            stack.engines, args.engine_refs or [], lambda w: err.print(w, markup=False)
        )
        if several
        else early.result()
        if early is not None
        else connect()
    )
    if several:  # NOTE: placement spreads the history's build times; one engine needs none
        from stablebuild.history.costs import expected_seconds

        costs = expected_seconds(recorder.location, stack.name, stack.profile)
        options = options._replace(expected_seconds=costs)
    holder: list[Validation] = []
    observer, bars = observer_for_run()
    events = verdict.EventLog(observer)
    try:
        with bars or contextlib.nullcontext():
            report = validate(engine, stack, options, events, on_start=holder.append)
    except KeyboardInterrupt:
        if holder:  # a file that cannot be written is named; the exit code stays 130
            verdict.emit(holder[0].report, args.fmt, outputs)
            verdict.finish_validate(recorder, holder[0].report, EXIT_INTERRUPTED)
        say_interrupted("interrupted: partial report written, marked incomplete")
        return EXIT_INTERRUPTED
    except EngineUnavailable:
        if holder:  # what finished before the engine went away is still worth keeping
            verdict.emit(holder[0].report, args.fmt, outputs)
            verdict.finish_validate(recorder, holder[0].report, EXIT_ENGINE)
        raise
    # NOTE: before the regression checks: those are judged again against the history of then.
    why_not = verdict.remember(
        holder[0] if holder else None,
        report,
        events,
        {
            "format": args.fmt.value,
            "outputs": list(args.output or []),
            "changed": args.changed,
            "verbosity": None if verbosity() is Verbosity.NORMAL else int(verbosity()),
            "history": history_settings._asdict(),
        },
        named_paths=[p for p in (args.directory, args.manifest, args.ca_bundle) if p is not None],
        output_paths=[t.path for t in outputs],
        extra_args=options.extra_args,
    )
    detail(f"answer not remembered: {why_not}" if why_not else "answer remembered")
    return verdict.conclude(report, recorder, args.fmt, outputs, changed=args.changed)
